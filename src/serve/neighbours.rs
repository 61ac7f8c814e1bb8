//! The memorisation check: a generated image's nearest training images, in the evaluation
//! classifier's feature space when there is one for the data set (28×28 grey MNIST-like
//! images), else in pixels.

use burn::tensor::{Device, Tensor, TensorData};

use crate::data::{Dataset, DatasetKind};
use crate::eval::{FeatureNet, extract};

/// The most neighbours a request may ask for.
pub const MAX_NEIGHBOURS: usize = 16;

/// What distances are measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Space {
    /// The evaluation classifier's penultimate-layer features.
    ClassifierFeatures,
    /// Pixel values in [-1, 1].
    Pixels,
}

/// The training set, ready for nearest-neighbour queries.
pub struct Neighbours {
    /// The training images (also served one by one).
    pub train: Dataset,
    space: Space,
    classifier: Option<FeatureNet>,
    /// With a classifier, one row per training image: its features, `[n, width]`. Pixels
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
    /// else by pixels. Takes a while for large sets (60,000 images through the classifier:
    /// seconds), so the server builds it on first use.
    pub fn build(train: Dataset, kind: DatasetKind, device: &Device) -> anyhow::Result<Self> {
        let scorable = (train.channels, train.height, train.width) == (1, 28, 28)
            && matches!(kind, DatasetKind::Mnist | DatasetKind::FashionMnist);
        let classifier = if scorable {
            let (net, id) = crate::eval::classifier::load_for(None, kind, device)?;
            Some(FeatureNet::Classifier(Box::new(net), id))
        } else {
            None
        };
        let ids: Vec<usize> = (0..train.len).collect();
        let features = classifier.as_ref().map(|classifier| {
            // The classifier takes any finite image, and the training images are.
            let found = extract(
                classifier,
                train.len,
                |range| train.images(&ids[range], device),
                "indexing training images",
            )
            .expect("the classifier's features of training images");
            // nalgebra keeps columns; rows are wanted.
            let values: Vec<f32> = found
                .features
                .transpose()
                .iter()
                .map(|&v| v as f32)
                .collect();
            let width = found.features.ncols();
            Tensor::from_data(TensorData::new(values, [train.len, width]), device)
        });
        Ok(Neighbours {
            train,
            space: if scorable {
                Space::ClassifierFeatures
            } else {
                Space::Pixels
            },
            classifier,
            features,
            device: device.clone(),
        })
    }

    /// What distances are measured in.
    pub fn space(&self) -> Space {
        self.space
    }

    /// The `k` training images nearest to `image` (`[1, channels, side, side]`), nearest
    /// first.
    pub fn nearest(&self, image: Tensor<4>, k: usize) -> Vec<Neighbour> {
        let squared = match (&self.classifier, &self.features) {
            (Some(classifier), Some(features)) => {
                let query = classifier
                    .features(image.to_device(&self.device))
                    .expect("the classifier's features of an image");
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
