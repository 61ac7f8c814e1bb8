//! The training loop, top to bottom: per epoch, shuffle; per batch, a D step then a G step
//! on the same noise, as in the seed; then a summary line, a picture when due, a
//! checkpoint and the generator's weights.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use burn::tensor::Device;

use super::augment::IterationAugment;
use super::checkpoint;
use super::evaluation::{
    BEST_CHECKPOINT, BEST_GENERATOR, TrainingEvaluator, is_new_best, keep_as_best,
};
use super::log::TrainingLog;
use super::state::{Gan, RunState, SAMPLE_COLUMNS};
use super::step::{StepLosses, all_finite, train_iteration};
use super::{TrainConfig, ema};
use crate::data::{Batcher, DataSource, Dataset, LocateOptions, Split, locate};
use crate::interrupt::StopFlag;
use crate::logging::progress;
use crate::model::Conditioning;
use crate::model::conditioning::labels;
use crate::picture::{ImageGrid, images_from_tensor, uniform_noise};
use crate::run_files;
use crate::weights;

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

/// Trains until `state.config.epochs` epochs are done, writing everything into `out`.
///
/// When `stop` is requested, training ends after the current step with a checkpoint from
/// which `--resume` continues exactly.
pub fn train(
    start: Start,
    out: &Path,
    device: &Device,
    stop: &StopFlag,
) -> anyhow::Result<Outcome> {
    let fresh = matches!(start, Start::Fresh { .. });
    let (mut state, mut gan, dataset) = match start {
        Start::Fresh {
            mut config,
            dataset_explicit,
        } => {
            let data = load_data(&config, dataset_explicit)?;
            if let Some(conditioning) = config.conditional {
                config.classes = classes_to_condition_on(&data, conditioning)?;
            }
            let (mut state, gan) = RunState::start(config, device);
            state.embedded_data = data.source == DataSource::Embedded;
            state.data_identity = data.identity;
            (state, gan, data.dataset)
        }
        Start::Resume(loaded) => {
            let (mut state, gan) = *loaded;
            let data = load_data(&state.config, !state.embedded_data)?;
            check_same_data(&state, &data)?;
            state.data_identity = data.identity;
            (state, gan, data.dataset)
        }
    };
    let config = state.config.clone();
    crate::tell!("model: {}", config.architecture()?.describe());
    let mut batcher = Batcher::new(&dataset, config.batch_size);
    let batches = batcher
        .batches_per_epoch()
        .min(config.limit_batches.unwrap_or(usize::MAX));
    if batches == 0 {
        bail!(
            "--batch-size {} is larger than the data set ({} images)",
            config.batch_size,
            dataset.len
        );
    }
    let evaluator = TrainingEvaluator::prepare(&config, state.embedded_data, device)?;
    // Nothing is written or removed before every check has passed.
    std::fs::create_dir_all(out.join(run_files::SAMPLES))
        .with_context(|| format!("cannot create output directory {}", out.display()))?;
    if fresh {
        // `--force` starts over in a run's directory: its old epochs must not mix with ours,
        // and a resume before our first checkpoint must not take its weights.
        run_files::PICTURES.remove_all(out)?;
        run_files::EPOCH_GENERATORS.remove_all(out)?;
        for name in [checkpoint::LATEST, BEST_CHECKPOINT, BEST_GENERATOR] {
            let path = out.join(name);
            match std::fs::remove_file(&path) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                    return Err(err).with_context(|| format!("cannot remove {}", path.display()));
                }
                _ => {}
            }
        }
    }
    crate::atomic_file::write(&out.join("config.toml"), config.to_toml().as_bytes())
        .context("cannot write config.toml")?;
    let mut log = TrainingLog::open(out, &state, &gan)?;
    let settings = config.step_settings();
    // Only a cross-entropy D loss falls to 0 when D wins.
    let mut d_wins = config.loss.is_cross_entropy().then(DWinsWatch::default);
    // Steps and time since the last checkpoint, for `--checkpoint-every`.
    let mut since_checkpoint = (0u64, Instant::now());

    for epoch in state.epochs_done..config.epochs {
        let started = Instant::now();
        // The epoch's order comes from the RNG as it stood when the epoch began; a run
        // resumed mid-epoch replays that shuffle on a copy and goes on with the RNG it saved.
        if state.batches_done == 0 {
            state.epoch_rng = state.rng.clone();
            batcher.shuffle(&mut state.rng);
        } else {
            batcher.shuffle(&mut state.epoch_rng.clone());
        }
        let resumed_at = state.batches_done;
        let bar = progress::epoch_bar((batches * config.batch_size) as u64, epoch, config.epochs);
        bar.inc((resumed_at * config.batch_size) as u64);
        for b in state.batches_done..batches {
            let real = batcher.batch(b, device);
            // A conditional run draws its images for the real batch's classes.
            let labels = config.conditional.map(|_| batcher.labels(b, device));
            let noise = uniform_noise(config.batch_size, config.noise_dim, &mut state.rng)
                .to_tensor(device);
            let augment = (!config.augment.is_empty()).then(|| {
                let side = dataset.height;
                IterationAugment::draw(&config.augment, config.batch_size, side, &mut state.rng)
            });
            let inspect = log.wants_gradients(&state);
            // With --d-steps k, G steps after every k-th D step.
            let train_g = (state.d_step + 1).is_multiple_of(config.d_steps as u64);
            let (next, step, gradients) = train_iteration(
                gan,
                (real, labels),
                (noise, augment),
                settings,
                (train_g, inspect),
            );
            let StepLosses { loss_d, loss_g, .. } = step;
            gan = next;
            state.d_step += 1;
            if train_g {
                if let Some(decay) = config.ema {
                    let average = gan.ema.take().expect("a run with --ema keeps an average");
                    gan.ema = Some(ema::update(average, &gan.generator, decay, state.g_step));
                }
                state.g_step += 1;
            }
            state.batches_done = b + 1;

            for (name, loss) in [("discriminator", loss_d), ("generator", loss_g)] {
                if !loss.is_finite() {
                    bar.abandon();
                    bail!(
                        "training diverged: the {name}'s loss is {loss} at step {} (epoch {epoch}). \
                         The last checkpoint in {} is untouched; try a lower --lr.",
                        state.d_step,
                        out.display()
                    );
                }
            }
            state.epoch_loss_sums.0 += f64::from(loss_d);
            state.epoch_loss_sums.1 += f64::from(loss_g);
            log.step(&state, epoch, &step, gradients, &gan)?;
            if let Some(warning) = d_wins.as_mut().and_then(|watch| watch.observe(loss_d)) {
                bar.println(warning);
            }
            bar.set_message(format!("D {loss_d:.4}  G {loss_g:.4}"));
            bar.inc(config.batch_size as u64);
            // Within the epoch: stop when asked, and save when due (the epoch's end saves
            // anyway).
            if b + 1 < batches {
                if stop.is_requested() {
                    bar.abandon();
                    save(out, &state, &gan, None)?;
                    return Ok(stopped(out, &state));
                }
                since_checkpoint.0 += 1;
                let (steps, time) = since_checkpoint;
                if config.checkpoint_every.due(steps, time.elapsed()) {
                    save(out, &state, &gan, None)?;
                    since_checkpoint = (0, Instant::now());
                }
            }
        }
        bar.finish_and_clear();
        let secs = started.elapsed().as_secs_f64();
        let (sum_d, sum_g) = state.epoch_loss_sums;
        crate::tell!(
            "epoch {epoch:04}  D loss {:.4}  G loss {:.4}  {:.1} s  {:.0} img/s",
            sum_d / batches as f64,
            sum_g / batches as f64,
            secs,
            ((batches - resumed_at) * config.batch_size) as f64 / secs
        );

        let last = epoch + 1 == config.epochs;
        let picture_due = epoch == 0 || (epoch + 1) % config.sample_every == 0 || last;
        if picture_due {
            let path = run_files::PICTURES.path(out, epoch);
            let picture = sample_picture(&gan, &state, device);
            let (png, size) = picture.save_png(&path, 2)?;
            log.picture(state.d_step, &png, size, picture.channels)?;
        }
        if !all_finite(&gan.generator) || !all_finite(&gan.discriminator) {
            bail!(
                "training diverged: a weight became NaN or infinite in epoch {epoch}. The last \
                 checkpoint in {} is untouched; try a lower --lr.",
                out.display()
            );
        }
        let mut new_best = false;
        // An evaluation that cannot score (a generator drawing NaN) is skipped with a
        // warning: the run goes on, and its checkpoint is written as usual.
        let scores = evaluator
            .as_ref()
            .filter(|e| e.due(epoch, last))
            .and_then(|e| match e.score(&state, &gan) {
                Ok(scores) => Some(scores),
                Err(err) => {
                    eprintln!("warning: epoch {epoch} was not evaluated: {err:#}");
                    None
                }
            });
        if let Some(scores) = scores {
            new_best = is_new_best(&mut state, &scores);
            let accuracy = scores.class_accuracy.as_ref().map_or(String::new(), |a| {
                format!("  class accuracy {:.2} %", a.overall * 100.0)
            });
            let is = scores
                .inception_score
                .as_ref()
                .map_or(String::new(), |is| format!("  IS {:.3}", is.mean));
            let classes = scores.modes.as_ref().map_or(String::new(), |m| {
                format!("  classes {}", m.classes_present)
            });
            crate::tell!(
                "  eval: FID {:.3}  KID {:.5}{is}  precision {:.3}  recall {:.3}{classes}{accuracy}{}",
                scores.fid,
                scores.kid.mean,
                scores.precision_recall.precision,
                scores.precision_recall.recall,
                if new_best { "  (best so far)" } else { "" }
            );
            log.eval(state.d_step, epoch, &scores)?;
        }
        state.epochs_done = epoch + 1;
        state.batches_done = 0;
        state.epoch_loss_sums = (0.0, 0.0);
        save(out, &state, &gan, picture_due.then_some(epoch))?;
        since_checkpoint = (0, Instant::now());
        if new_best {
            keep_as_best(out)?;
        }
        if stop.is_requested() && !last {
            return Ok(stopped(out, &state));
        }
    }
    let report = crate::report::write_report(out)?;
    crate::tell!(
        "done: {} epochs; checkpoint {}, generator {}",
        state.epochs_done,
        out.join(checkpoint::LATEST).display(),
        out.join("generator.safetensors").display()
    );
    for path in report.written() {
        crate::tell!("wrote {}", path.display());
    }
    Ok(Outcome::Finished)
}

