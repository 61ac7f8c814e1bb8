//! The configuration of a training run: defaults, the seed preset, a TOML file, flags.
//!
//! Later sources override earlier ones: built-in defaults (for a new run whose command
//! names neither a preset nor a config file, the preset dcgan chooses, see
//! [`super::choices`]), `--config FILE.toml` (starting from the preset it names, if any),
//! `--preset`, then individual flags. The effective configuration is saved with the run
//! (`OUT/config.toml`) and inside every checkpoint.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::augment::Augmentation;
use super::checkpoint_every::CheckpointEvery;
use super::loss::Loss;
use super::preset::Preset;
use super::step::StepSettings;
use crate::data::{Background, DatasetKind};
use crate::device::DeviceKind;
use crate::kernels::precision::Precision;
use crate::model::{Architecture, Conditioning, Family};
use crate::optim::AdamSettings;

/// Everything that defines a training run: its [`Recipe`], which determines what the run
/// computes, and its [`Schedule`], which says for how long, where, and what it writes on
/// the way. `config.toml` and checkpoints keep both as one flat table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ConfigTable")]
pub struct TrainConfig {
    /// What determines the run's results; a resumed run keeps it.
    #[serde(flatten)]
    pub recipe: Recipe,
    /// How long, where and with what records the run trains; a resume takes it from the
    /// command.
    #[serde(flatten)]
    pub schedule: Schedule,
}

/// The settings that determine a run's results (its data, networks, losses, optimisers and
/// seed): two runs with equal recipes compute the same weights on the same data and CPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Recipe {
    /// The named recipe the run started from (`--preset`, or the one dcgan chose for a
    /// small folder); the settings below are what it trains with. Unset: dcgan's defaults.
    pub preset: Option<Preset>,
    /// The data set to learn.
    pub dataset: DatasetKind,
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
    /// In a run on several processes (`mpirun`), BatchNorm takes each process's slice of the
    /// batch alone (`--local-batch-norm`), as PyTorch-StudioGAN does without `-sync_bn`,
    /// instead of the whole batch; the same in one process.
    pub local_batch_norm: bool,
    /// Keep an exponential moving average of G's weights with this decay (`--ema`), which
    /// sampling, evaluation and `generator.safetensors` then use; unset, none.
    pub ema: Option<f64>,
    /// The two Adam optimisers (one per network, same settings but for the learning rates
    /// when `lr_g` or `lr_d` is set).
    pub optimizer: AdamSettings,
    /// Seed of every random choice: initial weights, noise, shuffling.
    pub seed: u64,
    /// Cap on batches per epoch, for quick runs.
    pub limit_batches: Option<usize>,
    /// Sample and evaluate with BatchNorm's moving averages corrected for their start
    /// (mean 0, variance 1), so the first epochs' pictures are not black; `false` keeps
    /// TensorFlow's plain averages, as the seed (`--preset seed`). Training is the same
    /// either way: only inference reads the averages.
    pub debias_moving_averages: bool,
}

/// The settings that leave a run's results as they are: its length, its cadences, where it
/// computes and finds its data, and how it is scored on the way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Schedule {
    /// Directory holding the data set's files; searched alone when set.
    pub data_dir: Option<PathBuf>,
    /// Passes over the training set.
    pub epochs: usize,
    /// Save a sample picture at epoch 0 and every this many epochs.
    pub sample_every: usize,
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
    /// Checkpoints within an epoch: every so many steps or so much time (besides the one
    /// at each epoch's end). Saving does not change the run's results.
    pub checkpoint_every: CheckpointEvery,
}

impl Default for Recipe {
    fn default() -> Self {
        Recipe {
            preset: None,
            dataset: DatasetKind::Mnist,
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
            local_batch_norm: false,
            augment: Vec::new(),
            ema: None,
            optimizer: AdamSettings::default(),
            seed: 0,
            limit_batches: None,
            debias_moving_averages: true,
        }
    }
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            data_dir: None,
            epochs: 100,
            sample_every: 5,
            log_every: 10,
            histogram_every: 100,
            device: DeviceKind::Cpu,
            precision: Precision::F32,
            eval_every: 0,
            eval_n: 2000,
            classifier: None,
            checkpoint_every: CheckpointEvery::default(),
        }
    }
}

