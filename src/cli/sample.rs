//! `dcgan sample` and `dcgan interpolate`: pictures from a trained generator.

use std::path::PathBuf;

use anyhow::bail;
use burn::tensor::Device;
use clap::Args;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::checkpoint;
use crate::device::DeviceKind;
use crate::kernels::precision::{self, Precision};
use crate::logging::progress;
use crate::model::Generator;
use crate::picture::{ImageGrid, Noise, images_from_tensor, moving_noise, uniform_noise};

/// Where the generator comes from.
#[derive(Debug, Args)]
pub struct GeneratorArgs {
    /// A run directory (its latest checkpoint), a checkpoint file, or a generator
    /// .safetensors file.
    #[arg(long, value_name = "PATH")]
    checkpoint: PathBuf,
    /// Seed of the noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where to compute.
    #[arg(long, default_value = "cpu")]
    device: DeviceKind,
    /// Number format of the convolutions' matrix products: f32, or bf16 with f32 sums
    /// (CPUs with AVX512-BF16).
    #[arg(long, default_value = "f32")]
    precision: Precision,
    /// Each pixel is drawn this many times larger.
    #[arg(long, default_value_t = 2)]
    scale: u32,
}

/// Flags of `dcgan sample`.
#[derive(Debug, Args)]
pub struct SampleArgs {
    #[command(flatten)]
    generator: GeneratorArgs,
    /// Number of images.
    #[arg(long, default_value_t = 100)]
    n: usize,
    /// Images per row.
    #[arg(long, default_value_t = 10)]
    columns: usize,
    /// The PNG file to write.
    #[arg(long, value_name = "FILE.png")]
    out: PathBuf,
}

/// Flags of `dcgan interpolate`.
#[derive(Debug, Args)]
pub struct InterpolateArgs {
    #[command(flatten)]
    generator: GeneratorArgs,
    /// Images along each line, both ends included.
    #[arg(long, default_value_t = 10)]
    steps: usize,
    /// Number of lines, one per row, each between two new random vectors.
    #[arg(long, default_value_t = 1)]
    rows: usize,
    /// The PNG file to write.
    #[arg(long, value_name = "FILE.png")]
    out: PathBuf,
}

/// Generates images for `noise` in chunks, with a progress bar for large counts.
fn generate(g: &Generator, noise: &Noise, columns: usize, device: &Device) -> ImageGrid {
    const CHUNK: usize = 500;
    let bar = (noise.count > CHUNK).then(|| progress::count_bar(noise.count as u64, "generating"));
    let mut grid: Option<ImageGrid> = None;
    for start in (0..noise.count).step_by(CHUNK) {
        let count = CHUNK.min(noise.count - start);
        let chunk = Noise {
            count,
            dim: noise.dim,
            values: noise.values[start * noise.dim..(start + count) * noise.dim].to_vec(),
        };
        let images = images_from_tensor(g.forward(chunk.to_tensor(device)), columns);
        grid = Some(match grid {
            Some(grid) => grid.stack(images),
            None => images,
        });
        if let Some(bar) = &bar {
            bar.inc(count as u64);
        }
    }
    grid.expect("at least one image")
}

/// Runs `dcgan sample`.
pub fn sample(args: SampleArgs) -> anyhow::Result<()> {
    if args.n == 0 || args.columns == 0 {
        bail!("--n and --columns must be at least 1");
    }
    precision::set(args.generator.precision)?;
    let device = args.generator.device.device()?;
    let (g, _) = checkpoint::load_generator(&args.generator.checkpoint, &device)?;
    let mut rng = ChaCha8Rng::seed_from_u64(args.generator.seed);
    let noise = uniform_noise(args.n, g.noise_dim(), &mut rng);
    generate(&g, &noise, args.columns, &device).save_png(&args.out, args.generator.scale)?;
    println!("wrote {} samples to {}", args.n, args.out.display());
    Ok(())
}

/// Runs `dcgan interpolate`.
pub fn interpolate(args: InterpolateArgs) -> anyhow::Result<()> {
    if args.steps < 2 || args.rows == 0 {
        bail!("--steps must be at least 2 and --rows at least 1");
    }
    precision::set(args.generator.precision)?;
    let device = args.generator.device.device()?;
    let (g, _) = checkpoint::load_generator(&args.generator.checkpoint, &device)?;
    let mut rng = ChaCha8Rng::seed_from_u64(args.generator.seed);
    let dim = g.noise_dim();
    let mut values = Vec::new();
    for _ in 0..args.rows {
        values.extend(moving_noise(args.steps, dim, &mut rng).values);
    }
    let noise = Noise {
        count: args.steps * args.rows,
        dim,
        values,
    };
    generate(&g, &noise, args.steps, &device).save_png(&args.out, args.generator.scale)?;
    println!(
        "wrote {} interpolation{} of {} steps to {}",
        args.rows,
        if args.rows == 1 { "" } else { "s" },
        args.steps,
        args.out.display()
    );
    Ok(())
}
