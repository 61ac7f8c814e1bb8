//! `dcgan train`: flags to a [`TrainConfig`], then the training loop.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use rand::Rng;

use crate::data::{Background, DatasetKind};
use crate::device::DeviceKind;
use crate::interrupt::{EXIT_INTERRUPTED, StopFlag};
use crate::kernels::precision::{self, Precision};
use crate::model::Conditioning;
use crate::run_lock::RunLock;
use crate::train::augment::Augmentation;
use crate::train::checkpoint;
use crate::train::{CheckpointEvery, Loss, Outcome, Preset, Start, TrainConfig, train};

/// Flags of `dcgan train`. Unset flags keep the value of the config file or preset.
#[derive(Debug, Args)]
// `--epochs -3` reaches the value check (and its message) instead of reading as a flag.
#[command(allow_negative_numbers = true)]
pub struct TrainArgs {
    /// TOML file with any of the settings (the format of OUT/config.toml).
    #[arg(long, value_name = "FILE.toml")]
    config: Option<PathBuf>,
    /// Named settings: `seed` is the tutorial's Adam (lr 1e-3, β1 0.9); `paper` the default.
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
    /// Images per batch [default: 100].
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
    /// comma-separated list) [default: none].
    #[arg(long, value_delimiter = ',', value_name = "KINDS")]
    augment: Option<Vec<Augmentation>>,
    /// Spectral normalisation of D's weights: each matrix divided by its largest singular
    /// value, estimated by one power iteration per step.
    #[arg(long)]
    spectral_norm: bool,
    /// Keep an exponential moving average of G's weights with this decay (e.g. 0.999);
    /// pictures, sample, eval and generator.safetensors then use it [default: none].
    #[arg(long, value_name = "DECAY")]
    ema: Option<f64>,
    /// Adam β1 of both networks [default: 0.5].
    #[arg(long)]
    beta1: Option<f64>,
    /// Seed of all randomness; a run with the same seed on the CPU is identical [default: random].
    #[arg(long)]
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
    /// best checkpoint by FID; 0 for never [default: 0].
    #[arg(long, value_name = "N")]
    eval_every: Option<usize>,
    /// Images generated for each evaluation [default: 2000].
    #[arg(long, value_name = "N")]
    eval_n: Option<usize>,
    /// The evaluation classifier's file [default: the data set's classifier built into dcgan].
    #[arg(long, value_name = "FILE")]
    classifier: Option<PathBuf>,
    /// Where to compute [default: cpu; with --resume, the run's own device].
    #[arg(long)]
    device: Option<DeviceKind>,
    /// Number format of the convolutions' matrix products: f32, or bf16 with f32 sums (CPUs
    /// with AVX512-BF16) [default: f32; with --resume, the run's own].
    #[arg(long)]
    precision: Option<Precision>,
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
    /// Defaults, then the file, the preset and the flags.
    fn config(&self) -> anyhow::Result<TrainConfig> {
        let mut c = match &self.config {
            Some(path) => TrainConfig::from_toml_file(path)?,
            None => TrainConfig::default(),
        };
        if let Some(preset) = self.preset {
            preset.apply(&mut c);
        }
        set(&mut c.dataset, self.dataset);
        if self.data_dir.is_some() {
            c.data_dir = self.data_dir.clone();
        }
        set(&mut c.epochs, self.epochs);
        set(&mut c.batch_size, self.batch_size);
        set(&mut c.noise_dim, self.noise_dim);
        self.set_architecture(&mut c);
        self.set_training(&mut c);
        set(&mut c.sample_every, self.sample_every);
        if self.limit_batches.is_some() {
            c.limit_batches = self.limit_batches;
        }
        set(&mut c.log_every, self.log_every);
        set(&mut c.histogram_every, self.histogram_every);
        set(&mut c.eval_every, self.eval_every);
        set(&mut c.eval_n, self.eval_n);
        if self.classifier.is_some() {
            c.classifier = self.classifier.clone();
        }
        set(&mut c.device, self.device);
        set(&mut c.precision, self.precision);
        set(&mut c.checkpoint_every, self.checkpoint_every);
        c.seed = match (self.seed, &self.config) {
            (Some(seed), _) => seed,
            // A config file's seed stands; without one, draw a seed and record it.
            (None, Some(_)) => c.seed,
            (None, None) => rand::rng().random_range(0..1_000_000),
        };
        c.validate()?;
        c.resolve()?;
        Ok(c)
    }

