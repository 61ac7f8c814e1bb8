//! Running images through a feature network (the data set's classifier, or Inception-v3):
//! features and class probabilities as f64 matrices, with a progress bar.

use std::ops::Range;

use burn::tensor::Tensor;
use burn::tensor::activation::softmax;
use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

use super::classifier::{Classifier, ClassifierId};
use super::inception::{InceptionExtractor, InceptionId};
use crate::logging::progress;

/// Which network sees the images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeatureKind {
    /// pytorch-fid's Inception-v3 pool3 features: the field's FID, for every kind of image.
    Inception,
    /// dcgan's classifier of the data set (28×28 grey MNIST and Fashion-MNIST only).
    Classifier,
}

/// The network that turns images into features.
pub enum FeatureNet {
    /// A data set's classifier: 128 features and its classes' probabilities.
    Classifier(Box<Classifier>, ClassifierId),
    /// Inception-v3: 2048 pool3 features, and 1008 ImageNet-style probabilities when its
    /// weights have the classifier.
    Inception(Box<InceptionExtractor>),
}

/// Which network, which file: figures from different ones do not compare.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FeatureId {
    /// The data set's classifier.
    Classifier(ClassifierId),
    /// Inception-v3's pool3 features.
    Inception(InceptionId),
}

impl FeatureId {
    /// One line for tables.
    pub fn describe(&self) -> String {
        match self {
            FeatureId::Classifier(id) => format!(
                "classifier {} (test accuracy {:.2} %)",
                id.short(),
                id.test_accuracy * 100.0
            ),
            FeatureId::Inception(id) => format!("Inception-v3 pool3, {}", id.short()),
        }
    }
}

impl FeatureNet {
    /// Its identity.
    pub fn id(&self) -> FeatureId {
        match self {
            FeatureNet::Classifier(_, id) => FeatureId::Classifier(id.clone()),
            FeatureNet::Inception(extractor) => FeatureId::Inception(extractor.id.clone()),
        }
    }

    /// The feature vectors of images in `[-1, 1]`, `[batch, features]`.
    pub fn features(&self, images: Tensor<4>) -> anyhow::Result<Tensor<2>> {
        Ok(self.forward(images)?.0)
    }

    /// Images per forward pass.
    fn chunk(&self) -> usize {
        match self {
            FeatureNet::Classifier(..) => 500,
            FeatureNet::Inception(_) => super::inception::CHUNK,
        }
    }

    /// Features and (when the network has classes) logits of images in `[-1, 1]`.
    fn forward(&self, images: Tensor<4>) -> anyhow::Result<(Tensor<2>, Option<Tensor<2>>)> {
        Ok(match self {
            FeatureNet::Classifier(classifier, _) => {
                let out = classifier.forward(images);
                (out.features, Some(out.logits))
            }
            FeatureNet::Inception(extractor) => {
                let out = extractor.forward_images(images)?;
                (out.features, out.logits)
            }
        })
    }
}

/// What the network saw in a set of images, one row per image.
#[derive(Debug, Clone)]
pub struct Features {
    /// Feature vectors, `[n, features]`.
    pub features: DMatrix<f64>,
    /// Softmax class probabilities, `[n, classes]`; no columns for a network without
    /// classes.
    pub probs: DMatrix<f64>,
}

impl Features {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.features.nrows()
    }

    /// True for no images.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Features of `n` images, `images(range)` giving those with indices in `range` (a chunk
/// at a time) in `[-1, 1]`. `what` labels the progress bar.
pub fn extract(
    net: &FeatureNet,
    n: usize,
    mut images: impl FnMut(Range<usize>) -> Tensor<4>,
    what: &str,
) -> anyhow::Result<Features> {
    let bar = progress::count_bar(n as u64, what);
    let (mut features, mut probs) = (Vec::new(), Vec::new());
    let (mut width, mut classes) = (0, 0);
    for start in (0..n).step_by(net.chunk()) {
        let range = start..(start + net.chunk()).min(n);
        let count = range.len() as u64;
        let (f, logits) = net.forward(images(range))?;
        width = f.dims()[1];
        features.extend(to_f64(f));
        if let Some(logits) = logits {
            classes = logits.dims()[1];
            probs.extend(to_f64(softmax(logits, 1)));
        }
        bar.inc(count);
    }
    bar.finish_and_clear();
    Ok(Features {
        features: DMatrix::from_row_slice(n, width, &features),
        probs: DMatrix::from_row_slice(n, classes, &probs),
    })
}

fn to_f64(t: Tensor<2>) -> Vec<f64> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 values")
        .into_iter()
        .map(f64::from)
        .collect()
}
