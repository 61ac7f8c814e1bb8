//! `dcgan train`: flags to a [`TrainConfig`], then the training loop.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use rand::Rng;

use crate::checkpoint;
use crate::data::DatasetKind;
use crate::device::DeviceKind;
use crate::interrupt::{EXIT_INTERRUPTED, StopFlag};
use crate::kernels::cpu;
use crate::kernels::precision::{self, Precision};
use crate::train::{Outcome, Preset, Start, TrainConfig, train};

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
    /// Directory holding the IDX files (searched alone).
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
    /// Adam learning rate of both networks [default: 0.0002].
    #[arg(long)]
    lr: Option<f64>,
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
    /// The evaluation classifier [default: ~/.cache/dcgan/classifier-<dataset>.dcgan].
    #[arg(long, value_name = "FILE")]
    classifier: Option<PathBuf>,
    /// Where to compute [default: cpu; with --resume, the run's own device].
    #[arg(long)]
    device: Option<DeviceKind>,
    /// Number format of the convolutions' matrix products: f32, or bf16 with f32 sums (CPUs
    /// with AVX512-BF16) [default: f32; with --resume, the run's own].
    #[arg(long)]
    precision: Option<Precision>,
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
        set(&mut c.optimizer.lr, self.lr);
        set(&mut c.optimizer.beta1, self.beta1);
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
        c.seed = match (self.seed, &self.config) {
            (Some(seed), _) => seed,
            // A config file's seed stands; without one, draw a seed and record it.
            (None, Some(_)) => c.seed,
            (None, None) => rand::rng().random_range(0..1_000_000),
        };
        c.validate()?;
        Ok(c)
    }

    /// Flags that would change a run's results, which a resumed run must keep.
    fn fixed_on_resume(&self) -> Vec<&'static str> {
        let given = [
            ("--config", self.config.is_some()),
            ("--preset", self.preset.is_some()),
            ("--dataset", self.dataset.is_some()),
            ("--batch-size", self.batch_size.is_some()),
            ("--noise-dim", self.noise_dim.is_some()),
            ("--lr", self.lr.is_some()),
            ("--beta1", self.beta1.is_some()),
            ("--seed", self.seed.is_some()),
            ("--limit-batches", self.limit_batches.is_some()),
        ];
        given
            .into_iter()
            .filter(|(_, g)| *g)
            .map(|(f, _)| f)
            .collect()
    }
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
    let latest = args.out.join(checkpoint::LATEST);
    let has_run = latest.exists() || args.out.join(checkpoint::PREVIOUS).exists();
    if args.resume {
        if !has_run {
            bail!(
                "--resume: {} holds no checkpoint to resume",
                args.out.display()
            );
        }
        let fixed = args.fixed_on_resume();
        if !fixed.is_empty() {
            bail!(
                "--resume continues a run with its own settings (see {}); drop {}",
                args.out.join("config.toml").display(),
                fixed.join(", ")
            );
        }
        // The run goes on where it was trained unless --device says otherwise. A checkpoint
        // too damaged to tell leaves the choice to the CPU; loading it then says what is wrong.
        let device = args
            .device
            .or_else(|| {
                checkpoint::load_state(&args.out)
                    .ok()
                    .map(|s| s.config.device)
            })
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
        c.validate()?;
        precision::set(c.precision).with_context(|| {
            format!(
                "the run in {} uses {} products; pass --precision f32 to continue it in f32",
                args.out.display(),
                c.precision.name()
            )
        })?;
        if state.epochs_done >= c.epochs {
            println!(
                "the run in {} has finished its {} epochs; pass a larger --epochs to continue it",
                args.out.display(),
                state.epochs_done
            );
            return Ok(Outcome::Finished);
        }
        println!(
            "resuming {} after epoch {}",
            args.out.display(),
            state.epochs_done
        );
        if c.device == DeviceKind::Cpu {
            println!("{}", cpu::kernels_line(c.precision));
        }
        return train(
            Start::Resume(Box::new((state, gan))),
            &args.out,
            &device,
            stop,
        );
    }
    if has_run && !args.force {
        bail!(
            "{} already holds a run; pass --resume to continue it, --force to start over, or \
             another --out",
            args.out.display()
        );
    }
    let config = args.config()?;
    precision::set(config.precision)?;
    let device = config.device.device()?.autodiff();
    println!(
        "training {} epochs, batch {}, Adam lr {} β1 {}, seed {} -> {}",
        config.epochs,
        config.batch_size,
        config.optimizer.lr,
        config.optimizer.beta1,
        config.seed,
        args.out.display()
    );
    if config.device == DeviceKind::Cpu {
        println!("{}", cpu::kernels_line(config.precision));
    }
    let start = Start::Fresh {
        config,
        dataset_explicit: args.dataset.is_some() || args.config.is_some(),
    };
    train(start, &args.out, &device, stop)
}