    /// The flags of the optimisers and the loss, over `c`'s.
    fn set_training(&self, c: &mut TrainConfig) {
        set(&mut c.optimizer.lr, self.lr);
        if self.lr_g.is_some() {
            c.optimizer.lr_g = self.lr_g;
        }
        if self.lr_d.is_some() {
            c.optimizer.lr_d = self.lr_d;
        }
        set(&mut c.optimizer.beta1, self.beta1);
        set(&mut c.loss, self.loss);
        set(&mut c.d_steps, self.d_steps);
        set(&mut c.weight_clip, self.weight_clip);
        c.spectral_norm |= self.spectral_norm;
        if let Some(kinds) = &self.augment {
            c.augment = kinds.clone();
        }
        if self.ema.is_some() {
            c.ema = self.ema;
        }
    }

    /// The flags that shape the networks and their images, over `c`'s.
    fn set_architecture(&self, c: &mut TrainConfig) {
        for (field, value) in [
            (&mut c.image_size, self.image_size),
            (&mut c.channels, self.channels),
            (&mut c.g_width, self.g_width),
            (&mut c.d_width, self.d_width),
        ] {
            if value.is_some() {
                *field = value;
            }
        }
        set(&mut c.background, self.background);
        if self.conditional.is_some() {
            c.conditional = self.conditional;
        }
    }

