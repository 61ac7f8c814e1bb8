//! The named steps of [`super::train`]'s loop, over one run held whole: opening the run,
//! beginning an epoch, an iteration, the in-epoch checkpoint, the end of an epoch, a stop
//! and the finish.

use std::ops::Range;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use burn::tensor::Device;

use super::augment::IterationAugment;
use super::checkpoint;
use super::data::RunData;
use super::distributed;
use super::ema;
use super::evaluation::{TrainingEvaluator, is_new_best, keep_as_best};
use super::log::TrainingLog;
use super::reporter::Reporter;
use super::run::{Outcome, Start};
use super::state::{Gan, RunState, SAMPLE_COLUMNS};
use super::step::{StepLosses, StepSettings, all_finite, train_iteration};
use crate::data::{Batcher, DataSource};
use crate::model::Architecture;
use crate::model::conditioning::labels;
use crate::picture::{ImageGrid, images_from_tensor, uniform_noise};
use crate::processes::world;
use crate::run_dir::{self, BEST_CHECKPOINT, BEST_GENERATOR};
use crate::weights;

/// A run as [`open`] finds it: its state and networks, new or from a checkpoint.
pub struct Opened {
    state: RunState,
    gan: Gan,
    fresh: bool,
}

/// Announces the run and finds its data; for a new conditional run, its classes. `None`
/// when a resumed run has already trained all its epochs.
pub fn open(
    start: Start,
    out: &Path,
    device: &Device,
    report: &mut Reporter,
) -> anyhow::Result<Option<(Opened, RunData)>> {
    match start {
        Start::Fresh {
            mut config,
            dataset_explicit,
        } => {
            report.new_run(&config, out);
            let sizes = config.recipe.unconditional_architecture()?;
            let data = RunData::load(&config, &sizes, dataset_explicit)?;
            data.lines().iter().for_each(|line| report.line(line));
            data.check_shape(&sizes)?;
            if let Some(conditioning) = config.recipe.conditional {
                config.recipe.classes = data.classes_to_condition_on(conditioning)?;
            }
            let (mut state, gan) = RunState::start(config, device);
            state.embedded_data = data.source == DataSource::Embedded;
            state.data_identity = data.identity.clone();
            Ok(Some((
                Opened {
                    state,
                    gan,
                    fresh: true,
                },
                data,
            )))
        }
        Start::Resume(loaded) => {
            let (mut state, gan) = *loaded;
            if state.epochs_done >= state.config.schedule.epochs {
                report.line(&format!(
                    "the run in {} has finished its {} epochs; pass a larger --epochs to \
                     continue it",
                    out.display(),
                    state.epochs_done
                ));
                return Ok(None);
            }
            report.resuming(&state, out);
            let sizes = state.config.recipe.unconditional_architecture()?;
            let data = RunData::load(&state.config, &sizes, !state.embedded_data)?;
            data.lines().iter().for_each(|line| report.line(line));
            data.check_shape(&sizes)?;
            data.check_same_as(&state)?;
            state.data_identity = data.identity.clone();
            Ok(Some((
                Opened {
                    state,
                    gan,
                    fresh: false,
                },
                data,
            )))
        }
    }
}

/// A run being trained: its state and networks, its data in batches, its records and its
/// console.
pub struct Trainer<'a> {
    out: &'a Path,
    device: &'a Device,
    state: RunState,
    /// The networks; taken by an iteration while it trains them.
    gan: Option<Gan>,
    /// The networks' shapes, resolved once when the run opened.
    arch: Architecture,
    batcher: Batcher<'a>,
    /// Batches per epoch.
    batches: usize,
    settings: StepSettings,
    evaluator: Option<TrainingEvaluator>,
    /// The run's records; `None` in a process that writes nothing (a rank other than 0).
    log: Option<TrainingLog>,
    report: Reporter,
    /// Steps and time since the last checkpoint, for `--checkpoint-every`.
    since_checkpoint: (u64, Instant),
    /// Batches of the current epoch done before this session (a resumed epoch).
    resumed_at: usize,
}

