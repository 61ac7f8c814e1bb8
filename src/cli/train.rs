//! `dcgan train`: flags to a [`TrainConfig`], then the training loop.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;

use super::compute::AmxArgs;
use crate::data::{Background, DatasetKind};
use crate::device::DeviceKind;
use crate::interrupt::{EXIT_INTERRUPTED, StopFlag};
use crate::kernels::matmul::bf16;
use crate::kernels::precision::Precision;
use crate::model::Conditioning;
use crate::run_dir::{self, RunLock};
use crate::train::augment::Augmentation;
use crate::train::checkpoint;
use crate::train::{
    CheckpointEvery, Loss, Outcome, Preset, Recipe, SMALL_FOLDER_ADDS, SMALL_FOLDER_IMAGES,
    Schedule, Start, TrainConfig, choices, train,
};

/// Flags of `dcgan train`. Unset flags keep the value of the config file or preset, and on
/// `--resume` the run's own.
#[derive(Debug, Args)]
// `--epochs -3` reaches the value check (and its message) instead of reading as a flag.
#[command(allow_negative_numbers = true)]
pub struct TrainArgs {
    /// TOML file with any of the settings (the format of OUT/config.toml).
    #[arg(long, value_name = "FILE.toml")]
    config: Option<PathBuf>,
    /// Named recipe: `seed` is the tutorial's Adam (lr 1e-3, β1 0.9); `paper` the 2016
    /// recipe, the default; `small-folder` adds DiffAugment, spectral norm, the hinge loss
    /// and an EMA of G, on batches of 32 [default: small-folder for a folder of fewer than
    /// 10,000 images without --config, else paper].
    #[arg(long)]
    preset: Option<Preset>,
    /// Data set to learn [default: mnist].
    #[arg(long)]
    dataset: Option<DatasetKind>,
    /// Directory of the data set's files (searched alone); for --dataset folder, the folder
    /// of images (searched recursively).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Passes over the training set [default: 100].
    #[arg(long)]
    epochs: Option<usize>,
    /// Images per batch [default: 100; 32 with the small-folder preset].
    #[arg(long)]
    batch_size: Option<usize>,
    /// Length of the noise vector [default: 100].
    #[arg(long)]
    noise_dim: Option<usize>,
    /// Side of the square images: 28 trains the seed's model, a power of two from 16 to 256
    /// the DCGAN paper's family [default: the data set's: 28 for MNIST-like sets, 32 for
    /// cifar10, 64 for folder and fake].
    #[arg(long, value_name = "PIXELS")]
    image_size: Option<usize>,
    /// Channels: 1 (grey) or 3 (RGB) [default: 1 for MNIST-like sets, 3 otherwise].
    #[arg(long)]
    channels: Option<usize>,
    /// The paper family's generator width, PyTorch's ngf [default: 64].
    #[arg(long, value_name = "N")]
    g_width: Option<usize>,
    /// The paper family's discriminator width, PyTorch's ndf [default: 64].
    #[arg(long, value_name = "N")]
    d_width: Option<usize>,
    /// What transparent pixels of a folder's images are laid on [default: white].
    #[arg(long)]
    background: Option<Background>,
    /// Train a conditional GAN on the data set's labels (a folder's: its sub-folders), so
    /// `dcgan sample --class` can ask for a class. G gets the class with its noise; D as
    /// input maps (cgan), with a classifier head (acgan) or by projection [default: none].
    #[arg(long, value_name = "KIND")]
    conditional: Option<Conditioning>,
    /// Adam learning rate of both networks [default: 0.0002].
    #[arg(long)]
    lr: Option<f64>,
    /// G's own learning rate [default: --lr].
    #[arg(long, value_name = "X")]
    lr_g: Option<f64>,
    /// D's own learning rate [default: --lr].
    #[arg(long, value_name = "X")]
    lr_d: Option<f64>,
    /// The adversarial loss [default: non-saturating, the seed's].
    #[arg(long)]
    loss: Option<Loss>,
    /// D steps per G step; the Wasserstein GAN's paper trains with 5 [default: 1].
    #[arg(long, value_name = "N")]
    d_steps: Option<usize>,
    /// With --loss wasserstein, clamp D's parameters to [-C, C] after each of its steps
    /// [default: 0.01].
    #[arg(long, value_name = "C")]
    weight_clip: Option<f64>,
    /// DiffAugment: transform every image D sees, real and generated, with these (a
    /// comma-separated list of translation, color, cutout), or `none` [default: none;
    /// translation,color,cutout with the small-folder preset].
    #[arg(long, value_parser = augment_list, value_name = "KINDS")]
    augment: Option<AugmentList>,
    /// Spectral normalisation of D's weights: each matrix divided by its largest singular
    /// value, estimated by one power iteration per step; `--spectral-norm false` turns off
    /// the small-folder preset's [default: off; on with the small-folder preset].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "true|false")]
    spectral_norm: Option<bool>,
    /// On several processes (mpirun), normalise each process's slice of the batch with its
    /// own BatchNorm statistics instead of the whole batch's (docs/distributed.md).
    #[arg(long)]
    local_batch_norm: bool,
    /// Keep an exponential moving average of G's weights with this decay (e.g. 0.999);
    /// pictures, sample, eval and generator.safetensors then use it; `none` for no average
    /// [default: none; 0.999 with the small-folder preset].
    #[arg(long, value_parser = ema_decay, value_name = "DECAY|none")]
    ema: Option<EmaDecay>,
    /// Adam β1 of both networks [default: 0.5].
    #[arg(long)]
    beta1: Option<f64>,
    /// Adam β2 of both networks [default: 0.999].
    #[arg(long)]
    beta2: Option<f64>,
    /// Seed of all randomness; a run with the same seed on the CPU is identical [default: random].
    // At most i64::MAX: config.toml keeps it as a TOML integer.
    #[arg(long, value_parser = clap::value_parser!(u64).range(..=i64::MAX as u64))]
    seed: Option<u64>,
    /// Save a sample picture at epoch 0 and every N epochs [default: 5].
    #[arg(long, value_name = "N")]
    sample_every: Option<usize>,
    /// Use at most N batches per epoch, for quick runs.
    #[arg(long, value_name = "N")]
    limit_batches: Option<usize>,
    /// Write TensorBoard scalars every N steps [default: 10].
    #[arg(long, value_name = "N")]
    log_every: Option<usize>,
    /// Write histograms of weights and gradients every N steps; 0 for never [default: 100].
    #[arg(long, value_name = "N")]
    histogram_every: Option<usize>,
    /// Score the generator (FID, KID, …) every N epochs and after the last, keeping the
    /// best checkpoint by FID; 0 for never [default: each --sample-every for colour runs
    /// when the Inception weights are installed, else 0].
    #[arg(long, value_name = "N")]
    eval_every: Option<usize>,
    /// Images generated for each evaluation [default: 1000 when dcgan turns --eval-every on,
    /// else 2000].
    #[arg(long, value_name = "N")]
    eval_n: Option<usize>,
    /// The evaluation classifier's file [default: the data set's classifier built into dcgan].
    #[arg(long, value_name = "FILE")]
    classifier: Option<PathBuf>,
    /// Where to compute: cpu, wgpu, wgpu:cpu, cuda or cuda:N, as `dcgan devices` lists them
    /// [default: cpu; with --resume, the run's own device].
    #[arg(long, value_name = "DEVICE")]
    device: Option<DeviceKind>,
    /// Number format of the convolutions' matrix products: f32, or bf16 with f32 sums (CPUs
    /// with AVX512-BF16) [default: f32; with --resume, the run's own].
    #[arg(long)]
    precision: Option<Precision>,
    #[command(flatten)]
    amx: AmxArgs,
    /// Also save a checkpoint within an epoch: every N steps, or every so much time (`30m`,
    /// `1h`); 0 for only at epochs' ends [default: 10m].
    #[arg(long, value_name = "STEPS|TIME")]
    checkpoint_every: Option<CheckpointEvery>,
    /// Output directory for checkpoints, pictures and logs.
    #[arg(long, default_value = "runs/dcgan")]
    out: PathBuf,
    /// Continue the run in --out from its latest checkpoint (--epochs may raise its length).
    #[arg(long, conflicts_with = "force")]
    resume: bool,
    /// Start over even if --out holds a run, replacing its checkpoints.
    #[arg(long)]
    force: bool,
}