/// A configuration as a file holds it: both parts, and whatever keys neither knows (an
/// error, so a misspelt setting is not silently ignored; serde's `deny_unknown_fields`
/// does not work with flattened parts).
#[derive(Deserialize)]
struct ConfigTable {
    #[serde(flatten)]
    recipe: Recipe,
    #[serde(flatten)]
    schedule: Schedule,
    #[serde(flatten)]
    unknown: std::collections::BTreeMap<String, serde::de::IgnoredAny>,
}

impl TryFrom<ConfigTable> for TrainConfig {
    type Error = String;

    fn try_from(table: ConfigTable) -> Result<Self, String> {
        if let Some(key) = table.unknown.keys().next() {
            return Err(format!("unknown setting `{key}`"));
        }
        Ok(TrainConfig {
            recipe: table.recipe,
            schedule: table.schedule,
        })
    }
}

/// A setting whose value differs between two recipes: its key (dotted for a nested table,
/// as `optimizer.beta2`) and both values as `config.toml` would show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The setting's key in `config.toml`.
    pub key: String,
    /// The first recipe's value.
    pub was: String,
    /// The second recipe's value.
    pub now: String,
}

impl Recipe {
    /// Every setting whose value differs in `other`, by key in alphabetical order: found by
    /// comparing the two recipes as data, so a new setting is compared without being named.
    pub fn differences(&self, other: &Recipe) -> Vec<Difference> {
        let (a, b) = (
            serde_json::to_value(self).expect("a Recipe always serialises"),
            serde_json::to_value(other).expect("a Recipe always serialises"),
        );
        let mut found = Vec::new();
        collect_differences("", &a, &b, &mut found);
        found
    }

    /// The networks as the settings alone determine them, before the data set's classes
    /// are known: the sizes set, else the data set's own.
    pub fn unconditional_architecture(&self) -> anyhow::Result<Architecture> {
        Architecture::new(
            self.image_size.unwrap_or(self.dataset.default_image_size()),
            self.channels.unwrap_or(self.dataset.default_channels()),
            self.noise_dim,
            self.g_width,
            self.d_width,
        )
    }

    /// The run's networks: conditional on the run's classes when `conditional` is set (an
    /// error until they are known).
    pub fn architecture(&self) -> anyhow::Result<Architecture> {
        let sizes = self.unconditional_architecture()?;
        match self.conditional {
            Some(conditioning) => sizes.with_conditioning(conditioning, self.classes.len()),
            None => Ok(sizes),
        }
    }