impl<'a> Trainer<'a> {
    /// Readies an opened run: its batches, its evaluations and its run directory. Nothing
    /// is written or removed before every check has passed. In a run on several processes
    /// this process takes its slice of each batch, and only rank 0 writes.
    pub fn new(
        opened: Opened,
        data: &'a RunData,
        report: Reporter,
        out: &'a Path,
        device: &'a Device,
    ) -> anyhow::Result<Self> {
        let Opened { state, gan, fresh } = opened;
        let config = &state.config;
        let arch = config.recipe.architecture()?;
        report.line(&format!("model: {}", arch.describe()));
        distributed::check(config)?;
        crate::kernels::batch_norm::set_local(config.recipe.local_batch_norm);
        let batch_size = config.recipe.batch_size;
        let batcher =
            Batcher::new(&data.dataset, batch_size).only_rows(distributed::rows(batch_size));
        let batches = batcher
            .batches_per_epoch()
            .min(config.recipe.limit_batches.unwrap_or(usize::MAX));
        if batches == 0 {
            bail!(
                "--batch-size {} is larger than the data set ({} images)",
                config.recipe.batch_size,
                data.dataset.len
            );
        }
        let writes = world().writes();
        let evaluator = match writes {
            true => TrainingEvaluator::prepare(config, &arch, state.embedded_data, device)?,
            false => None,
        };
        let log = if writes {
            prepare_directory(out, fresh)?;
            crate::atomic_file::write(&out.join(run_dir::CONFIG), config.to_toml().as_bytes())
                .context("cannot write config.toml")?;
            Some(TrainingLog::open(out, &state, &gan)?)
        } else {
            None
        };
        Ok(Trainer {
            log,
            settings: config.recipe.step_settings(),
            out,
            device,
            gan: Some(gan),
            arch,
            batcher,
            batches,
            evaluator,
            report,
            since_checkpoint: (0, Instant::now()),
            resumed_at: 0,
            state,
        })
    }

    /// The epochs the run trains in all.
    pub fn epochs(&self) -> usize {
        self.state.config.schedule.epochs
    }

    /// The first epoch this session trains: the one a resumed run stopped in.
    pub fn first_epoch(&self) -> usize {
        self.state.epochs_done
    }

    /// True in the process that writes the run's files: the only one, or rank 0 of several.
    fn writes(&self) -> bool {
        self.log.is_some()
    }

    fn gan(&self) -> &Gan {
        self.gan
            .as_ref()
            .expect("the networks are back after each iteration")
    }

    /// Shuffles the epoch's order and starts its bar; returns the batches left to train.
    ///
    /// The order comes from the RNG as it stood when the epoch began; a run resumed
    /// mid-epoch replays that shuffle on a copy and goes on with the RNG it saved.
    pub fn begin_epoch(&mut self, epoch: usize) -> Range<usize> {
        let state = &mut self.state;
        if state.batches_done == 0 {
            state.epoch_rng = state.rng.clone();
            self.batcher.shuffle(&mut state.rng);
        } else {
            self.batcher.shuffle(&mut state.epoch_rng.clone());
        }
        self.resumed_at = state.batches_done;
        let batch_size = state.config.recipe.batch_size;
        self.report.begin_epoch(
            epoch,
            state.config.schedule.epochs,
            self.batches * batch_size,
            self.resumed_at * batch_size,
        );
        state.batches_done..self.batches
    }

    /// Trains on batch `b` of `epoch`: D's step, G's step when due (`--d-steps`), G's
    /// moving average, the logs. Fails, with the last checkpoint untouched, when a loss is
    /// not finite.
    pub fn iteration(&mut self, epoch: usize, b: usize) -> anyhow::Result<()> {
        let (state, device) = (&mut self.state, self.device);
        let recipe = &state.config.recipe;
        let real = self.batcher.batch(b, device);
        // A conditional run draws its images for the real batch's classes.
        let labels = recipe.conditional.map(|_| self.batcher.labels(b, device));
        // The whole batch's noise and augmentation, as one process draws them; this
        // process's slice of them.
        let noise = uniform_noise(recipe.batch_size, recipe.noise_dim, &mut state.rng);
        let noise = distributed::slice(noise.to_tensor(device));
        let augment = (!recipe.augment.is_empty()).then(|| {
            let side = self.arch.image_size;
            IterationAugment::draw(&recipe.augment, recipe.batch_size, side, &mut state.rng)
                .rows(distributed::rows(recipe.batch_size))
        });
        let inspect = self
            .log
            .as_ref()
            .is_some_and(|log| log.wants_gradients(state));
        // With --d-steps k, G steps after every k-th D step.
        let train_g = (state.d_step + 1).is_multiple_of(recipe.d_steps as u64);
        let gan = self
            .gan
            .take()
            .expect("the networks are back after each iteration");
        let (mut gan, step, gradients) = train_iteration(
            gan,
            (real, labels),
            (noise, augment),
            self.settings,
            (train_g, inspect),
        );
        state.d_step += 1;
        if train_g {
            if let Some(decay) = recipe.ema {
                let average = gan.ema.take().expect("a run with --ema keeps an average");
                gan.ema = Some(ema::update(average, &gan.generator, decay, state.g_step));
            }
            state.g_step += 1;
        }
        state.batches_done = b + 1;
        let StepLosses { loss_d, loss_g, .. } = step;
        for (name, loss) in [("discriminator", loss_d), ("generator", loss_g)] {
            if !loss.is_finite() {
                self.report.abandon();
                bail!(
                    "training diverged: the {name}'s loss is {loss} at step {} (epoch \
                     {epoch}). The last checkpoint in {} is untouched; try a lower --lr.",
                    state.d_step,
                    self.out.display()
                );
            }
        }
        state.epoch_loss_sums.0 += f64::from(loss_d);
        state.epoch_loss_sums.1 += f64::from(loss_g);
        if let Some(log) = &mut self.log {
            log.step(state, epoch, &step, gradients, &gan)?;
        }
        if state.d_step.is_multiple_of(distributed::COMPARE_EVERY) {
            distributed::compare_weights(&gan, state.d_step)?;
        }
        self.gan = Some(gan);
        let batch_size = state.config.recipe.batch_size;
        self.report.step(loss_d, loss_g, batch_size);
        Ok(())
    }

