//! Scoring the generator while it trains (`--eval-every`) and keeping the best checkpoint
//! by FID beside the latest.

use std::path::Path;

use anyhow::Context;
use burn::tensor::Device;

use super::TrainConfig;
use super::state::{Gan, RunState};
use crate::data::{LocateOptions, Split, locate};
use crate::eval::{EvalOptions, Evaluator, FeatureChoice, Scores};
use crate::model::Architecture;
use crate::run_dir::{BEST_CHECKPOINT, BEST_GENERATOR, CHECKPOINT, GENERATOR};

/// The feature network (the data set's classifier for 28×28 grey digits, else Inception)
/// with the real test images' features, ready for the epochs to come.
pub struct TrainingEvaluator {
    evaluator: Evaluator,
    n: usize,
    every: usize,
    seed: u64,
}

impl TrainingEvaluator {
    /// Prepares the evaluations of a run, or `None` when `--eval-every` is 0. Fails before
    /// training starts when the network's weights or the test split are missing.
    pub fn prepare(
        config: &TrainConfig,
        arch: &Architecture,
        embedded_data: bool,
        device: &Device,
    ) -> anyhow::Result<Option<Self>> {
        if config.schedule.eval_every == 0 {
            return Ok(None);
        }
        let inference = device.clone().without_autodiff();
        let choice = FeatureChoice {
            classifier: config.schedule.classifier.clone(),
            ..FeatureChoice::default()
        };
        let net = choice
            .load(
                config.recipe.dataset,
                arch.image_size,
                arch.channels,
                &inference,
            )
            .context("--eval-every")?;
        // A run on the embedded training subset compares with the embedded test images.
        let options = LocateOptions {
            data_dir: config.schedule.data_dir.clone(),
            explicit: !embedded_data,
            image_size: Some(arch.image_size),
            channels: Some(arch.channels),
            background: config.recipe.background,
        };
        let (test, _) = locate(config.recipe.dataset, Split::Test, &options)
            .context("--eval-every compares with the data set's test split")?;
        // The classifier sees the whole test split in seconds; Inception, about 6 images a
        // second on two cores, as many real images as generated ones (cached after the
        // first run).
        let real_n = match choice.kind_for(config.recipe.dataset, arch.image_size, arch.channels) {
            crate::eval::FeatureKind::Classifier => test.len,
            crate::eval::FeatureKind::Inception => test.len.min(config.schedule.eval_n),
        };
        Ok(Some(TrainingEvaluator {
            evaluator: Evaluator::new(net, &test, real_n, &inference)?,
            n: config.schedule.eval_n,
            every: config.schedule.eval_every,
            seed: config.recipe.seed,
        }))
    }

    /// True when the epoch just finished (`epoch`, counted from 0) is to be scored.
    pub fn due(&self, epoch: usize, last: bool) -> bool {
        last || (epoch + 1).is_multiple_of(self.every)
    }

    /// Scores the generator on the same noise every time (the run's seed), so epochs
    /// compare. KID uses subsets of at most the generated count.
    pub fn score(&self, state: &RunState, gan: &Gan) -> anyhow::Result<Scores> {
        let options = EvalOptions {
            kid_subset_size: EvalOptions::default().kid_subset_size.min(self.n),
            seed: self.seed,
            ..EvalOptions::default()
        };
        self.evaluator
            .score_generator(&state.inference_generator(gan), self.n, &options)
    }
}

/// Records `scores` in the state; true when its FID is the best so far.
pub fn is_new_best(state: &mut RunState, scores: &Scores) -> bool {
    let better = state.best_fid.is_none_or(|best| scores.fid < best);
    if better {
        state.best_fid = Some(scores.fid);
    }
    better
}

/// Copies the latest checkpoint and generator, just written, to the best ones, atomically.
pub fn keep_as_best(out: &Path) -> anyhow::Result<()> {
    for (from, to) in [(CHECKPOINT, BEST_CHECKPOINT), (GENERATOR, BEST_GENERATOR)] {
        let bytes = std::fs::read(out.join(from))
            .with_context(|| format!("cannot read {}", out.join(from).display()))?;
        crate::atomic_file::write(&out.join(to), &bytes)
            .with_context(|| format!("cannot write {}", out.join(to).display()))?;
    }
    Ok(())
}
