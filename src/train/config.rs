//! The configuration of a training run: defaults, the seed preset, a TOML file, flags.
//!
//! Later sources override earlier ones: built-in defaults, `--config FILE.toml`,
//! `--preset`, then individual flags. The effective configuration is saved with the run
//! (`OUT/config.toml`) and inside every checkpoint.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use super::augment::Augmentation;
use super::checkpoint_every::CheckpointEvery;
use super::loss::Loss;
use super::step::StepSettings;
use crate::data::{Background, DatasetKind};
use crate::device::DeviceKind;
use crate::kernels::precision::Precision;
use crate::model::{Architecture, Conditioning, Family};
use crate::optim::AdamSettings;

/// Everything that defines a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// The data set to learn.
    pub dataset: DatasetKind,
    /// Directory holding the data set's IDX files; searched alone when set.
    pub data_dir: Option<PathBuf>,
    /// Passes over the training set.
    pub epochs: usize,
    /// Images per batch, for both networks.
    pub batch_size: usize,
    /// Length of the generator's noise vector.
    pub noise_dim: usize,
    /// Side of the square images: 28 for the seed's model, or a power of two from 16 to
    /// 256 for the DCGAN paper's family; unset, the data set's own (28 for MNIST-like sets,
    /// 32 for CIFAR-10, 64 for folders).
    pub image_size: Option<usize>,
    /// Channels of the images, 1 (grey) or 3 (RGB); unset, the data set's own.
    pub channels: Option<usize>,
    /// The paper family's generator width (PyTorch's `ngf`); unset, 64.
    pub g_width: Option<usize>,
    /// The paper family's discriminator width (PyTorch's `ndf`); unset, 64.
    pub d_width: Option<usize>,
    /// What transparent pixels of a folder's images are laid on.
    pub background: Background,
    /// Train a conditional GAN on the data set's labels, telling D the class this way;
    /// unset, an unconditional one.
    pub conditional: Option<Conditioning>,
    /// The class names of a conditional run, by label: the data set's, filled in when the
    /// run starts.
    pub classes: Vec<String>,
    /// The adversarial loss.
    pub loss: Loss,
    /// D steps per G step (`--d-steps`): G steps after every this many iterations.
    pub d_steps: usize,
    /// The Wasserstein loss's clipping of D's parameters to `[−c, c]` (`--weight-clip`).
    pub weight_clip: f64,
    /// DiffAugment's transformations of every image D sees (`--augment`); empty for none.
    pub augment: Vec<Augmentation>,
    /// Divide D's weight matrices by their largest singular value (`--spectral-norm`).
    pub spectral_norm: bool,
    /// Keep an exponential moving average of G's weights with this decay (`--ema`), which
    /// sampling, evaluation and `generator.safetensors` then use; unset, none.
    pub ema: Option<f64>,
    /// The two Adam optimisers (one per network, same settings but for the learning rates
    /// when `lr_g` or `lr_d` is set).
    pub optimizer: AdamSettings,
    /// Seed of every random choice: initial weights, noise, shuffling.
    pub seed: u64,
    /// Save a sample picture at epoch 0 and every this many epochs.
    pub sample_every: usize,
    /// Cap on batches per epoch, for quick runs.
    pub limit_batches: Option<usize>,
    /// Write TensorBoard scalars every this many steps.
    pub log_every: usize,
    /// Write histograms of weights and gradients every this many steps; 0 for never.
    pub histogram_every: usize,
    /// Where to compute.
    pub device: DeviceKind,
    /// Number format of the convolutions' matrix products on the CPU (f32, or bf16 with
    /// f32 sums where the CPU has AVX512-BF16).
    pub precision: Precision,
    /// Score the generator every this many epochs (and after the last); 0 for never.
    pub eval_every: usize,
    /// Images generated for each of those evaluations.
    pub eval_n: usize,
    /// The evaluation classifier; the data set's default file when unset.
    pub classifier: Option<PathBuf>,
    /// Sample and evaluate with BatchNorm's moving averages corrected for their start
    /// (mean 0, variance 1), so the first epochs' pictures are not black; `false` keeps
    /// TensorFlow's plain averages, as the seed (`--preset seed`). Training is the same
    /// either way: only inference reads the averages.
    pub debias_moving_averages: bool,
    /// Checkpoints within an epoch: every so many steps or so much time (besides the one
    /// at each epoch's end). Saving does not change the run's results.
    pub checkpoint_every: CheckpointEvery,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            dataset: DatasetKind::Mnist,
            data_dir: None,
            epochs: 100,
            batch_size: 100,
            noise_dim: 100,
            image_size: None,
            channels: None,
            g_width: None,
            d_width: None,
            background: Background::default(),
            conditional: None,
            classes: Vec::new(),
            loss: Loss::default(),
            d_steps: 1,
            weight_clip: 0.01,
            spectral_norm: false,
            augment: Vec::new(),
            ema: None,
            optimizer: AdamSettings::default(),
            seed: 0,
            sample_every: 5,
            limit_batches: None,
            log_every: 10,
            histogram_every: 100,
            device: DeviceKind::Cpu,
            precision: Precision::F32,
            eval_every: 0,
            eval_n: 2000,
            classifier: None,
            debias_moving_averages: true,
            checkpoint_every: CheckpointEvery::default(),
        }
    }
}

