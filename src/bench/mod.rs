//! `dcgan bench`: how fast this machine trains and samples a model (the seed's by default,
//! or one of the DCGAN paper's family), on random data.
//!
//! One training iteration is a D step and a G step on a batch, as `dcgan train` runs it.
//! Generation is the generator in inference mode on 1000 noise vectors (the paper's family
//! in batches of 250, as `shared/bench/dcgan64_torch.py` does). Figures are medians and minima over
//! timed repetitions after warm-up; compare them with other tools as ratios measured in the
//! same session (`bench/compare.sh` in issue 4's plan), never across machines or days.

pub mod all_reduce;
pub mod layers;
pub mod peak;

use std::time::Instant;

use burn::module::Module;
use burn::tensor::{Distribution, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::device::DeviceKind;
use crate::kernels::cpu::{self, CpuInfo};
use crate::kernels::precision::{self, Precision};
use crate::model::{Architecture, Family};
use crate::picture::uniform_noise;
use crate::train::step::{scalar, train_iteration};
use crate::train::{Recipe, RunState, TrainConfig};

/// Images generated per timed generation.
pub const GENERATED: usize = 1000;

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Images per training batch.
    pub batch_size: usize,
    /// Timed repetitions of each measurement.
    pub iters: usize,
    /// Untimed repetitions first.
    pub warmup: usize,
    /// Where to compute.
    pub device: DeviceKind,
    /// Number format of the convolutions' products.
    pub precision: Precision,
    /// Side of the images: 28 for the seed's model, else the paper's family.
    pub image_size: usize,
    /// Channels of the images.
    pub channels: usize,
    /// The paper family's widths (`None`: 64).
    pub widths: (Option<usize>, Option<usize>),
}

impl Default for BenchConfig {
    /// The seed's model, batch 100, 20 timed repetitions after 3, f32 on the CPU.
    fn default() -> Self {
        BenchConfig {
            batch_size: 100,
            iters: 20,
            warmup: 3,
            device: DeviceKind::Cpu,
            precision: Precision::F32,
            image_size: 28,
            channels: 1,
            widths: (None, None),
        }
    }
}

/// Medians and minima in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    /// Median of the timed repetitions.
    pub median_ms: f64,
    /// Fastest timed repetition.
    pub min_ms: f64,
}

impl Timing {
    pub(crate) fn of(mut ms: Vec<f64>) -> Timing {
        ms.sort_by(f64::total_cmp);
        let mid = ms.len() / 2;
        let median_ms = if ms.len() % 2 == 1 {
            ms[mid]
        } else {
            (ms[mid - 1] + ms[mid]) / 2.0
        };
        Timing {
            median_ms,
            min_ms: ms[0],
        }
    }
}

/// The measurements.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The CPU and what it offers the kernels.
    pub cpu: CpuInfo,
    /// Number format of the convolutions' products.
    pub precision: Precision,
    /// The kernels dispatched to, in words (as `dcgan bench` prints them).
    pub kernels: String,
    /// The networks timed.
    pub architecture: Architecture,
    /// Trainable parameters of G and of D.
    pub parameters: (usize, usize),
    /// Images per training batch.
    pub batch_size: usize,
    /// One training iteration (D step then G step).
    pub train_iteration: Timing,
    /// Training images per second at the median.
    pub train_images_per_sec: f64,
    /// Generating [`GENERATED`] images.
    pub generate_1000: Timing,
    /// Generated images per second at the median.
    pub generate_images_per_sec: f64,
    /// Peak resident memory of the process in MiB (Linux only).
    pub peak_memory_mib: Option<f64>,
}

impl BenchConfig {
    /// The training recipe of the networks measured: the default's, at these sizes, seed 0.
    pub fn recipe(&self) -> Recipe {
        Recipe {
            batch_size: self.batch_size,
            seed: 0,
            image_size: Some(self.image_size),
            channels: Some(self.channels),
            g_width: self.widths.0,
            d_width: self.widths.1,
            ..Recipe::default()
        }
    }
}