    /// The settings that shape a run's results, as this command line asks for them on top
    /// of the run's `recorded` ones; a resumed run must keep them.
    fn fixed_on_resume(&self, recorded: &TrainConfig) -> anyhow::Result<Vec<String>> {
        let mut asked = recorded.clone();
        if let Some(path) = &self.config {
            let file = TrainConfig::from_toml_file(path)?;
            asked.dataset = file.dataset;
            asked.batch_size = file.batch_size;
            asked.noise_dim = file.noise_dim;
            asked.optimizer = file.optimizer;
            asked.seed = file.seed;
            asked.limit_batches = file.limit_batches;
            (asked.image_size, asked.channels) = (file.image_size, file.channels);
            (asked.g_width, asked.d_width) = (file.g_width, file.d_width);
            asked.background = file.background;
            asked.conditional = file.conditional;
            asked.loss = file.loss;
            asked.ema = file.ema;
            asked.d_steps = file.d_steps;
            asked.weight_clip = file.weight_clip;
            asked.spectral_norm = file.spectral_norm;
            asked.augment = file.augment;
        }
        if let Some(preset) = self.preset {
            preset.apply(&mut asked);
        }
        set(&mut asked.dataset, self.dataset);
        set(&mut asked.batch_size, self.batch_size);
        set(&mut asked.noise_dim, self.noise_dim);
        self.set_architecture(&mut asked);
        self.set_training(&mut asked);
        set(&mut asked.seed, self.seed);
        if self.limit_batches.is_some() {
            asked.limit_batches = self.limit_batches;
        }
        let show_limit = |l: Option<usize>| l.map_or("none".to_string(), |n| n.to_string());
        let show_rate = |l: Option<f64>| l.map_or("--lr's".to_string(), |r| r.to_string());
        let show_conditional =
            |c: Option<Conditioning>| c.map_or("none", Conditioning::name).to_string();
        let (r, a) = (recorded, &asked);
        // Another image size is another network (and the run's widths may not fit it): say
        // so before building either.
        let side = |c: &TrainConfig| c.image_size.unwrap_or(c.dataset.default_image_size());
        if side(r) != side(a) {
            return Ok(vec![format!(
                "--image-size (the run has {}, this command asks for {})",
                side(r),
                side(a)
            )]);
        }
        // The networks as each would build them, the data set's defaults filled in.
        let (r_arch, a_arch) = (
            r.unconditional_architecture()?,
            a.unconditional_architecture()?,
        );
        let fields = [
            (
                "--image-size",
                r_arch.image_size.to_string(),
                a_arch.image_size.to_string(),
            ),
            (
                "--channels",
                r_arch.channels.to_string(),
                a_arch.channels.to_string(),
            ),
            (
                "--g-width",
                r_arch.g_width.to_string(),
                a_arch.g_width.to_string(),
            ),
            (
                "--d-width",
                r_arch.d_width.to_string(),
                a_arch.d_width.to_string(),
            ),
            (
                "--background",
                format!("{:?}", r.background).to_lowercase(),
                format!("{:?}", a.background).to_lowercase(),
            ),
            (
                "--conditional",
                show_conditional(r.conditional),
                show_conditional(a.conditional),
            ),
            (
                "--dataset",
                r.dataset.spec().name.to_string(),
                a.dataset.spec().name.to_string(),
            ),
            (
                "--batch-size",
                r.batch_size.to_string(),
                a.batch_size.to_string(),
            ),
            (
                "--noise-dim",
                r.noise_dim.to_string(),
                a.noise_dim.to_string(),
            ),
            (
                "--lr",
                r.optimizer.lr.to_string(),
                a.optimizer.lr.to_string(),
            ),
            (
                "--lr-g",
                show_rate(r.optimizer.lr_g),
                show_rate(a.optimizer.lr_g),
            ),
            (
                "--lr-d",
                show_rate(r.optimizer.lr_d),
                show_rate(a.optimizer.lr_d),
            ),
            (
                "--loss",
                r.loss.name().to_string(),
                a.loss.name().to_string(),
            ),
            ("--d-steps", r.d_steps.to_string(), a.d_steps.to_string()),
            (
                "--weight-clip",
                r.weight_clip.to_string(),
                a.weight_clip.to_string(),
            ),
            (
                "--spectral-norm",
                r.spectral_norm.to_string(),
                a.spectral_norm.to_string(),
            ),
            (
                "--augment",
                augment_names(&r.augment),
                augment_names(&a.augment),
            ),
            (
                "--ema",
                r.ema.map_or("none".to_string(), |d| d.to_string()),
                a.ema.map_or("none".to_string(), |d| d.to_string()),
            ),
            (
                "--beta1",
                r.optimizer.beta1.to_string(),
                a.optimizer.beta1.to_string(),
            ),
            (
                "beta2",
                r.optimizer.beta2.to_string(),
                a.optimizer.beta2.to_string(),
            ),
            (
                "epsilon",
                r.optimizer.epsilon.to_string(),
                a.optimizer.epsilon.to_string(),
            ),
            ("--seed", r.seed.to_string(), a.seed.to_string()),
            (
                "--limit-batches",
                show_limit(r.limit_batches),
                show_limit(a.limit_batches),
            ),
        ];
        Ok(fields
            .into_iter()
            .filter(|(_, was, now)| was != now)
            .map(|(flag, was, now)| {
                format!("{flag} (the run has {was}, this command asks for {now})")
            })
            .collect())
    }
}

/// `--augment`'s value: the kinds, comma-separated, or `none`.
fn augment_names(kinds: &[Augmentation]) -> String {
    if kinds.is_empty() {
        return "none".to_string();
    }
    let names: Vec<String> = kinds.iter().map(|k| k.name().to_string()).collect();
    names.join(",")
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

/// Runs `dcgan train`; Ctrl-C stops it after the current step with a checkpoint.
pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let stop = StopFlag::on_signals()?;
    let outcome = start(args, &stop)?;
    Ok(match outcome {
        Outcome::Finished => ExitCode::SUCCESS,
        Outcome::Stopped => ExitCode::from(EXIT_INTERRUPTED),
    })
}

