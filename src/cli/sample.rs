//! `dcgan sample` and `dcgan interpolate`: pictures from a trained generator.

use std::path::PathBuf;

use anyhow::{Context, bail};
use burn::tensor::Device;
use clap::Args;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::checkpoint;
use crate::device::DeviceKind;
use crate::kernels::precision::{self, Precision};
use crate::logging::progress;
use crate::model::Generator;
use crate::picture::{
    ImageWriter, Layout, Noise, OutputKind, images_from_tensor, interpolation, read_npy,
    uniform_noise,
};

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
    /// Number of images [default: 100; with --noise, one per vector].
    #[arg(long)]
    n: Option<usize>,
    /// Draw the images of these noise vectors instead of random ones: a NumPy file of
    /// float32 [n, noise_dim] (the same vectors can go to another tool).
    #[arg(long, value_name = "FILE.npy", conflicts_with = "n")]
    noise: Option<PathBuf>,
    /// Images per row.
    #[arg(long, default_value_t = 10)]
    columns: usize,
    /// Where to write: FILE.png (one grid), FILE.npy (a float32 array [n, channels, height,
    /// width] in [-1, 1]), or DIR/ (one PNG per image).
    #[arg(long, value_name = "FILE.png|FILE.npy|DIR/")]
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
    /// Where to write: FILE.png (one row per line), FILE.npy (a float32 array
    /// [rows × steps, channels, height, width] in [-1, 1]), or DIR/ (one PNG per image).
    #[arg(long, value_name = "FILE.png|FILE.npy|DIR/")]
    out: PathBuf,
}

/// Images generated per forward pass.
const CHUNK: usize = 500;

/// Generates `count` images in chunks of [`CHUNK`], `noise(range)` giving the noise of the
/// images in `range`, and writes them to `out`; memory does not grow with `count`.
fn generate(
    g: &Generator,
    count: usize,
    columns: usize,
    args: &GeneratorArgs,
    out: &std::path::Path,
    device: &Device,
    mut noise: impl FnMut(std::ops::Range<usize>) -> Noise,
) -> anyhow::Result<()> {
    let side = g.image_size();
    let layout = Layout {
        count,
        channels: g.channels(),
        height: side,
        width: side,
        columns,
        scale: args.scale,
    };
    let mut writer = ImageWriter::create(out, layout)?;
    let bar = (count > CHUNK).then(|| progress::count_bar(count as u64, "generating"));
    for start in (0..count).step_by(CHUNK) {
        let range = start..(start + CHUNK).min(count);
        let n = range.len();
        let images = g.forward(noise(range).to_tensor(device));
        writer.push(images_from_tensor(images, columns))?;
        if let Some(bar) = &bar {
            bar.inc(n as u64);
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    writer.finish()
}

/// Runs `dcgan sample`.
pub fn sample(args: SampleArgs) -> anyhow::Result<()> {
    if args.n == Some(0) || args.columns == 0 {
        bail!("--n and --columns must be at least 1");
    }
    OutputKind::of(&args.out)?;
    precision::set(args.generator.precision)?;
    let device = args.generator.device.device()?;
    let (g, _) = checkpoint::load_generator(&args.generator.checkpoint, &device)?;
    let mut rng = ChaCha8Rng::seed_from_u64(args.generator.seed);
    let dim = g.noise_dim();
    let given = match &args.noise {
        Some(path) => Some(read_npy(path, dim).context("--noise")?),
        None => None,
    };
    let n = given
        .as_ref()
        .map_or(args.n.unwrap_or(100), |noise| noise.count);
    // Drawn a chunk at a time, the noise is the same as drawn at once.
    let noise = |range: std::ops::Range<usize>| match &given {
        Some(noise) => Noise {
            count: range.len(),
            dim,
            values: noise.values[range.start * dim..range.end * dim].to_vec(),
        },
        None => uniform_noise(range.len(), dim, &mut rng),
    };
    generate(
        &g,
        n,
        args.columns,
        &args.generator,
        &args.out,
        &device,
        noise,
    )?;
    println!("wrote {n} samples to {}", args.out.display());
    Ok(())
}

/// Runs `dcgan interpolate`.
pub fn interpolate(args: InterpolateArgs) -> anyhow::Result<()> {
    if args.steps < 2 || args.rows == 0 {
        bail!("--steps must be at least 2 and --rows at least 1");
    }
    let Some(count) = args.steps.checked_mul(args.rows) else {
        bail!("--steps × --rows is too large");
    };
    OutputKind::of(&args.out)?;
    precision::set(args.generator.precision)?;
    let device = args.generator.device.device()?;
    let (g, _) = checkpoint::load_generator(&args.generator.checkpoint, &device)?;
    let mut rng = ChaCha8Rng::seed_from_u64(args.generator.seed);
    let dim = g.noise_dim();
    let steps = args.steps;
    // Each row's two ends are drawn when the row begins, as `moving_noise` draws them.
    let mut ends: Option<(usize, Noise)> = None;
    let noise = |range: std::ops::Range<usize>| {
        let mut values = Vec::with_capacity(range.len() * dim);
        for index in range.clone() {
            let row = index / steps;
            if ends.as_ref().is_none_or(|(r, _)| *r != row) {
                ends = Some((row, uniform_noise(2, dim, &mut rng)));
            }
            let (_, line) = ends.as_ref().expect("set above");
            let step = index % steps;
            values.extend(interpolation(line, steps, step..step + 1).values);
        }
        Noise {
            count: range.len(),
            dim,
            values,
        }
    };
    generate(&g, count, steps, &args.generator, &args.out, &device, noise)?;
    println!(
        "wrote {} interpolation{} of {} steps to {}",
        args.rows,
        if args.rows == 1 { "" } else { "s" },
        args.steps,
        args.out.display()
    );
    Ok(())
}
