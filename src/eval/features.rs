//! Running images through the evaluation classifier: features and class probabilities as
//! f64 matrices, with a progress bar.

use std::ops::Range;

use burn::tensor::Tensor;
use burn::tensor::activation::softmax;
use nalgebra::DMatrix;

use super::classifier::Classifier;
use crate::logging::progress;

/// Images per forward pass.
pub const CHUNK: usize = 500;

/// What the classifier saw in a set of images, one row per image.
#[derive(Debug, Clone)]
pub struct Features {
    /// Penultimate-layer activations, `[n, features]`.
    pub features: DMatrix<f64>,
    /// Softmax class probabilities, `[n, classes]`.
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

/// Features of `n` images, `images(range)` giving those with indices in `range` (at most
/// [`CHUNK`] at a time). `what` labels the progress bar.
pub fn extract(
    classifier: &Classifier,
    n: usize,
    mut images: impl FnMut(Range<usize>) -> Tensor<4>,
    what: &str,
) -> Features {
    let bar = progress::count_bar(n as u64, what);
    let (mut features, mut probs) = (Vec::new(), Vec::new());
    let (mut width, mut classes) = (0, 0);
    for start in (0..n).step_by(CHUNK) {
        let range = start..(start + CHUNK).min(n);
        let count = range.len() as u64;
        let out = classifier.forward(images(range));
        [width, classes] = [out.features.dims()[1], out.logits.dims()[1]];
        features.extend(to_f64(out.features));
        probs.extend(to_f64(softmax(out.logits, 1)));
        bar.inc(count);
    }
    bar.finish_and_clear();
    Features {
        features: DMatrix::from_row_slice(n, width, &features),
        probs: DMatrix::from_row_slice(n, classes, &probs),
    }
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
