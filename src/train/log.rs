//! What the training loop logs, and when: scalars every `--log-every` steps (TensorBoard and
//! `metrics.jsonl`), histograms of weights and gradients every `--histogram-every` steps,
//! the run's configuration and architecture as text, and the sample pictures.

use std::path::Path;
use std::time::Instant;

use super::inspect::{self, NamedValues};
use super::state::{Gan, RunState};
use super::step::{Gradients, StepLosses};
use crate::eval::Scores;
use crate::logging::EventWriter;
use crate::run_dir::{EVALS, EvalEntry, JsonLines, METRICS, MetricsRecord};

/// The run's log files and the clock behind its images-per-second figure.
pub struct TrainingLog {
    events: EventWriter,
    metrics: JsonLines,
    evals: JsonLines,
    log_every: u64,
    histogram_every: u64,
    batch_size: usize,
    /// D's and G's learning rates.
    lr: (f32, f32),
    /// When and at which step the last scalars were logged.
    last: (Instant, u64),
}

impl TrainingLog {
    /// Opens the logs in `out`. A fresh run (step 0) gets its configuration and architecture
    /// as text; a resumed one drops what a killed run logged after its last checkpoint.
    pub fn open(out: &Path, state: &RunState, gan: &Gan) -> anyhow::Result<Self> {
        let mut events = EventWriter::create(out)?;
        let step = state.d_step;
        let (metrics, evals) = if step == 0 {
            events.text(0, "config", &config_text(state))?;
            events.text(0, "architecture", &architecture_text(gan))?;
            (
                JsonLines::create(out, METRICS)?,
                JsonLines::create(out, EVALS)?,
            )
        } else {
            events.session_start(step + 1)?;
            (
                JsonLines::resume(out, METRICS, step)?,
                JsonLines::resume(out, EVALS, step)?,
            )
        };
        let config = &state.config;
        Ok(TrainingLog {
            events,
            metrics,
            evals,
            log_every: config.schedule.log_every as u64,
            histogram_every: config.schedule.histogram_every as u64,
            batch_size: config.recipe.batch_size,
            lr: {
                let rates = config.recipe.step_settings();
                (rates.lr_d as f32, rates.lr_g as f32)
            },
            last: (Instant::now(), step),
        })
    }

    /// True when the step about to run (`d_step + 1`) should also report its gradients.
    pub fn wants_gradients(&self, state: &RunState) -> bool {
        self.histogram_every > 0 && (state.d_step + 1).is_multiple_of(self.histogram_every)
    }

    /// Logs what is due after the step `state.d_step` (iterations, each with a D step),
    /// done in `epoch`.
    pub fn step(
        &mut self,
        state: &RunState,
        epoch: usize,
        losses: &StepLosses,
        gradients: Option<Gradients>,
        gan: &Gan,
    ) -> anyhow::Result<()> {
        let step = state.d_step;
        if step.is_multiple_of(self.log_every) {
            let images = (step - self.last.1) as usize * self.batch_size;
            let rate = images as f32 / self.last.0.elapsed().as_secs_f32();
            self.last = (Instant::now(), step);
            let record = MetricsRecord {
                step,
                epoch: epoch as u64,
                loss_d: losses.loss_d.into(),
                loss_g: losses.loss_g.into(),
                d_real: losses.d_real.into(),
                d_fake: losses.d_fake.into(),
                lr_d: self.lr.0.into(),
                lr_g: self.lr.1.into(),
                images_per_sec: rate.into(),
            };
            self.events.scalars(step, &record.scalars())?;
            self.metrics.append(&record)?;
        }
        if let Some(gradients) = gradients {
            self.histograms(step, gradients, gan)?;
        }
        Ok(())
    }

    /// Histograms of every weight and gradient, and each gradient's norm as a scalar.
    fn histograms(&mut self, step: u64, gradients: Gradients, gan: &Gan) -> anyhow::Result<()> {
        let grads: Vec<NamedValues> = gradients
            .generator
            .into_iter()
            .chain(gradients.discriminator)
            .collect();
        let norms: Vec<(String, f32)> = grads
            .iter()
            .map(|(name, g)| (format!("grad_norm/{name}"), inspect::l2_norm(g)))
            .collect();
        let norms: Vec<(&str, f32)> = norms.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        self.events.scalars(step, &norms)?;
        let prefixed = |prefix: &str, values: Vec<NamedValues>| -> Vec<NamedValues> {
            values
                .into_iter()
                .map(|(name, v)| (format!("{prefix}/{name}"), v))
                .collect()
        };
        let mut weights = inspect::parameters(&gan.generator, "G");
        weights.extend(inspect::parameters(&gan.discriminator, "D"));
        self.events
            .histograms(step, &prefixed("weights", weights))?;
        self.events.histograms(step, &prefixed("gradients", grads))
    }

    /// Logs an evaluation's figures as `eval/…` scalars and as one line of `eval.jsonl`.
    pub fn eval(&mut self, step: u64, epoch: usize, scores: &Scores) -> anyhow::Result<()> {
        let mut figures = vec![
            ("eval/FID", scores.fid),
            ("eval/KID", scores.kid.mean),
            ("eval/precision", scores.precision_recall.precision),
            ("eval/recall", scores.precision_recall.recall),
        ];
        if let Some(is) = &scores.inception_score {
            figures.push(("eval/IS", is.mean));
        }
        if let Some(modes) = &scores.modes {
            figures.push(("eval/classes", modes.classes_present as f64));
            figures.push(("eval/class_KL", modes.kl_to_real));
        }
        let figures: Vec<(&str, f32)> = figures.iter().map(|&(n, v)| (n, v as f32)).collect();
        self.events.scalars(step, &figures)?;
        self.evals.append(&EvalEntry {
            step,
            epoch: epoch as u64,
            scores,
        })
    }

    /// Logs a sample picture (PNG bytes and size) at `step`.
    pub fn picture(
        &mut self,
        step: u64,
        png: &[u8],
        size: (u32, u32),
        channels: usize,
    ) -> anyhow::Result<()> {
        self.events.image(step, "samples", png, size, channels)
    }
}

/// The run's configuration as Markdown: its TOML in a code block.
fn config_text(state: &RunState) -> String {
    format!("```toml\n{}```", state.config.to_toml())
}

/// Both networks as burn prints them (layers, sizes, parameter counts), as Markdown.
fn architecture_text(gan: &Gan) -> String {
    format!(
        "Generator\n```\n{}\n```\nDiscriminator\n```\n{}\n```",
        gan.generator, gan.discriminator
    )
}