/// Named sets of settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// The seed tutorial exactly: TF's Adam defaults, lr 1e-3 and β1 0.9, and TF's plain
    /// BatchNorm moving averages when sampling. Measured with a faithful port, these let D
    /// win within the first epoch and G draw blank images.
    Seed,
    /// The DCGAN paper's Adam, lr 2e-4 and β1 0.5: dcgan's defaults.
    Paper,
}

impl Preset {
    /// Applies the preset to `config`.
    pub fn apply(self, config: &mut TrainConfig) {
        config.optimizer = match self {
            Preset::Seed => AdamSettings {
                lr: 1e-3,
                beta1: 0.9,
                ..AdamSettings::default()
            },
            Preset::Paper => AdamSettings::default(),
        };
        // Both the seed and the paper train with the non-saturating cross-entropy.
        config.loss = Loss::NonSaturating;
        config.debias_moving_averages = self == Preset::Paper;
    }
}

impl TrainConfig {
    /// Reads a (possibly partial) configuration from TOML; unknown keys are errors.
    pub fn from_toml_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("config file {} is invalid", path.display()))
    }

    /// The configuration as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a TrainConfig always serialises")
    }

    /// The loss and the two learning rates of every training step.
    pub fn step_settings(&self) -> StepSettings {
        let adam = &self.optimizer;
        StepSettings {
            loss: self.loss,
            lr_d: adam.lr_d.unwrap_or(adam.lr),
            lr_g: adam.lr_g.unwrap_or(adam.lr),
            weight_clip: (self.loss == Loss::Wasserstein).then_some(self.weight_clip),
        }
    }

    /// How the run trains, as one line of JSON for the generator file: the loss, the
    /// learning rates and Adam's β1, D's steps, weight clipping, spectral norm,
    /// augmentation, the moving average and the conditioning.
    pub fn training_summary(&self) -> String {
        let rates = self.step_settings();
        serde_json::json!({
            "loss": self.loss,
            "lr_g": rates.lr_g,
            "lr_d": rates.lr_d,
            "beta1": self.optimizer.beta1,
            "d_steps": self.d_steps,
            "weight_clip": rates.weight_clip,
            "spectral_norm": self.spectral_norm,
            "augment": self.augment,
            "ema": self.ema,
            "conditional": self.conditional,
            "epochs_planned": self.epochs,
            "batch_size": self.batch_size,
            "seed": self.seed,
        })
        .to_string()
    }

    /// The run's networks: the sizes set, else the data set's own; conditional on the
    /// run's classes when `conditional` is set (an error until they are known).
    pub fn architecture(&self) -> anyhow::Result<Architecture> {
        let sizes = self.unconditional_architecture()?;
        match self.conditional {
            Some(conditioning) => sizes.with_conditioning(conditioning, self.classes.len()),
            None => Ok(sizes),
        }
    }

    /// The run's networks without conditioning: what the flags alone determine, before the
    /// data set's classes are known.
    pub fn unconditional_architecture(&self) -> anyhow::Result<Architecture> {
        Architecture::new(
            self.image_size.unwrap_or(self.dataset.default_image_size()),
            self.channels.unwrap_or(self.dataset.default_channels()),
            self.noise_dim,
            self.g_width,
            self.d_width,
        )
    }

    /// Writes the data set's defaults into the unset sizes, so that `config.toml` shows the
    /// networks the run trains.
    pub fn resolve(&mut self) -> anyhow::Result<()> {
        let arch = self.unconditional_architecture()?;
        self.image_size = Some(arch.image_size);
        self.channels = Some(arch.channels);
        if arch.family == Family::Paper {
            (self.g_width, self.d_width) = (Some(arch.g_width), Some(arch.d_width));
        }
        Ok(())
    }

    /// Checks every value, naming the flag of the first bad one.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.unconditional_architecture()?;
        let positive = [
            ("--epochs", self.epochs),
            ("--batch-size", self.batch_size),
            ("--noise-dim", self.noise_dim),
            ("--sample-every", self.sample_every),
            ("--log-every", self.log_every),
            ("--d-steps", self.d_steps),
        ];
        for (flag, value) in positive {
            if value == 0 {
                bail!("{flag} must be at least 1");
            }
        }
        let max_eval = crate::eval::MAX_EVAL_IMAGES;
        if self.eval_every > 0 && !(20..=max_eval).contains(&self.eval_n) {
            bail!(
                "--eval-n must be between 20 and {max_eval}, got {}",
                self.eval_n
            );
        }
        if self.limit_batches == Some(0) {
            bail!("--limit-batches must be at least 1");
        }
        let adam = &self.optimizer;
        let rates = [
            ("--lr", Some(adam.lr)),
            ("--lr-g", adam.lr_g),
            ("--lr-d", adam.lr_d),
        ];
        for (flag, lr) in rates {
            if let Some(lr) = lr.filter(|lr| !(lr.is_finite() && *lr > 0.0)) {
                bail!("{flag} must be a positive number, got {lr}");
            }
        }
        for (flag, beta) in [("--beta1", adam.beta1), ("beta2", adam.beta2)] {
            if !(0.0..1.0).contains(&beta) {
                bail!("{flag} must be in [0, 1), got {beta}");
            }
        }
        if !(self.weight_clip.is_finite() && self.weight_clip > 0.0) {
            bail!(
                "--weight-clip must be a positive number (the paper's 0.01), got {}",
                self.weight_clip
            );
        }
        if let Some(decay) = self.ema.filter(|d| !(*d > 0.0 && *d < 1.0)) {
            bail!("--ema must be a decay between 0 and 1 (e.g. 0.999), got {decay}");
        }
        if !(adam.epsilon.is_finite() && adam.epsilon > 0.0) {
            bail!("epsilon must be a positive number, got {}", adam.epsilon);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_seed_but_for_the_optimizer() {
        let c = TrainConfig::default();
        assert_eq!(
            (c.epochs, c.batch_size, c.noise_dim, c.sample_every),
            (100, 100, 100, 5)
        );
        assert_eq!((c.optimizer.lr, c.optimizer.beta1), (2e-4, 0.5));
        let mut seed = c.clone();
        Preset::Seed.apply(&mut seed);
        assert_eq!((seed.optimizer.lr, seed.optimizer.beta1), (1e-3, 0.9));
        assert_eq!(seed.optimizer.epsilon, 1e-8);
    }

    #[test]
    fn toml_round_trip_partial_files_and_unknown_keys() {
        let c = TrainConfig {
            limit_batches: Some(3),
            ..TrainConfig::default()
        };
        assert_eq!(toml::from_str::<TrainConfig>(&c.to_toml()).unwrap(), c);
        let partial: TrainConfig = toml::from_str("epochs = 3\n[optimizer]\nlr = 0.001\n").unwrap();
        assert_eq!(
            (
                partial.epochs,
                partial.optimizer.lr,
                partial.optimizer.beta1
            ),
            (3, 1e-3, 0.5)
        );
        let err = toml::from_str::<TrainConfig>("epochz = 3")
            .unwrap_err()
            .to_string();
        assert!(err.contains("epochz"), "{err}");
    }

    #[test]
    fn validation_names_the_flag() {
        let bad = |f: fn(&mut TrainConfig)| {
            let mut c = TrainConfig::default();
            f(&mut c);
            c.validate().unwrap_err().to_string()
        };
        assert!(bad(|c| c.batch_size = 0).contains("--batch-size"));
        assert!(bad(|c| c.optimizer.lr = f64::NAN).contains("--lr"));
        assert!(bad(|c| c.optimizer.lr = -1.0).contains("--lr"));
        assert!(bad(|c| c.optimizer.beta1 = 1.0).contains("--beta1"));
        assert!(bad(|c| c.optimizer.lr_g = Some(0.0)).contains("--lr-g"));
        assert!(bad(|c| c.optimizer.lr_d = Some(f64::INFINITY)).contains("--lr-d"));
        assert!(bad(|c| c.ema = Some(1.0)).contains("--ema"));
        assert!(bad(|c| c.d_steps = 0).contains("--d-steps"));
        assert!(bad(|c| c.weight_clip = -0.01).contains("--weight-clip"));
        assert!(bad(|c| c.ema = Some(f64::NAN)).contains("--ema"));
        assert!(TrainConfig::default().validate().is_ok());
    }
}
