//! How good is a generator? Metrics on the features and predictions of a classifier trained
//! on the data set itself (InceptionV3 features mean little on 28×28 digits): the Fréchet
//! distance (FID), the kernel distance (KID), the Inception-Score analogue, improved
//! precision and recall, mode coverage, and for a conditional generator per-class accuracy.

pub mod class_accuracy;
pub mod classifier;
mod classifier_training;
mod features;
pub mod frechet;
pub mod inception;
pub mod inception_score;
pub mod kid;
pub mod modes;
pub mod moments;
pub mod npz;
pub mod precision_recall;
mod scores;

pub use classifier::{Classifier, ClassifierConfig, ClassifierId, ClassifierInfo};
pub use classifier_training::{ClassifierTraining, test_accuracy, train_classifier};
pub use features::{Features, extract};
pub use scores::{Compared, EvalOptions, Evaluator, MAX_EVAL_IMAGES, Scores, evaluate};

/// Checks that images of `image_size` and `channels` can be scored: the classifiers are
/// for 28×28 grey images (MNIST and Fashion-MNIST); an error names the generator's size.
pub fn check_scorable(image_size: usize, channels: usize) -> anyhow::Result<()> {
    if (image_size, channels) != (28, 1) {
        let colour = if channels == 3 { "RGB" } else { "grey" };
        anyhow::bail!(
            "dcgan's quality metrics score 28×28 grey images with a classifier of MNIST or \
             Fashion-MNIST; this generator draws {image_size}×{image_size} {colour} images, \
             for which dcgan has no classifier yet"
        );
    }
    Ok(())
}

/// Mean and population standard deviation (NumPy's `np.std`), as the metrics report them.
fn mean_and_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}
