//! All metrics of one comparison, as a table and as JSON.

use std::fmt;

use burn::tensor::Device;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::class_accuracy::{ClassAccuracy, asked_class, class_accuracy};
use super::features::{FeatureId, FeatureNet, Features, extract};
use super::frechet::{Gaussian, frechet_distance};
use super::inception_score::{InceptionScore, inception_score};
use super::kid::{Kid, kid};
use super::modes::{ModeCoverage, mode_coverage};
use super::precision_recall::{PrecisionRecall, precision_recall};
use crate::data::Dataset;
use crate::model::Generator;
use crate::model::conditioning::labels;
use crate::picture::uniform_noise;

/// The most images one evaluation scores: FID-50k, the field's largest usual set. Their
/// features (2048 f64 values an image with Inception, 0.8 GB a set), and the blocks of
/// distances behind precision and recall, stay within a few GB.
pub const MAX_EVAL_IMAGES: usize = 50_000;

/// The metrics' settings; the defaults are torch-fidelity's and the papers'.
#[derive(Debug, Clone, Serialize)]
pub struct EvalOptions {
    /// KID: number of random subsets.
    pub kid_subsets: usize,
    /// KID: samples per subset (fewer when a set is smaller).
    pub kid_subset_size: usize,
    /// Inception Score: number of splits.
    pub is_splits: usize,
    /// Precision and recall: the neighbour that sets each ball's radius.
    pub k: usize,
    /// Seed of the generator's noise and of KID's subsets.
    pub seed: u64,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            kid_subsets: 100,
            kid_subset_size: 1000,
            is_splits: 10,
            k: 3,
            seed: 0,
        }
    }
}

/// What a set of scores compares with the real test set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compared {
    /// A generator's images.
    Generated,
    /// Real training images (`dcgan eval --real-vs-real`): the floor of every metric.
    RealTraining,
}

/// Every metric of a generated (or second real) set against the real test set.
#[derive(Debug, Clone, Serialize)]
pub struct Scores {
    /// What was scored: a generator's images, or real training images.
    pub compared: Compared,
    /// The network whose features (and classes) the figures are made of.
    pub features: FeatureId,
    /// Real images compared.
    pub n_real: usize,
    /// Generated (or real training) images compared.
    pub n_generated: usize,
    /// Fréchet distance of the features (lower is better; 0 is identical): with Inception,
    /// pytorch-fid's FID.
    pub fid: f64,
    /// Kernel distance (lower is better; about 0 for the same distribution).
    pub kid: Kid,
    /// Inception Score (or the classifier's analogue) of the generated images (higher is
    /// better, at most the number of classes); none without class probabilities.
    pub inception_score: Option<InceptionScore>,
    /// The same of the real images, for scale.
    pub real_inception_score: Option<InceptionScore>,
    /// Improved precision and recall (k = 3).
    pub precision_recall: PrecisionRecall,
    /// Class histogram of the generated images and its distance from the real one (the
    /// data set's classifier only: its classes are the data set's).
    pub modes: Option<ModeCoverage>,
    /// For a conditional generator whose classes are the classifier's: how often each
    /// class is drawn when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_accuracy: Option<ClassAccuracy>,
    /// The settings used.
    pub options: EvalOptions,
}

/// Computes every metric of `generated` against `real`, both seen by the network `id`.
pub fn evaluate(
    id: &FeatureId,
    real: &Features,
    generated: &Features,
    options: &EvalOptions,
) -> Scores {
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let fid = frechet_distance(
        &Gaussian::fit(&real.features),
        &Gaussian::fit(&generated.features),
    );
    let has_classes = generated.probs.ncols() > 0;
    let score = |probs| has_classes.then(|| inception_score(probs, options.is_splits));
    Scores {
        compared: Compared::Generated,
        features: id.clone(),
        n_real: real.len(),
        n_generated: generated.len(),
        fid,
        kid: kid(
            &real.features,
            &generated.features,
            options.kid_subsets,
            options.kid_subset_size,
            &mut rng,
        ),
        inception_score: score(&generated.probs),
        real_inception_score: score(&real.probs),
        precision_recall: precision_recall(&real.features, &generated.features, options.k),
        modes: matches!(id, FeatureId::Classifier(_))
            .then(|| mode_coverage(&real.probs, &generated.probs)),
        class_accuracy: None,
        options: options.clone(),
    }
}