    /// Puts `preset`'s settings into the recipe (the optimiser, the batch size, the loss,
    /// DiffAugment, spectral norm, the EMA and how sampling reads BatchNorm's averages) and
    /// records it.
    pub fn apply_preset(&mut self, preset: Preset) {
        self.preset = Some(preset);
        self.optimizer = match preset {
            Preset::Seed => AdamSettings {
                lr: 1e-3,
                beta1: 0.9,
                ..AdamSettings::default()
            },
            Preset::Paper | Preset::SmallFolder => AdamSettings::default(),
        };
        self.debias_moving_averages = preset != Preset::Seed;
        let small = preset == Preset::SmallFolder;
        // The seed and the paper train with the non-saturating cross-entropy, unaided.
        self.loss = match small {
            true => Loss::Hinge,
            false => Loss::NonSaturating,
        };
        self.augment = match small {
            true => vec![
                Augmentation::Translation,
                Augmentation::Color,
                Augmentation::Cutout,
            ],
            false => Vec::new(),
        };
        self.spectral_norm = small;
        self.ema = small.then_some(0.999);
        // Three times the steps per epoch pay on a few thousand images (docs/quality.md,
        // "Three times the steps"); the seed and the paper train on batches of 100.
        self.batch_size = match small {
            true => 32,
            false => 100,
        };
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
}

/// Walks two JSON values side by side, recording the leaves that differ under `key`.
fn collect_differences(key: &str, a: &Value, b: &Value, found: &mut Vec<Difference>) {
    if let (Value::Object(a), Value::Object(b)) = (a, b) {
        let keys = a.keys().chain(b.keys().filter(|k| !a.contains_key(*k)));
        for name in keys {
            let nested = if key.is_empty() {
                name.clone()
            } else {
                format!("{key}.{name}")
            };
            let (x, y) = (a.get(name), b.get(name));
            collect_differences(
                &nested,
                x.unwrap_or(&Value::Null),
                y.unwrap_or(&Value::Null),
                found,
            );
        }
    } else if a != b {
        found.push(Difference {
            key: key.to_string(),
            was: shown(a),
            now: shown(b),
        });
    }
}

/// A setting's value as a user writes it: strings bare, lists comma-separated, unset as
/// `none`.
fn shown(value: &Value) -> String {
    match value {
        Value::Null => "none".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "none".to_string(),
        Value::Array(items) => items.iter().map(shown).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

impl TrainConfig {
    /// This configuration with the settings a TOML file names put over it: the file may
    /// hold any part of `config.toml`, and nested tables (`[optimizer]`) replace only the
    /// keys they name.
    pub fn overlaid_with_file(&self, path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let file: toml::Table = toml::from_str(&text)
            .with_context(|| format!("config file {} is invalid", path.display()))?;
        // A file that names a preset starts from it; its other keys go over the preset's.
        let mut start = self.clone();
        if let Some(name) = file.get("preset") {
            let preset = Preset::deserialize(name.clone()).with_context(|| {
                format!(
                    "config file {} is invalid: its setting `preset`",
                    path.display()
                )
            })?;
            start.recipe.apply_preset(preset);
        }
        let base = toml::Table::try_from(&start).expect("a TrainConfig always serialises");
        let overlaid = |keys: toml::Table| -> Result<TrainConfig, toml::de::Error> {
            let mut table = base.clone();
            merge(&mut table, keys);
            table.try_into()
        };
        overlaid(file.clone()).map_err(|err| {
            // Values reach the two parts through serde's buffer, whose errors name no key:
            // the first key that fails on its own is the one to name.
            let culprit = file.iter().find_map(|(key, value)| {
                let one = toml::Table::from_iter([(key.clone(), value.clone())]);
                overlaid(one).is_err().then_some(key)
            });
            let err = anyhow::Error::new(err);
            match culprit {
                Some(key) => err.context(format!(
                    "config file {} is invalid: its setting `{key}`",
                    path.display()
                )),
                None => err.context(format!("config file {} is invalid", path.display())),
            }
        })
    }

    /// The configuration as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a TrainConfig always serialises")
    }

    /// How the run trains, as one line of JSON for the generator file: the loss, the
    /// learning rates and Adam's β1, D's steps, weight clipping, spectral norm,
    /// augmentation, the moving average and the conditioning.
    pub fn training_summary(&self) -> String {
        let r = &self.recipe;
        let rates = r.step_settings();
        serde_json::json!({
            "loss": r.loss,
            "lr_g": rates.lr_g,
            "lr_d": rates.lr_d,
            "beta1": r.optimizer.beta1,
            "d_steps": r.d_steps,
            "weight_clip": rates.weight_clip,
            "spectral_norm": r.spectral_norm,
            "augment": r.augment,
            "ema": r.ema,
            "conditional": r.conditional,
            "epochs_planned": self.schedule.epochs,
            "batch_size": r.batch_size,
            "seed": r.seed,
        })
        .to_string()
    }

    /// Writes the data set's defaults into the unset sizes, so that `config.toml` shows the
    /// networks the run trains.
    pub fn resolve(&mut self) -> anyhow::Result<()> {
        let r = &mut self.recipe;
        let arch = r.unconditional_architecture()?;
        r.image_size = Some(arch.image_size);
        r.channels = Some(arch.channels);
        if arch.family == Family::Paper {
            (r.g_width, r.d_width) = (Some(arch.g_width), Some(arch.d_width));
        }
        Ok(())
    }

    /// Checks every value, naming the flag of the first bad one.
    pub fn validate(&self) -> anyhow::Result<()> {
        let (r, s) = (&self.recipe, &self.schedule);
        r.unconditional_architecture()?;
        let positive = [
            ("--epochs", s.epochs),
            ("--batch-size", r.batch_size),
            ("--noise-dim", r.noise_dim),
            ("--sample-every", s.sample_every),
            ("--log-every", s.log_every),
            ("--d-steps", r.d_steps),
        ];
        for (flag, value) in positive {
            if value == 0 {
                bail!("{flag} must be at least 1");
            }
        }
        let max_eval = crate::eval::MAX_EVAL_IMAGES;
        if s.eval_every > 0 && !(20..=max_eval).contains(&s.eval_n) {
            bail!(
                "--eval-n must be between 20 and {max_eval}, got {}",
                s.eval_n
            );
        }
        if r.limit_batches == Some(0) {
            bail!("--limit-batches must be at least 1");
        }
        if !(r.weight_clip.is_finite() && r.weight_clip > 0.0) {
            bail!(
                "--weight-clip must be a positive number (the paper's 0.01), got {}",
                r.weight_clip
            );
        }
        if let Some(decay) = r.ema.filter(|d| !(*d > 0.0 && *d < 1.0)) {
            bail!("--ema must be a decay between 0 and 1 (e.g. 0.999), got {decay}");
        }
        validate_adam(&r.optimizer)
    }
}

/// Checks Adam's settings, naming the flag of the first bad one.
fn validate_adam(adam: &AdamSettings) -> anyhow::Result<()> {
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
    for (flag, beta) in [("--beta1", adam.beta1), ("--beta2", adam.beta2)] {
        if !(0.0..1.0).contains(&beta) {
            bail!("{flag} must be in [0, 1), got {beta}");
        }
    }
    if !(adam.epsilon.is_finite() && adam.epsilon > 0.0) {
        bail!("epsilon must be a positive number, got {}", adam.epsilon);
    }
    Ok(())
}

/// Puts `over`'s keys into `base`, table into table, so a nested table replaces only the
/// keys it names.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(value)) => merge(inner, value),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_seed_but_for_the_optimizer() {
        let c = TrainConfig::default();
        let (r, s) = (&c.recipe, &c.schedule);
        assert_eq!(
            (s.epochs, r.batch_size, r.noise_dim, s.sample_every),
            (100, 100, 100, 5)
        );
        assert_eq!((r.optimizer.lr, r.optimizer.beta1), (2e-4, 0.5));
        let mut seed = c.recipe.clone();
        seed.apply_preset(Preset::Seed);
        assert_eq!((seed.optimizer.lr, seed.optimizer.beta1), (1e-3, 0.9));
        assert_eq!(seed.optimizer.epsilon, 1e-8);
    }