/// A run's data set, where it came from, and for a folder its identity (the cache key).
struct RunData {
    dataset: Dataset,
    source: DataSource,
    identity: Option<String>,
}

/// Finds the run's data set at the size and channels of its networks, and says where it
/// came from.
fn load_data(config: &TrainConfig, explicit: bool) -> anyhow::Result<RunData> {
    let arch = config.unconditional_architecture()?;
    let options = LocateOptions {
        data_dir: config.data_dir.clone(),
        explicit,
        image_size: Some(arch.image_size),
        channels: Some(arch.channels),
        background: config.background,
    };
    let (dataset, source) = locate(config.dataset, Split::Train, &options)?;
    let data = match &source {
        DataSource::Embedded => "note: the full MNIST set was not found, so this run uses the \
             embedded 10,000-image subset. For all 60,000 images pass --data-dir DIR (a \
             directory with the IDX files), or run once with internet access to download them."
            .to_string(),
        DataSource::Directory(dir) => {
            format!("data: {} images from {}", dataset.len, dir.display())
        }
        DataSource::Folder(folder) => format!(
            "data: {} images from {}{}",
            dataset.len,
            folder.dir.display(),
            match (&folder.cache, folder.from_cache) {
                (Some(cache), true) => format!(" (cached in {})", cache.display()),
                _ => String::new(),
            }
        ),
        DataSource::Generated => format!("data: {} random images (--dataset fake)", dataset.len),
    };
    crate::tell!("{data}");
    let mut identity = None;
    if let DataSource::Folder(folder) = &source {
        if folder.skipped > 0 {
            crate::tell!(
                "note: {} of the folder's {} image files could not be read and are left out",
                folder.skipped,
                folder.files
            );
        }
        // The cache file's name is the folder's identity; without a cache directory, the
        // number of images is the best there is.
        identity = Some(match &folder.cache {
            Some(cache) => cache
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into(),
            None => format!("{} images", dataset.len),
        });
    }
    let shape = (dataset.channels, dataset.height, dataset.width);
    if shape != (arch.channels, arch.image_size, arch.image_size) {
        bail!(
            "the model needs {side}×{side} images with {} channel(s), the data set has {}×{} \
             with {}",
            arch.channels,
            shape.1,
            shape.2,
            shape.0,
            side = arch.image_size
        );
    }
    Ok(RunData {
        dataset,
        source,
        identity,
    })
}