/// Runs the measurements, with the products of this process in `config.precision`
/// ([`crate::device::start`]).
pub fn run(config: &BenchConfig) -> anyhow::Result<BenchReport> {
    anyhow::ensure!(
        config.batch_size > 0 && config.iters > 0,
        "--batch-size and --iters must be at least 1"
    );
    let device = crate::device::start(config.device, config.precision)?.autodiff();
    let recipe = config.recipe();
    let architecture = recipe.architecture()?;
    let train_config = TrainConfig {
        recipe,
        ..TrainConfig::default()
    };
    let (_, mut gan) = RunState::start(train_config.clone(), &device);
    let parameters = (
        trainable_parameters(&gan.generator),
        trainable_parameters(&gan.discriminator),
    );
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let side = architecture.image_size;
    let shape = [config.batch_size, architecture.channels, side, side];
    let real = Tensor::<4>::random(shape, Distribution::Uniform(-1.0, 1.0), &device);
    let settings = train_config.recipe.step_settings();

    let mut train_ms = Vec::new();
    for i in 0..config.warmup + config.iters {
        let noise = uniform_noise(config.batch_size, train_config.recipe.noise_dim, &mut rng)
            .to_tensor(&device);
        let start = Instant::now();
        // Reading the losses back waits for the work to finish on any device.
        let (next, _, _) = train_iteration(
            gan,
            (real.clone(), None),
            (noise, None),
            settings,
            (true, false),
        );
        gan = next;
        if i >= config.warmup {
            train_ms.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }

    let generator = gan.generator.valid();
    let inference = device.without_autodiff();
    let chunk = match architecture.family {
        Family::Seed => GENERATED,
        Family::Paper => GENERATED / 4,
    };
    let mut generate_ms = Vec::new();
    for i in 0..config.warmup + config.iters {
        let noise: Vec<_> = (0..GENERATED / chunk)
            .map(|_| {
                uniform_noise(chunk, train_config.recipe.noise_dim, &mut rng).to_tensor(&inference)
            })
            .collect();
        let start = Instant::now();
        for noise in noise {
            let images = generator.forward(noise, None);
            let _ = scalar(images.mean().reshape([1]));
        }
        if i >= config.warmup {
            generate_ms.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }

    let train_iteration = Timing::of(train_ms);
    let generate_1000 = Timing::of(generate_ms);
    Ok(BenchReport {
        cpu: cpu::info().clone(),
        precision: config.precision,
        kernels: kernels_line(config),
        architecture,
        parameters,
        batch_size: config.batch_size,
        train_images_per_sec: config.batch_size as f64 / train_iteration.median_ms * 1e3,
        generate_images_per_sec: GENERATED as f64 / generate_1000.median_ms * 1e3,
        train_iteration,
        generate_1000,
        peak_memory_mib: peak_memory_mib(),
    })
}

/// The CPU and the kernels a run of `config` uses, or the device when not the CPU.
pub fn kernels_line(config: &BenchConfig) -> String {
    match config.device {
        DeviceKind::Cpu => precision::kernels_line(config.precision),
        other => format!("--device {} (burn's kernels)", other.name()),
    }
}

/// Parameters of `module` that training changes: burn also counts BatchNorm's moving
/// statistics, which PyTorch keeps as buffers.
pub(crate) fn trainable_parameters<M: Module>(module: &M) -> usize {
    struct Count(usize);
    impl burn::module::ModuleVisitor for Count {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            if param.is_require_grad() {
                self.0 += param.shape().num_elements();
            }
        }
    }
    let mut count = Count(0);
    module.visit(&mut count);
    count.0
}

/// The process's peak resident set size (`VmHWM` in `/proc/self/status`).
fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_minima() {
        let t = Timing::of(vec![5.0, 1.0, 3.0]);
        assert_eq!((t.median_ms, t.min_ms), (3.0, 1.0));
        assert_eq!(Timing::of(vec![4.0, 2.0]).median_ms, 3.0);
    }

    #[test]
    fn measures_training_and_generation() {
        let config = BenchConfig {
            batch_size: 4,
            iters: 2,
            warmup: 1,
            ..BenchConfig::default()
        };
        let report = run(&config).unwrap();
        assert_eq!(report.precision, Precision::F32);
        assert!(
            report.kernels.contains("f32 products"),
            "{}",
            report.kernels
        );
        assert!(report.train_iteration.min_ms > 0.0);
        assert!(report.train_iteration.median_ms >= report.train_iteration.min_ms);
        assert!(report.generate_images_per_sec > 0.0);
        assert!(report.peak_memory_mib.is_some_and(|m| m > 1.0));
        // The seed discriminator's trainable parameters (its moving statistics aside).
        assert_eq!(
            report.parameters.1,
            832 + 51_264 + 128 + 204_928 + 256 + 2_049
        );
    }

    #[test]
    fn times_the_papers_family_with_pytorchs_parameter_counts() {
        let config = BenchConfig {
            batch_size: 2,
            iters: 1,
            warmup: 0,
            image_size: 64,
            channels: 3,
            ..BenchConfig::default()
        };
        let report = run(&config).unwrap();
        assert_eq!(report.architecture.family, Family::Paper);
        assert_eq!(report.parameters, (3_576_704, 2_765_568));
        assert!(report.train_iteration.min_ms > 0.0);
    }
}