    #[test]
    fn toml_round_trip_partial_files_and_unknown_keys() {
        let mut c = TrainConfig::default();
        c.recipe.limit_batches = Some(3);
        c.recipe.conditional = Some(Conditioning::Cgan);
        c.recipe.classes = vec!["a".into(), "b".into()];
        c.schedule.data_dir = Some("data".into());
        assert_eq!(toml::from_str::<TrainConfig>(&c.to_toml()).unwrap(), c);
        assert_eq!(
            serde_json::from_slice::<TrainConfig>(&serde_json::to_vec(&c).unwrap()).unwrap(),
            c
        );
        // One flat table, as config files have always been.
        assert!(
            c.to_toml().starts_with("dataset = \"mnist\"\n"),
            "{}",
            c.to_toml()
        );
        let partial: TrainConfig = toml::from_str("epochs = 3\n[optimizer]\nlr = 0.001\n").unwrap();
        assert_eq!(
            (
                partial.schedule.epochs,
                partial.recipe.optimizer.lr,
                partial.recipe.optimizer.beta1
            ),
            (3, 1e-3, 0.5)
        );
        let err = toml::from_str::<TrainConfig>("epochz = 3")
            .unwrap_err()
            .to_string();
        assert!(err.contains("epochz"), "{err}");
        let err = toml::from_str::<TrainConfig>("[optimizer]\nbeta3 = 0.9")
            .unwrap_err()
            .to_string();
        assert!(err.contains("beta3"), "{err}");
    }

