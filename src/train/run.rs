//! The training loop, top to bottom: per epoch, shuffle; per batch, an iteration (a D step,
//! then a G step on the same noise, as in the seed), a stop when asked and a checkpoint
//! when due; then the end of the epoch: its line, its picture, its evaluation and its
//! checkpoint. [`Trainer`] holds the run and does each named step.

use std::path::Path;

use burn::tensor::Device;

use super::reporter::Reporter;
use super::state::{Gan, RunState};
use super::trainer::{Trainer, open};
use crate::interrupt::StopFlag;

/// How a run begins.
#[expect(clippy::large_enum_variant, reason = "made once per run")]
pub enum Start {
    /// A new run.
    Fresh {
        /// Its configuration.
        config: super::TrainConfig,
        /// The user named the data set, so the embedded MNIST subset must not stand in.
        dataset_explicit: bool,
    },
    /// A run continued from a checkpoint; it uses the embedded subset only if it began on it.
    Resume(Box<(RunState, Gan)>),
}

/// How a call to [`train`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// All epochs are done.
    Finished,
    /// A stop was requested; a checkpoint holds everything up to the last step.
    Stopped,
}

/// Trains until the configuration's epochs are done, writing everything into `out`.
///
/// When `stop` is requested, training ends after the current step with a checkpoint from
/// which `--resume` continues exactly.
pub fn train(
    start: Start,
    out: &Path,
    device: &Device,
    stop: &StopFlag,
) -> anyhow::Result<Outcome> {
    let mut report = Reporter::default();
    let Some((opened, data)) = open(start, out, device, &mut report)? else {
        return Ok(Outcome::Finished);
    };
    let mut run = Trainer::new(opened, &data, report, out, device)?;
    let epochs = run.epochs();
    for epoch in run.first_epoch()..epochs {
        let batches = run.begin_epoch(epoch);
        for batch in batches.clone() {
            run.iteration(epoch, batch)?;
            // Within the epoch: stop when asked, and save when due (its end saves anyway).
            if batch + 1 < batches.end {
                if run.stop_requested(stop) {
                    return run.stop();
                }
                run.checkpoint_if_due()?;
            }
        }
        run.end_epoch(epoch)?;
        if run.stop_requested(stop) && epoch + 1 < epochs {
            return run.stop();
        }
    }
    run.finish()
}