/// The class names a conditional run learns: the data set's, which must have at least two.
fn classes_to_condition_on(
    data: &RunData,
    conditioning: Conditioning,
) -> anyhow::Result<Vec<String>> {
    let classes = &data.dataset.classes;
    if classes.len() < 2 {
        let place = match &data.source {
            DataSource::Folder(folder) => format!(
                "the folder {} has no class sub-folders (put each class's images in a \
                 sub-folder of its own, named after the class)",
                folder.dir.display()
            ),
            _ => "this data set has no class labels".to_string(),
        };
        bail!(
            "--conditional {} trains on the images' classes, but {place}; or drop \
             --conditional",
            conditioning.name()
        );
    }
    Ok(classes.clone())
}

/// Refuses to resume on other data than the run began with: a changed folder, or other
/// classes for a conditional run.
fn check_same_data(state: &RunState, data: &RunData) -> anyhow::Result<()> {
    if let (Some(recorded), Some(now), DataSource::Folder(folder)) =
        (&state.data_identity, &data.identity, &data.source)
        && recorded != now
    {
        bail!(
            "the folder {} changed since this run began (files added, removed or \
             modified, or other options): resuming would train on other images. Restore \
             it, or start a new run (--force or another --out)",
            folder.dir.display()
        );
    }
    let config = &state.config;
    if config.conditional.is_some() && data.dataset.classes != config.classes {
        bail!(
            "the data set's classes ({}) are not the run's ({}): resuming would teach other \
             classes. Restore the data, or start a new run (--force or another --out)",
            data.dataset.classes.join(", "),
            config.classes.join(", ")
        );
    }
    Ok(())
}