fn start(args: TrainArgs, stop: &StopFlag) -> anyhow::Result<Outcome> {
    let has_run = |out: &std::path::Path| {
        out.join(checkpoint::LATEST).exists() || out.join(checkpoint::PREVIOUS).exists()
    };
    if args.resume {
        if !has_run(&args.out) {
            bail!(
                "--resume: {} holds no checkpoint to resume",
                args.out.display()
            );
        }
        let _lock = RunLock::acquire(&args.out)?;
        // Flags equal to the run's own settings are welcome (the command that started the
        // run, with --resume added); a change is refused.
        let recorded = checkpoint::load_state(&args.out).map(|s| s.config);
        if let Ok(recorded) = &recorded {
            let changed = args.fixed_on_resume(recorded)?;
            if !changed.is_empty() {
                bail!(
                    "--resume continues a run with its own settings (see {}), but this command \
                     changes {}. Drop those flags to continue the run, or pass --force (in \
                     place of --resume) or another --out to start a new one",
                    args.out.join("config.toml").display(),
                    changed.join(", ")
                );
            }
        }
        // The run goes on where it was trained unless --device says otherwise. A checkpoint
        // too damaged to tell leaves the choice to the CPU; loading it then says what is wrong.
        let device = args
            .device
            .or(recorded.ok().map(|c| c.device))
            .unwrap_or(DeviceKind::Cpu)
            .device()?
            .autodiff();
        let (mut state, gan) = checkpoint::load(&args.out, &device)?;
        let c = &mut state.config;
        set(&mut c.epochs, args.epochs);
        if args.data_dir.is_some() {
            c.data_dir = args.data_dir.clone();
        }
        set(&mut c.sample_every, args.sample_every);
        set(&mut c.log_every, args.log_every);
        set(&mut c.histogram_every, args.histogram_every);
        set(&mut c.eval_every, args.eval_every);
        set(&mut c.eval_n, args.eval_n);
        if args.classifier.is_some() {
            c.classifier = args.classifier.clone();
        }
        set(&mut c.device, args.device);
        set(&mut c.precision, args.precision);
        set(&mut c.checkpoint_every, args.checkpoint_every);
        c.validate()?;
        precision::set(c.precision).with_context(|| {
            format!(
                "the run in {} uses {} products; pass --precision f32 to continue it in f32",
                args.out.display(),
                c.precision.name()
            )
        })?;
        if state.epochs_done >= c.epochs {
            crate::tell!(
                "the run in {} has finished its {} epochs; pass a larger --epochs to continue it",
                args.out.display(),
                state.epochs_done
            );
            return Ok(Outcome::Finished);
        }
        match state.batches_done {
            0 => crate::tell!(
                "resuming {} after epoch {}",
                args.out.display(),
                state.epochs_done
            ),
            batches => crate::tell!(
                "resuming {} in epoch {} after batch {batches} (step {})",
                args.out.display(),
                state.epochs_done,
                state.g_step
            ),
        }
        if c.device == DeviceKind::Cpu {
            crate::tell!("{}", precision::kernels_line(c.precision));
        }
        return train(
            Start::Resume(Box::new((state, gan))),
            &args.out,
            &device,
            stop,
        );
    }
    let config = args.config()?;
    let _lock = RunLock::acquire(&args.out)?;
    if has_run(&args.out) && !args.force {
        bail!(
            "{} already holds a run; pass --resume to continue it, --force to start over, or \
             another --out",
            args.out.display()
        );
    }
    let device = crate::device::start(config.device, config.precision)?.autodiff();
    let steps = config.step_settings();
    let lr = if steps.lr_g == steps.lr_d {
        format!("lr {}", steps.lr_g)
    } else {
        format!("lr G {} D {}", steps.lr_g, steps.lr_d)
    };
    let mut extras = String::new();
    if config.d_steps > 1 {
        extras += &format!(", {} D steps per G step", config.d_steps);
    }
    if config.loss == Loss::Wasserstein {
        extras += &format!(", D's weights clipped to ±{}", config.weight_clip);
    }
    if config.spectral_norm {
        extras += ", spectral norm in D";
    }
    if !config.augment.is_empty() {
        extras += &format!(", DiffAugment {}", augment_names(&config.augment));
    }
    if let Some(decay) = config.ema {
        extras += &format!(", EMA of G {decay}");
    }
    crate::tell!(
        "training {} epochs, batch {}, {} loss, Adam {lr} β1 {}{extras}, seed {} -> {}",
        config.epochs,
        config.batch_size,
        config.loss.name(),
        config.optimizer.beta1,
        config.seed,
        args.out.display()
    );
    if config.device == DeviceKind::Cpu {
        crate::tell!("{}", precision::kernels_line(config.precision));
    }
    let start = Start::Fresh {
        config,
        dataset_explicit: args.dataset.is_some() || args.config.is_some(),
    };
    train(start, &args.out, &device, stop)
}
