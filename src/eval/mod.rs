//! How good is a generator? Metrics on the features of pytorch-fid's Inception-v3 (the
//! field's FID, for every kind of image: [`inception`]) or of a classifier trained on the
//! data set itself (for 28×28 digits, where Inception's features mean less): the Fréchet
//! distance (FID), the kernel distance (KID), the Inception Score (or its analogue),
//! improved precision and recall, and with the classifier mode coverage and, for a
//! conditional generator, per-class accuracy.

pub mod class_accuracy;
pub mod classifier;
mod classifier_training;
pub mod features;
pub mod frechet;
pub mod inception;
pub mod inception_score;
pub mod kid;
pub mod modes;
pub mod moments;
pub mod npz;
pub mod precision_recall;
mod reference;
mod scores;

use crate::data::DatasetKind;

pub use classifier::{Classifier, ClassifierConfig, ClassifierId, ClassifierInfo};
pub use classifier_training::{ClassifierTraining, test_accuracy, train_classifier};
pub use features::{FeatureId, FeatureKind, FeatureNet, Features, extract};
pub use reference::real_features;
pub use scores::{Compared, EvalOptions, Evaluator, MAX_EVAL_IMAGES, Scores, evaluate};

/// Where the feature network comes from: which kind (`None`: the default), and the files
/// named on the command line.
#[derive(Debug, Clone, Default)]
pub struct FeatureChoice {
    /// `--features`.
    pub kind: Option<FeatureKind>,
    /// `--classifier FILE`.
    pub classifier: Option<std::path::PathBuf>,
    /// `--inception FILE`.
    pub inception: Option<std::path::PathBuf>,
}

impl FeatureChoice {
    /// The kind for images of `image_size` and `channels` from `dataset`: Inception, except
    /// for 28×28 grey images of a data set with a classifier of its own (MNIST,
    /// Fashion-MNIST), where the classifier is the default.
    pub fn kind_for(
        &self,
        dataset: DatasetKind,
        image_size: usize,
        channels: usize,
    ) -> FeatureKind {
        // A weights file named on the command line asks for its network.
        let named = match (&self.inception, &self.classifier) {
            (Some(_), None) => Some(FeatureKind::Inception),
            (None, Some(_)) => Some(FeatureKind::Classifier),
            _ => None,
        };
        self.kind.or(named).unwrap_or(
            if classifier::has_built_in(dataset) && (image_size, channels) == (28, 1) {
                FeatureKind::Classifier
            } else {
                FeatureKind::Inception
            },
        )
    }

    /// The network for images of `image_size` and `channels` from `dataset`.
    pub fn load(
        &self,
        dataset: DatasetKind,
        image_size: usize,
        channels: usize,
        device: &burn::tensor::Device,
    ) -> anyhow::Result<FeatureNet> {
        Ok(match self.kind_for(dataset, image_size, channels) {
            FeatureKind::Classifier => {
                check_scorable(image_size, channels)?;
                let (net, id) = classifier::load_for(self.classifier.as_deref(), dataset, device)?;
                FeatureNet::Classifier(Box::new(net), id)
            }
            FeatureKind::Inception => {
                let (network, id) = inception::load(self.inception.as_deref(), true, device)?;
                let extractor = inception::InceptionExtractor::new(network, id, device);
                FeatureNet::Inception(Box::new(extractor))
            }
        })
    }
}

/// Checks that images of `image_size` and `channels` can be scored: the classifiers are
/// for 28×28 grey images (MNIST and Fashion-MNIST); an error names the generator's size.
pub fn check_scorable(image_size: usize, channels: usize) -> anyhow::Result<()> {
    if (image_size, channels) != (28, 1) {
        let colour = if channels == 3 { "RGB" } else { "grey" };
        anyhow::bail!(
            "dcgan's quality metrics score 28×28 grey images with a classifier of MNIST or \
             Fashion-MNIST; this generator draws {image_size}×{image_size} {colour} images, \
             for which dcgan has no classifier; score them with --features inception"
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