    #[test]
    fn a_file_overlays_only_the_keys_it_names() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("more.toml");
        std::fs::write(&file, "eval_every = 2\n[optimizer]\nbeta2 = 0.99\n").unwrap();
        let mut base = TrainConfig::default();
        base.recipe.optimizer.lr = 1e-3;
        base.recipe.seed = 42;
        let c = base.overlaid_with_file(&file).unwrap();
        assert_eq!(c.schedule.eval_every, 2);
        assert_eq!(c.recipe.optimizer.beta2, 0.99);
        // What the file does not name stays the base's, nested tables included.
        assert_eq!((c.recipe.optimizer.lr, c.recipe.seed), (1e-3, 42));
        std::fs::write(&file, "batch_sise = 2\n").unwrap();
        let err = format!("{:#}", base.overlaid_with_file(&file).unwrap_err());
        assert!(
            err.contains("more.toml") && err.contains("batch_sise"),
            "{err}"
        );
    }

    #[test]
    fn each_preset_sets_the_whole_training_recipe() {
        let mut r = Recipe::default();
        r.apply_preset(Preset::SmallFolder);
        assert_eq!(r.preset, Some(Preset::SmallFolder));
        assert_eq!(
            (r.loss, r.spectral_norm, r.ema),
            (Loss::Hinge, true, Some(0.999))
        );
        assert_eq!((r.augment.len(), r.batch_size), (3, 32));
        // Another preset over it takes every part back, not only the optimiser.
        r.apply_preset(Preset::Paper);
        let paper = Recipe {
            preset: Some(Preset::Paper),
            ..Recipe::default()
        };
        assert_eq!(r, paper);
        r.apply_preset(Preset::Seed);
        assert_eq!((r.optimizer.lr, r.optimizer.beta1), (1e-3, 0.9));
        assert_eq!(r.batch_size, 100);
        assert!(!r.debias_moving_averages);
    }

    #[test]
    fn a_file_that_names_a_preset_starts_from_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("seed.toml");
        std::fs::write(&file, "preset = \"seed\"\nbatch_size = 64\n").unwrap();
        let c = TrainConfig::default().overlaid_with_file(&file).unwrap();
        assert_eq!(c.recipe.preset, Some(Preset::Seed));
        assert_eq!((c.recipe.optimizer.lr, c.recipe.batch_size), (1e-3, 64));
        // The file's own keys go over its preset's.
        std::fs::write(
            &file,
            "preset = \"small-folder\"\nloss = \"least-squares\"\n",
        )
        .unwrap();
        let c = TrainConfig::default().overlaid_with_file(&file).unwrap();
        assert_eq!(
            (c.recipe.loss, c.recipe.spectral_norm),
            (Loss::LeastSquares, true)
        );
        std::fs::write(&file, "preset = \"tiny\"\n").unwrap();
        let err = format!(
            "{:#}",
            TrainConfig::default()
                .overlaid_with_file(&file)
                .unwrap_err()
        );
        assert!(
            err.contains("seed.toml") && err.contains("`preset`"),
            "{err}"
        );
    }

    #[test]
    fn differences_name_every_changed_setting_nested_ones_too() {
        let a = Recipe::default();
        assert!(a.differences(&a.clone()).is_empty());
        let mut b = a.clone();
        b.batch_size = 64;
        b.optimizer.beta2 = 0.99;
        b.augment = vec![Augmentation::Translation, Augmentation::Color];
        b.ema = Some(0.999);
        let found = a.differences(&b);
        let shown: Vec<String> = found
            .iter()
            .map(|d| format!("{} {} {}", d.key, d.was, d.now))
            .collect();
        assert_eq!(
            shown,
            [
                "augment none translation,color",
                "batch_size 100 64",
                "ema none 0.999",
                "optimizer.beta2 0.999 0.99",
            ]
        );
    }

    #[test]
    fn validation_names_the_flag() {
        let bad = |f: fn(&mut TrainConfig)| {
            let mut c = TrainConfig::default();
            f(&mut c);
            c.validate().unwrap_err().to_string()
        };
        assert!(bad(|c| c.recipe.batch_size = 0).contains("--batch-size"));
        assert!(bad(|c| c.recipe.optimizer.lr = f64::NAN).contains("--lr"));
        assert!(bad(|c| c.recipe.optimizer.lr = -1.0).contains("--lr"));
        assert!(bad(|c| c.recipe.optimizer.beta1 = 1.0).contains("--beta1"));
        assert!(bad(|c| c.recipe.optimizer.beta2 = -0.1).contains("--beta2"));
        assert!(bad(|c| c.recipe.optimizer.lr_g = Some(0.0)).contains("--lr-g"));
        assert!(bad(|c| c.recipe.optimizer.lr_d = Some(f64::INFINITY)).contains("--lr-d"));
        assert!(bad(|c| c.recipe.ema = Some(1.0)).contains("--ema"));
        assert!(bad(|c| c.recipe.d_steps = 0).contains("--d-steps"));
        assert!(bad(|c| c.recipe.weight_clip = -0.01).contains("--weight-clip"));
        assert!(bad(|c| c.recipe.ema = Some(f64::NAN)).contains("--ema"));
        assert!(bad(|c| c.schedule.epochs = 0).contains("--epochs"));
        assert!(TrainConfig::default().validate().is_ok());
    }
}