impl fmt::Display for Scores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        let pm = |s: &InceptionScore| format!("{:.3} ± {:.3}", s.mean, s.std);
        let mut rows = vec![
            (
                "FID",
                format!("{:.3}", self.fid),
                "lower is better; 0 = same features",
            ),
            (
                "KID",
                format!("{:.5} ± {:.5}", self.kid.mean, self.kid.std),
                "lower is better; ~0 = same distribution",
            ),
        ];
        if let (Some(is), Some(real)) = (&self.inception_score, &self.real_inception_score) {
            rows.push((
                "IS",
                pm(is),
                "higher is better; real images score the figure below",
            ));
            rows.push(("IS (real)", pm(real), ""));
        }
        rows.push((
            "precision",
            format!("{:.4}", self.precision_recall.precision),
            "share of samples that look real",
        ));
        rows.push((
            "recall",
            format!("{:.4}", self.precision_recall.recall),
            "share of the real variety covered",
        ));
        if let Some(modes) = &self.modes {
            rows.push((
                "classes",
                format!("{} of {}", modes.classes_present, modes.histogram.len()),
                "present (≥ 10 % of a fair share)",
            ));
            rows.push((
                "class KL",
                format!("{:.4}", modes.kl_to_real),
                "to the real class mix; 0 is the same mix",
            ));
        }
        let (scored, real) = match self.compared {
            Compared::Generated => ("generated", "real"),
            Compared::RealTraining => ("real training", "real test"),
        };
        write!(
            f,
            "{} {scored} vs {} {real} images (KID {}×{}, IS {} splits, k = {})\n  features: {}",
            self.n_generated,
            self.n_real,
            o.kid_subsets,
            o.kid_subset_size,
            o.is_splits,
            o.k,
            self.features.describe()
        )?;
        for (name, value, note) in rows {
            write!(f, "\n  {name:<10} {value:>20}   {note}")?;
        }
        if let Some(modes) = &self.modes {
            let histogram: Vec<String> = modes.histogram.iter().map(|c| c.to_string()).collect();
            write!(f, "\n  histogram  {}", histogram.join(" "))?;
        }
        if let Some(accuracy) = &self.class_accuracy {
            let per_class: Vec<String> = accuracy
                .per_class
                .iter()
                .map(|a| format!("{:.1}", a * 100.0))
                .collect();
            write!(
                f,
                "\n  {:<10} {:>20}   images classified as the class asked for\n  per class  {}",
                "class acc.",
                format!("{:.2} %", accuracy.overall * 100.0),
                per_class.join(" ")
            )?;
        }
        Ok(())
    }
}

/// A feature network with the real images' features, computed once (and cached on disk):
/// scores generators against them (`dcgan eval`, and `dcgan train --eval-every`).
pub struct Evaluator {
    net: FeatureNet,
    real: Features,
    device: Device,
}

impl Evaluator {
    /// Extracts the features of `n` images of `real` (all when it has fewer, else a seeded
    /// subset), or reads them from the cache ([`super::reference`]).
    pub fn new(net: FeatureNet, real: &Dataset, n: usize, device: &Device) -> anyhow::Result<Self> {
        let n = n.min(real.len);
        let features = super::reference::real_features(&net, real, n, "real images", device)?;
        Ok(Evaluator {
            net,
            real: features,
            device: device.clone(),
        })
    }

    /// Every metric of `features` (seen by this network) against the real ones.
    pub fn evaluate(&self, features: &Features, options: &EvalOptions) -> Scores {
        evaluate(&self.net.id(), &self.real, features, options)
    }

    /// The features of `images`, e.g. a second real set.
    pub fn features_of(&self, images: &Dataset, ids: &[usize]) -> anyhow::Result<Features> {
        extract(
            &self.net,
            ids.len(),
            |range| images.images(&ids[range], &self.device),
            "images",
        )
    }

    /// The features of `n` images drawn by `generator` (in inference mode) from U(-1, 1)
    /// noise seeded by `seed`; a conditional generator draws the classes in turn
    /// ([`asked_class`]).
    pub fn features_of_generator(
        &self,
        generator: &Generator,
        n: usize,
        seed: u64,
    ) -> anyhow::Result<Features> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let classes = generator.classes();
        extract(
            &self.net,
            n,
            |range| {
                let noise = uniform_noise(range.len(), generator.noise_dim(), &mut rng);
                let asked = (classes > 0).then(|| {
                    let asked: Vec<usize> = range.map(|i| asked_class(i, classes)).collect();
                    labels(&asked, &self.device)
                });
                generator.forward(noise.to_tensor(&self.device), asked)
            },
            "generating",
        )
    }

    /// Every metric of `n` generated images against the real ones.
    pub fn score_generator(
        &self,
        generator: &Generator,
        n: usize,
        options: &EvalOptions,
    ) -> anyhow::Result<Scores> {
        let generated = self.features_of_generator(generator, n, options.seed)?;
        let mut scores = self.evaluate(&generated, options);
        // Accuracy means something only when the generator's class k is the classifier's.
        let classifier = matches!(self.net, FeatureNet::Classifier(..));
        if classifier && generator.classes() > 0 && generator.classes() == generated.probs.ncols() {
            scores.class_accuracy = Some(class_accuracy(&generated.probs));
        }
        Ok(scores)
    }
}