impl TrainArgs {
    /// The configuration this command asks for on top of `base` (the defaults for a new
    /// run, the run's own for a resume): `--config`'s settings, then `--preset`'s, then the
    /// flags, each over the one before.
    fn overlay(&self, base: &TrainConfig) -> anyhow::Result<TrainConfig> {
        let mut c = match &self.config {
            Some(path) => base.overlaid_with_file(path)?,
            None => base.clone(),
        };
        if let Some(preset) = self.preset {
            c.recipe.apply_preset(preset);
        }
        self.set_data_and_model(&mut c.recipe);
        self.set_training(&mut c.recipe);
        self.set_schedule(&mut c.schedule);
        Ok(c)
    }

    /// The configuration of a new run: the defaults overlaid, checked and resolved. Where
    /// the command names neither a preset nor a config file (a file is a whole recipe),
    /// dcgan fills what it leaves open ([`choices`]): a seed (recorded), the small-folder
    /// preset for a small folder, and a colour run's scoring.
    fn new_config(&self) -> anyhow::Result<TrainConfig> {
        let mut c = self.overlay(&TrainConfig::default())?;
        let open = self.preset.is_none() && self.config.is_none();
        if open && let Some((preset, images)) = choices::folder_preset(&c)? {
            // The chosen preset takes the defaults' place; the flags go over it.
            let mut base = TrainConfig::default();
            base.recipe.apply_preset(preset);
            c = self.overlay(&base)?;
            crate::tell!(
                "recipe: {} ({SMALL_FOLDER_ADDS}), dcgan's choice for a folder of {images} \
                 images (fewer than {SMALL_FOLDER_IMAGES}); --preset paper trains the 2016 \
                 recipe instead",
                preset.name()
            );
        }
        c.recipe.preset.get_or_insert(Preset::Paper);
        if self.seed.is_none() && self.config.is_none() {
            c.recipe.seed = choices::drawn_seed();
        }
        let scoring = match self.eval_every.is_none() && self.config.is_none() {
            true => choices::colour_scoring(&mut c, self.eval_n.is_some())?,
            false => None,
        };
        c.validate()?;
        if let Some(line) = scoring {
            crate::tell!("{line}");
        }
        c.resolve()?;
        Ok(c)
    }

