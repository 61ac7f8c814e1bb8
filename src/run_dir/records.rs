//! The lines of a run's logs, typed: [`MetricsRecord`] for `metrics.jsonl` (one per
//! `--log-every` steps) and [`EvalEntry`] / [`EvalRecord`] for `eval.jsonl` (one per
//! evaluation). Their JSON names are the TensorBoard tags of the same figures.

use serde::{Deserialize, Serialize};

use crate::eval::Scores;

/// One line of `metrics.jsonl`: the losses and D's mean outputs of a logged step.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct MetricsRecord {
    /// D steps so far (the step just trained).
    pub step: u64,
    /// Its epoch, 0-based.
    #[serde(default)]
    pub epoch: u64,
    /// D's loss.
    #[serde(rename = "loss_D")]
    pub loss_d: f64,
    /// G's loss.
    #[serde(rename = "loss_G")]
    pub loss_g: f64,
    /// Mean D(x).
    #[serde(rename = "D_x")]
    pub d_real: f64,
    /// Mean D(G(z)).
    #[serde(rename = "D_G_z")]
    pub d_fake: f64,
    /// D's learning rate.
    #[serde(rename = "lr_D", default)]
    pub lr_d: f64,
    /// G's learning rate.
    #[serde(rename = "lr_G", default)]
    pub lr_g: f64,
    /// Images trained a second since the last logged step.
    #[serde(default)]
    pub images_per_sec: f64,
}

impl MetricsRecord {
    /// The figures as TensorBoard scalars, tagged with their JSON names.
    pub fn scalars(&self) -> [(&'static str, f32); 7] {
        [
            ("loss_D", self.loss_d as f32),
            ("loss_G", self.loss_g as f32),
            ("D_x", self.d_real as f32),
            ("D_G_z", self.d_fake as f32),
            ("lr_D", self.lr_d as f32),
            ("lr_G", self.lr_g as f32),
            ("images_per_sec", self.images_per_sec as f32),
        ]
    }
}

/// One line of `eval.jsonl` as training writes it: every figure of the evaluation after
/// `epoch`, at `step`.
#[derive(Debug, Serialize)]
pub struct EvalEntry<'a> {
    /// D steps so far.
    pub step: u64,
    /// The epoch just scored, 0-based.
    pub epoch: u64,
    /// The figures.
    #[serde(flatten)]
    pub scores: &'a Scores,
}

/// One line of `eval.jsonl` as readers take it: the figures the report and the serve page
/// plot. Lines from before a figure existed read without it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EvalRecord {
    /// D steps so far.
    pub step: u64,
    /// The epoch scored, 0-based.
    pub epoch: u64,
    /// Fréchet distance.
    pub fid: f64,
    /// The network whose features the figures are made of; absent in the logs of dcgan
    /// before Inception.
    #[serde(default)]
    pub features: Option<FeaturesTag>,
    /// Kernel distance.
    #[serde(default)]
    pub kid: Option<Mean>,
    /// Inception Score (or the classifier's analogue), where there are class
    /// probabilities.
    #[serde(default)]
    pub inception_score: Option<Mean>,
    /// Improved precision and recall.
    #[serde(default)]
    pub precision_recall: Option<PrecisionRecallFigures>,
    /// A conditional run's class accuracy, when measured.
    #[serde(default)]
    pub class_accuracy: Option<Overall>,
}

/// Which network an evaluation's features came from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FeaturesTag {
    /// `inception` or `classifier`.
    pub kind: String,
}

/// A figure measured as a mean (over KID's subsets, or IS's splits).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Mean {
    /// The mean.
    pub mean: f64,
}

/// Improved precision and recall.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct PrecisionRecallFigures {
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
}

/// A class accuracy over all classes.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Overall {
    /// The accuracy, 0 to 1.
    pub overall: f64,
}

impl EvalRecord {
    /// "Inception FID", "classifier FID", or "FID" when the log does not say.
    pub fn fid_label(&self) -> &'static str {
        match self.features.as_ref().map(|f| f.kind.as_str()) {
            Some("inception") => "Inception FID",
            Some("classifier") => "classifier FID",
            _ => "FID",
        }
    }
}