/// Writes the checkpoint and the generator's weights. With `timeline_epoch` (an epoch's
/// end whose picture was drawn), the generator goes first to
/// `generators/epoch_NNN.safetensors`, the run's timeline that `dcgan serve` draws: a crash
/// before the checkpoint leaves that epoch to be trained again, and its file written again.
fn save(
    out: &Path,
    state: &RunState,
    gan: &Gan,
    timeline_epoch: Option<usize>,
) -> anyhow::Result<()> {
    let config = &state.config;
    let training = config.training_summary();
    let about = weights::Description {
        conditional: config.conditional.map(|c| (c, config.classes.as_slice())),
        epoch: state.epochs_done,
        debiased: config.debias_moving_averages,
        ema: config.ema,
        training: Some(&training),
    };
    // The moving statistics' pending update first, as the checkpoint takes them.
    gan.generator.sync_batch_norms();
    let generator = state.inference_generator(gan);
    if let Some(epoch) = timeline_epoch {
        let folder = out.join(run_files::GENERATORS);
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
        let path = run_files::EPOCH_GENERATORS.path(out, epoch);
        weights::save_generator(&generator, &about, &path)?;
    }
    checkpoint::save(out, state, gan)?;
    weights::save_generator(&generator, &about, &out.join("generator.safetensors"))
}

/// Tells the user where the stopped run stands and how to continue it.
fn stopped(out: &Path, state: &RunState) -> Outcome {
    crate::tell!(
        "stopped after step {} (epoch {}, batch {}); checkpoint saved. Continue with:\n  dcgan train --out {} --resume",
        state.d_step,
        state.epochs_done,
        state.batches_done,
        out.display()
    );
    Outcome::Stopped
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

/// Notices when the discriminator has won: its loss near zero for many steps in a row.
#[derive(Default)]
struct DWinsWatch {
    steps: usize,
    warned: bool,
}

impl DWinsWatch {
    /// D's loss below this ...
    const LOSS: f32 = 0.01;
    /// ... for this many steps in a row means D has won.
    const STEPS: usize = 100;

    /// Records D's loss; returns the warning, once, when D has won.
    fn observe(&mut self, loss_d: f32) -> Option<String> {
        self.steps = if loss_d < Self::LOSS {
            self.steps + 1
        } else {
            0
        };
        if self.steps < Self::STEPS || self.warned {
            return None;
        }
        self.warned = true;
        Some(format!(
            "warning: D's loss has stayed below {} for {} steps: the discriminator wins and G \
             gets almost no gradient, so samples will stay blank. Likely cause: a learning rate \
             or β1 too high for D (the seed's lr 1e-3, β1 0.9). Try --lr 0.0002 --beta1 0.5 \
             (the defaults).",
            Self::LOSS,
            Self::STEPS
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::DWinsWatch;

    #[test]
    fn warns_once_after_a_long_run_of_tiny_d_losses() {
        let mut watch = DWinsWatch::default();
        for _ in 0..99 {
            assert!(watch.observe(0.001).is_none());
        }
        // A normal loss resets the count.
        assert!(watch.observe(0.5).is_none());
        for _ in 0..99 {
            assert!(watch.observe(0.001).is_none());
        }
        let warning = watch.observe(0.001).expect("warns at the 100th step");
        assert!(warning.contains("--lr 0.0002 --beta1 0.5"));
        assert!((0..500).all(|_| watch.observe(0.0).is_none()), "only once");
    }
}