    /// Saves a checkpoint within the epoch when `--checkpoint-every` says it is due.
    pub fn checkpoint_if_due(&mut self) -> anyhow::Result<()> {
        self.since_checkpoint.0 += 1;
        let (steps, since) = self.since_checkpoint;
        if self
            .state
            .config
            .schedule
            .checkpoint_every
            .due(steps, since.elapsed())
        {
            self.save(None)?;
        }
        Ok(())
    }

    /// Ends `epoch`: its line, its picture when due, a check that the weights are finite,
    /// its evaluation when due, its checkpoint, and the best one's copy.
    pub fn end_epoch(&mut self, epoch: usize) -> anyhow::Result<()> {
        let (sum_d, sum_g) = self.state.epoch_loss_sums;
        let batches = self.batches as f64;
        let images = (self.batches - self.resumed_at) * self.state.config.recipe.batch_size;
        self.report
            .end_epoch(epoch, (sum_d / batches, sum_g / batches), images);
        let schedule = &self.state.config.schedule;
        let last = epoch + 1 == schedule.epochs;
        let picture_due = epoch == 0 || (epoch + 1).is_multiple_of(schedule.sample_every) || last;
        if picture_due {
            self.picture(epoch)?;
        }
        let gan = self.gan();
        if !all_finite(&gan.generator) || !all_finite(&gan.discriminator) {
            bail!(
                "training diverged: a weight became NaN or infinite in epoch {epoch}. The last \
                 checkpoint in {} is untouched; try a lower --lr.",
                self.out.display()
            );
        }
        let new_best = self.evaluate(epoch, last)?;
        let state = &mut self.state;
        state.epochs_done = epoch + 1;
        state.batches_done = 0;
        state.epoch_loss_sums = (0.0, 0.0);
        self.save(picture_due.then_some(epoch))?;
        if new_best {
            keep_as_best(self.out)?;
        }
        Ok(())
    }

    /// Draws the picture of `epoch` into `samples/` and the TensorBoard log (in the process
    /// that writes).
    fn picture(&mut self, epoch: usize) -> anyhow::Result<()> {
        let Some(log) = &mut self.log else {
            return Ok(());
        };
        let path = run_dir::PICTURES.path(self.out, epoch);
        let gan = self
            .gan
            .as_ref()
            .expect("the networks are back after each iteration");
        let picture = sample_picture(gan, &self.state, self.device);
        let (png, size) = picture.save_png(&path, 2)?;
        log.picture(self.state.d_step, &png, size, picture.channels)
    }

    /// Scores the generator when due; true when its FID is the best so far. An evaluation
    /// that cannot score (a generator drawing NaN) is skipped with a warning: the run goes
    /// on, and its checkpoint is written as usual.
    fn evaluate(&mut self, epoch: usize, last: bool) -> anyhow::Result<bool> {
        let Some(evaluator) = self.evaluator.as_ref().filter(|e| e.due(epoch, last)) else {
            return Ok(false);
        };
        let scores = match evaluator.score(&self.state, self.gan()) {
            Ok(scores) => scores,
            Err(err) => {
                self.report
                    .warn(&format!("epoch {epoch} was not evaluated: {err:#}"));
                return Ok(false);
            }
        };
        let new_best = is_new_best(&mut self.state, &scores);
        self.report.eval(&scores, new_best);
        if let Some(log) = &mut self.log {
            log.eval(self.state.d_step, epoch, &scores)?;
        }
        Ok(new_best)
    }

    /// True when a stop was asked for: here, or in a run on several processes on any of
    /// them, so that all stop after the same step.
    pub fn stop_requested(&self, stop: &crate::interrupt::StopFlag) -> bool {
        world().any(stop.is_requested())
    }

