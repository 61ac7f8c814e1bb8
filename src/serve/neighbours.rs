//! The memorisation check: a generated image's nearest training images, in the evaluation
//! classifier's feature space when there is one for the data set (28×28 grey MNIST-like
//! images), else in Inception-v3's pool3 features (the FID's) where its weights are
//! installed and the set is not too large, else in pixels.

use burn::tensor::{Device, Tensor, TensorData};

use crate::data::{Dataset, DatasetKind};
use crate::eval::inception::{self, InceptionExtractor};
use crate::eval::{FeatureNet, Features, real_features};

/// The most neighbours a request may ask for.
pub const MAX_NEIGHBOURS: usize = 16;

/// Training sets up to this many images are indexed in Inception's features: 8 KB an image
/// (80 MB for 10,000), computed once (about 15 images a second on 2 cores) and then read
/// from dcgan's cache, where `dcgan eval` keeps them too. Larger sets are compared in pixels.
pub const MAX_INCEPTION_INDEX: usize = 10_000;

/// What distances are measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Space {
    /// The evaluation classifier's penultimate-layer features.
    ClassifierFeatures,
    /// Inception-v3's 2048 pool3 features.
    InceptionFeatures,
    /// Pixel values in [-1, 1].
    Pixels,
}

/// The training set, ready for nearest-neighbour queries.
pub struct Neighbours {
    /// The training images (also served one by one).
    pub train: Dataset,
    space: Space,
    /// Why pixels, where a feature network was wanted and could not be had.
    why_pixels: Option<String>,
    net: Option<FeatureNet>,
    /// With a network, one row per training image: its features, `[n, width]`. Pixels
    /// are not kept as rows (CIFAR-10's would take 600 MB): they are compared a chunk at a
    /// time.
    features: Option<Tensor<2>>,
    device: Device,
}

/// Training images compared at a time in pixel space.
const CHUNK: usize = 2048;

/// ‖r − q‖² of every row `r` of `rows` to the one row of `query`, by one matrix product.
fn squared_distances(rows: Tensor<2>, query: Tensor<2>) -> Vec<f32> {
    let squared = rows.clone().powf_scalar(2.0).sum_dim(1)
        - rows.matmul(query.clone().transpose()).mul_scalar(2.0)
        + query.powf_scalar(2.0).sum_dim(1);
    squared
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32")
}

/// One neighbour of a query.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Neighbour {
    /// Index in the training set (`/api/training-image?index=…`).
    pub index: usize,
    /// Euclidean distance in the space.
    pub distance: f32,
    /// Its class name, when the data set has classes.
    pub label: Option<String>,
}

impl Neighbours {
    /// Indexes `train`: with `kind`'s built-in classifier for 28×28 grey MNIST-like data,
    /// else with Inception-v3 (when its weights are found and the set holds at most
    /// [`MAX_INCEPTION_INDEX`] images), else by pixels. The features take a while the first
    /// time (the progress shows on the terminal; MNIST's 60,000 images half a minute or more
    /// on 2 cores), so the server builds the index on first use; later builds read them from
    /// dcgan's cache.
    pub fn build(train: Dataset, kind: DatasetKind, device: &Device) -> anyhow::Result<Self> {
        let scorable = (train.channels, train.height, train.width) == (1, 28, 28)
            && matches!(kind, DatasetKind::Mnist | DatasetKind::FashionMnist);
        let (net, why_pixels) = if scorable {
            let (net, id) = crate::eval::classifier::load_for(None, kind, device)?;
            (Some(FeatureNet::Classifier(Box::new(net), id)), None)
        } else if train.len > MAX_INCEPTION_INDEX {
            let why = format!(
                "{} training images, more than the {MAX_INCEPTION_INDEX} dcgan indexes in \
                 Inception's features",
                train.len
            );
            (None, Some(why))
        } else {
            match inception::load(None, false, device) {
                Ok((network, id)) => {
                    let extractor = InceptionExtractor::new(network, id, device);
                    (Some(FeatureNet::Inception(Box::new(extractor))), None)
                }
                Err(err) => (None, Some(format!("{err:#}"))),
            }
        };
        let features = match &net {
            Some(net) => {
                let found =
                    real_features(net, &train, train.len, "indexing training images", device)?;
                Some(rows(found, device))
            }
            None => None,
        };
        let space = match &net {
            Some(FeatureNet::Classifier(..)) => Space::ClassifierFeatures,
            Some(FeatureNet::Inception(_)) => Space::InceptionFeatures,
            None => Space::Pixels,
        };
        Ok(Neighbours {
            train,
            space,
            why_pixels,
            net,
            features,
            device: device.clone(),
        })
    }

    /// Why distances are measured in pixels, where a feature network was wanted.
    pub fn why_pixels(&self) -> Option<&str> {
        self.why_pixels.as_deref()
    }

    /// What distances are measured in.
    pub fn space(&self) -> Space {
        self.space
    }

    /// The `k` training images nearest to `image` (`[1, channels, side, side]`), nearest
    /// first.
    pub fn nearest(&self, image: Tensor<4>, k: usize) -> Vec<Neighbour> {
        let squared = match (&self.net, &self.features) {
            (Some(net), Some(features)) => {
                let query = net
                    .features(image.to_device(&self.device))
                    .expect("the features of a generated image");
                squared_distances(features.clone(), query)
            }
            _ => {
                let query: Tensor<2> = image.to_device(&self.device).flatten(1, 3);
                let ids: Vec<usize> = (0..self.train.len).collect();
                ids.chunks(CHUNK)
                    .flat_map(|chunk| {
                        let rows = self.train.images(chunk, &self.device).flatten(1, 3);
                        squared_distances(rows, query.clone())
                    })
                    .collect()
            }
        };
        let mut order: Vec<usize> = (0..squared.len()).collect();
        let k = k.min(order.len());
        order.select_nth_unstable_by(k.saturating_sub(1), |&a, &b| {
            squared[a].total_cmp(&squared[b])
        });
        let mut nearest: Vec<usize> = order[..k].to_vec();
        nearest.sort_by(|&a, &b| squared[a].total_cmp(&squared[b]).then(a.cmp(&b)));
        nearest
            .into_iter()
            .map(|index| Neighbour {
                index,
                distance: squared[index].max(0.0).sqrt(),
                label: self
                    .train
                    .classes
                    .get(usize::from(self.train.labels[index]))
                    .cloned(),
            })
            .collect()
    }
}

/// Feature rows as a tensor `[n, width]`.
fn rows(found: Features, device: &Device) -> Tensor<2> {
    // nalgebra keeps columns; rows are wanted.
    let values: Vec<f32> = found
        .features
        .transpose()
        .iter()
        .map(|&v| v as f32)
        .collect();
    Tensor::from_data(
        TensorData::new(values, [found.len(), found.features.ncols()]),
        device,
    )
}