    /// The flags of the data and the networks, over `r`'s.
    fn set_data_and_model(&self, r: &mut Recipe) {
        set(&mut r.dataset, self.dataset);
        set(&mut r.batch_size, self.batch_size);
        set(&mut r.noise_dim, self.noise_dim);
        set_some(&mut r.image_size, &self.image_size);
        set_some(&mut r.channels, &self.channels);
        set_some(&mut r.g_width, &self.g_width);
        set_some(&mut r.d_width, &self.d_width);
        set(&mut r.background, self.background);
        set_some(&mut r.conditional, &self.conditional);
        set(&mut r.seed, self.seed);
        set_some(&mut r.limit_batches, &self.limit_batches);
    }

    /// The flags of the optimisers and the loss, over `r`'s.
    fn set_training(&self, r: &mut Recipe) {
        set(&mut r.optimizer.lr, self.lr);
        set_some(&mut r.optimizer.lr_g, &self.lr_g);
        set_some(&mut r.optimizer.lr_d, &self.lr_d);
        set(&mut r.optimizer.beta1, self.beta1);
        set(&mut r.optimizer.beta2, self.beta2);
        set(&mut r.loss, self.loss);
        set(&mut r.d_steps, self.d_steps);
        set(&mut r.weight_clip, self.weight_clip);
        set(&mut r.spectral_norm, self.spectral_norm);
        r.local_batch_norm |= self.local_batch_norm;
        set(
            &mut r.augment,
            self.augment.clone().map(|AugmentList(kinds)| kinds),
        );
        set(&mut r.ema, self.ema.map(|EmaDecay(decay)| decay));
    }