    /// Stops the run where it stands: a checkpoint, and how to continue.
    pub fn stop(&mut self) -> anyhow::Result<Outcome> {
        self.report.abandon();
        if self.state.batches_done > 0 {
            self.save(None)?;
        }
        self.report.stopped(&self.state, self.out);
        Ok(Outcome::Stopped)
    }

    /// Ends a finished run: its report's pictures, and where everything is.
    pub fn finish(self) -> anyhow::Result<Outcome> {
        if !self.writes() {
            return Ok(Outcome::Finished);
        }
        let report = crate::report::write_report(self.out)?;
        crate::tell!(
            "done: {} epochs; checkpoint {}, generator {}",
            self.state.epochs_done,
            self.out.join(run_dir::CHECKPOINT).display(),
            self.out.join(run_dir::GENERATOR).display()
        );
        for path in report.written() {
            crate::tell!("wrote {}", path.display());
        }
        Ok(Outcome::Finished)
    }

    /// Writes the checkpoint and the generator's weights (in the process that writes). With `timeline_epoch` (an
    /// epoch's end whose picture was drawn), the generator goes first to
    /// `generators/epoch_NNN.safetensors`, the run's timeline that `dcgan serve` draws: a
    /// crash before the checkpoint leaves that epoch to be trained again, and its file
    /// written again.
    fn save(&mut self, timeline_epoch: Option<usize>) -> anyhow::Result<()> {
        if !self.writes() {
            return Ok(());
        }
        let (out, state, gan) = (self.out, &self.state, self.gan());
        let config = &state.config;
        let training = config.training_summary();
        let about = weights::Description {
            conditional: config
                .recipe
                .conditional
                .map(|c| (c, config.recipe.classes.as_slice())),
            epoch: state.epochs_done,
            debiased: config.recipe.debias_moving_averages,
            ema: config.recipe.ema,
            training: Some(&training),
        };
        // The moving statistics' pending update first, as the checkpoint takes them.
        gan.generator.sync_batch_norms();
        let generator = state.inference_generator(gan);
        if let Some(epoch) = timeline_epoch {
            let folder = out.join(run_dir::GENERATORS);
            std::fs::create_dir_all(&folder)
                .with_context(|| format!("cannot create {}", folder.display()))?;
            let path = run_dir::EPOCH_GENERATORS.path(out, epoch);
            weights::save_generator(&generator, &about, &path)?;
        }
        checkpoint::save(out, state, gan)?;
        weights::save_generator(&generator, &about, &out.join(run_dir::GENERATOR))?;
        self.since_checkpoint = (0, Instant::now());
        Ok(())
    }
}

/// Creates the run directory. A new run in a used one (`--force`) first removes what the
/// old run left: its epochs must not mix with ours, and a resume before our first
/// checkpoint must not take its weights.
fn prepare_directory(out: &Path, fresh: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(out.join(run_dir::SAMPLES))
        .with_context(|| format!("cannot create output directory {}", out.display()))?;
    if !fresh {
        return Ok(());
    }
    run_dir::PICTURES.remove_all(out)?;
    run_dir::EPOCH_GENERATORS.remove_all(out)?;
    let names = [
        run_dir::CHECKPOINT,
        run_dir::PREVIOUS_CHECKPOINT,
        BEST_CHECKPOINT,
        BEST_GENERATOR,
    ];
    for name in names {
        let path = out.join(name);
        match std::fs::remove_file(&path) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                return Err(err).with_context(|| format!("cannot remove {}", path.display()));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The most classes a conditional run's picture shows, one row each.
const PICTURE_CLASSES: usize = 20;

/// The seed's picture: ten samples from the run's fixed noise above a ten-step
/// interpolation, with BatchNorm on its moving averages (corrected for their start unless
/// the run keeps TensorFlow's). A conditional run's picture has one row per class (the
/// first [`PICTURE_CLASSES`]), the same ten noise vectors in every row.
fn sample_picture(gan: &Gan, state: &RunState, device: &Device) -> ImageGrid {
    let g = state.inference_generator(gan);
    let inference = device.clone().without_autodiff();
    let samples = state.fixed_samples.to_tensor(&inference);
    if g.classes() > 0 {
        let rows = g.classes().min(PICTURE_CLASSES);
        let classes: Vec<usize> = (0..rows)
            .flat_map(|class| std::iter::repeat_n(class, SAMPLE_COLUMNS))
            .collect();
        let images = g.forward(
            samples.repeat_dim(0, rows),
            Some(labels(&classes, &inference)),
        );
        return images_from_tensor(images, SAMPLE_COLUMNS);
    }
    let path = g.forward(state.fixed_path.to_tensor(&inference), None);
    images_from_tensor(g.forward(samples, None), SAMPLE_COLUMNS)
        .stack(images_from_tensor(path, SAMPLE_COLUMNS))
}