    /// The flags of the schedule, over `s`'s.
    fn set_schedule(&self, s: &mut Schedule) {
        set_some(&mut s.data_dir, &self.data_dir);
        set(&mut s.epochs, self.epochs);
        set(&mut s.sample_every, self.sample_every);
        set(&mut s.log_every, self.log_every);
        set(&mut s.histogram_every, self.histogram_every);
        set(&mut s.device, self.device);
        set(&mut s.precision, self.precision);
        set(&mut s.eval_every, self.eval_every);
        set(&mut s.eval_n, self.eval_n);
        set_some(&mut s.classifier, &self.classifier);
        set(&mut s.checkpoint_every, self.checkpoint_every);
    }
}

/// How a resume's refusal names a setting: its flag when it has one, else its key in
/// `config.toml`.
fn setting_name(key: &str) -> String {
    let leaf = key.rsplit('.').next().unwrap_or(key);
    let command = TrainArgs::augment_args(clap::Command::new("train"));
    if command.get_arguments().any(|arg| arg.get_id() == leaf) {
        format!("--{}", leaf.replace('_', "-"))
    } else {
        format!("`{key}` in config.toml")
    }
}

/// `--ema`'s value: a decay, or `None` for no moving average (`--ema none`).
#[derive(Debug, Clone, Copy)]
struct EmaDecay(Option<f64>);

/// Reads `--ema`: `none`, or a number (checked with the other settings).
fn ema_decay(text: &str) -> Result<EmaDecay, String> {
    match text {
        "none" => Ok(EmaDecay(None)),
        _ => text
            .parse()
            .map(|decay| EmaDecay(Some(decay)))
            .map_err(|_| format!("expected a decay such as 0.999, or none; got `{text}`")),
    }
}

/// `--augment`'s value: the augmentations, none for `--augment none`.
#[derive(Debug, Clone)]
struct AugmentList(Vec<Augmentation>);

/// Reads `--augment`: `none`, or a comma-separated list of augmentations.
fn augment_list(text: &str) -> Result<AugmentList, String> {
    use clap::ValueEnum;
    if text == "none" {
        return Ok(AugmentList(Vec::new()));
    }
    text.split(',')
        .map(|kind| {
            Augmentation::from_str(kind.trim(), false).map_err(|_| {
                format!(
                    "unknown augmentation `{kind}`: expected translation, color, cutout or none"
                )
            })
        })
        .collect::<Result<_, _>>()
        .map(AugmentList)
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

/// Sets an optional setting when its flag is given.
fn set_some<T: Clone>(field: &mut Option<T>, value: &Option<T>) {
    if value.is_some() {
        field.clone_from(value);
    }
}

/// Runs `dcgan train`; Ctrl-C stops it after the current step with a checkpoint. Under an
/// MPI launcher (a build with `--features mpi`), it is one of the processes that train the
/// run together; rank 0 takes the run's lock, writes its files and prints its lines.
pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let _processes = crate::processes::join("train")?;
    if !crate::processes::world().writes() {
        crate::logging::set_quiet();
    }
    let stop = StopFlag::on_signals(crate::logging::quiet())?;
    let outcome = start(args, &stop).map_err(|e| crate::processes::world().fail(e))?;
    Ok(match outcome {
        Outcome::Finished => ExitCode::SUCCESS,
        Outcome::Stopped => ExitCode::from(EXIT_INTERRUPTED),
    })
}

fn start(args: TrainArgs, stop: &StopFlag) -> anyhow::Result<Outcome> {
    let has_run = |out: &std::path::Path| {
        out.join(run_dir::CHECKPOINT).exists() || out.join(run_dir::PREVIOUS_CHECKPOINT).exists()
    };
    // A setting of this process's kernels, fresh run or resumed.
    args.amx.apply();
    if args.resume {
        if !has_run(&args.out) {
            bail!(
                "--resume: {} holds no checkpoint to resume",
                args.out.display()
            );
        }
        return resume(&args, stop);
    }
    let config = args.new_config()?;
    let _lock = lock(&args.out)?;
    if has_run(&args.out) && !args.force && crate::processes::world().writes() {
        bail!(
            "{} already holds a run; pass --resume to continue it, --force to start over, or \
             another --out",
            args.out.display()
        );
    }
    let device = crate::device::start(config.schedule.device, config.schedule.precision)?;
    let start = Start::Fresh {
        config,
        dataset_explicit: args.dataset.is_some() || args.config.is_some(),
    };
    train(start, &args.out, &device.autodiff(), stop)
}

/// The run's lock, taken by the process that writes (rank 0 of several).
fn lock(out: &std::path::Path) -> anyhow::Result<Option<RunLock>> {
    match crate::processes::world().writes() {
        true => RunLock::acquire(out).map(Some),
        false => Ok(None),
    }
}

/// Continues the run in `--out` with its own recipe and the schedule this command asks
/// for; a command that changes the recipe is refused, naming every change.
fn resume(args: &TrainArgs, stop: &StopFlag) -> anyhow::Result<Outcome> {
    let out = &args.out;
    let _lock = lock(out)?;
    let checkpoint = checkpoint::read(out)?;
    let mut recorded = checkpoint.state().config.clone();
    // Runs from before sizes were recorded compare with the sizes they trained at.
    recorded.resolve()?;
    let mut asked = args.overlay(&recorded)?;
    // The classes come from the data (checked against the run's when it loads), not from
    // the command: a config file copied from another run does not change them.
    asked.recipe.classes.clone_from(&recorded.recipe.classes);
    // Runs from before dcgan recorded presets (all trained from the defaults or named
    // presets) compare by their settings alone.
    if recorded.recipe.preset.is_none() {
        asked.recipe.preset = None;
    }
    let changed: Vec<String> = recorded
        .recipe
        .differences(&asked.recipe)
        .into_iter()
        .map(|d| {
            let name = setting_name(&d.key);
            format!(
                "{name} (the run has {}, this command asks for {})",
                d.was, d.now
            )
        })
        .collect();
    if !changed.is_empty() {
        bail!(
            "--resume continues a run with its own settings (see {}), but this command \
             changes {}. Drop those flags to continue the run, or pass --force (in place of \
             --resume) or another --out to start a new one",
            out.join(run_dir::CONFIG).display(),
            changed.join(", ")
        );
    }
    asked.validate()?;
    let schedule = asked.schedule;
    // The run goes on where and how it was trained unless the command says otherwise.
    if schedule.precision == Precision::Bf16 && !bf16::available() && args.precision.is_none() {
        bail!(
            "the run in {} uses bf16 products, which this CPU ({}) does not have (no \
             AVX512-BF16); pass --precision f32 to continue it in f32",
            out.display(),
            crate::kernels::cpu::model_name()
        );
    }
    let device = crate::device::start(schedule.device, schedule.precision)?;
    let (mut state, gan) = checkpoint.build(&device.clone().autodiff())?;
    state.config.schedule = schedule;
    let start = Start::Resume(Box::new((state, gan)));
    train(start, out, &device.autodiff(), stop)
}
