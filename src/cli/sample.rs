//! `dcgan sample` and `dcgan interpolate`: pictures from a trained generator.

use std::path::PathBuf;

use anyhow::{Context, bail};
use burn::tensor::{Device, Tensor, TensorData};
use clap::Args;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::compute::ComputeArgs;
use crate::logging::progress;
use crate::model::Generator;
use crate::picture::{
    ImageWriter, Layout, Noise, OutputKind, images_from_tensor, interpolation, read_npy,
    uniform_noise,
};
use crate::train::checkpoint::{self, LoadedGenerator};

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
    #[command(flatten)]
    compute: ComputeArgs,
    /// Each pixel is drawn this many times larger.
    #[arg(long, default_value_t = 2)]
    scale: u32,
    /// For a conditional generator: the class to draw, by number (0, 1, …) or by name;
    /// `all` (sample only) draws one row per class, the same noise down each column
    /// [default: the classes in turn, image i of class i mod classes].
    #[arg(long, value_name = "CLASS|all")]
    class: Option<String>,
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
    /// For a conditional generator: morph from --class to this class, the noise fixed in
    /// each row.
    #[arg(long, value_name = "CLASS", requires = "class")]
    to_class: Option<String>,
    /// Where to write: FILE.png (one row per line), FILE.npy (a float32 array
    /// [rows × steps, channels, height, width] in [-1, 1]), or DIR/ (one PNG per image).
    #[arg(long, value_name = "FILE.png|FILE.npy|DIR/")]
    out: PathBuf,
}

/// The generator's inputs for some of the images.
struct Inputs {
    /// Their noise.
    noise: Noise,
    /// A conditional generator's class codes, `noise.count × classes` values: one-hot rows
    /// for one class, blends for a morph.
    codes: Option<Vec<f32>>,
}

/// Which classes a conditional generator draws (`--class`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClassChoice {
    /// Image `i` is of class `i mod classes`.
    InTurn,
    /// Every image is of this class.
    One(usize),
    /// One row per class.
    All,
}

/// Reads `--class` (a number, a name or `all`) for a generator with `classes`; `flag`
/// names the flag in errors. An unconditional generator takes no class.
fn class_choice(
    value: Option<&str>,
    classes: &[String],
    flag: &str,
) -> anyhow::Result<ClassChoice> {
    let Some(value) = value else {
        return Ok(ClassChoice::InTurn);
    };
    if classes.is_empty() {
        bail!(
            "{flag} {value}: this generator is unconditional; train with --conditional to \
             draw chosen classes"
        );
    }
    if value == "all" {
        return Ok(ClassChoice::All);
    }
    if let Some(index) = classes
        .iter()
        .position(|name| name.eq_ignore_ascii_case(value))
    {
        return Ok(ClassChoice::One(index));
    }
    match value.parse::<usize>() {
        Ok(index) if index < classes.len() => Ok(ClassChoice::One(index)),
        _ => bail!(
            "{flag} {value}: the generator knows {} classes, by number 0 to {} or by name: {}",
            classes.len(),
            classes.len() - 1,
            classes.join(", ")
        ),
    }
}

/// One-hot codes of `labels` among `classes` classes.
fn one_hot_codes(labels: impl Iterator<Item = usize>, classes: usize) -> Vec<f32> {
    labels
        .flat_map(|label| (0..classes).map(move |c| if c == label { 1.0 } else { 0.0 }))
        .collect()
}

/// Images generated per forward pass.
const CHUNK: usize = 500;

/// Generates `count` images in chunks of [`CHUNK`], `inputs(range)` giving the inputs of
/// the images in `range`, and writes them to `out`; memory does not grow with `count`.
fn generate(
    g: &Generator,
    count: usize,
    columns: usize,
    args: &GeneratorArgs,
    out: &std::path::Path,
    device: &Device,
    mut inputs: impl FnMut(std::ops::Range<usize>) -> Inputs,
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
        let Inputs { noise, codes } = inputs(range);
        let codes =
            codes.map(|codes| Tensor::from_data(TensorData::new(codes, [n, g.classes()]), device));
        let images = g.forward_with_codes(noise.to_tensor(device), codes);
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
    let device = args.generator.compute.start()?;
    let LoadedGenerator {
        generator: g,
        classes,
        ..
    } = checkpoint::load_generator(&args.generator.checkpoint, &device)?;
    let choice = class_choice(args.generator.class.as_deref(), &classes, "--class")?;
    let mut rng = ChaCha8Rng::seed_from_u64(args.generator.seed);
    let dim = g.noise_dim();
    let given = match &args.noise {
        Some(path) => Some(read_npy(path, dim).context("--noise")?),
        None => None,
    };
    let columns = args.columns;
    let n = match (&given, choice) {
        (Some(noise), _) => noise.count,
        (None, ClassChoice::All) => {
            if args.n.is_some() {
                bail!("--class all draws --columns images per class; drop --n");
            }
            columns * classes.len()
        }
        (None, _) => args.n.unwrap_or(100),
    };
    // With --class all, every row repeats the first row's noise.
    let drawn = (given.is_none() && choice == ClassChoice::All)
        .then(|| uniform_noise(columns, dim, &mut rng));
    // Drawn a chunk at a time, the noise is the same as drawn at once.
    let noise = |range: std::ops::Range<usize>, rng: &mut ChaCha8Rng| match (&given, choice) {
        (Some(noise), _) => Noise {
            count: range.len(),
            dim,
            values: noise.values[range.start * dim..range.end * dim].to_vec(),
        },
        (None, ClassChoice::All) => {
            let row = drawn.as_ref().expect("drawn without --noise");
            let values = range
                .clone()
                .flat_map(|i| row.values[(i % columns) * dim..(i % columns + 1) * dim].to_vec())
                .collect();
            Noise {
                count: range.len(),
                dim,
                values,
            }
        }
        (None, _) => uniform_noise(range.len(), dim, rng),
    };
    let k = classes.len();
    let inputs = |range: std::ops::Range<usize>| {
        let codes = (k > 0).then(|| {
            let labels = range.clone().map(|i| match choice {
                ClassChoice::InTurn => i % k,
                ClassChoice::One(class) => class,
                ClassChoice::All => i / columns,
            });
            one_hot_codes(labels, k)
        });
        Inputs {
            noise: noise(range, &mut rng),
            codes,
        }
    };
    generate(&g, n, columns, &args.generator, &args.out, &device, inputs)?;
    crate::say!("wrote {n} samples to {}", args.out.display())?;
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
    let device = args.generator.compute.start()?;
    let LoadedGenerator {
        generator: g,
        classes,
        ..
    } = checkpoint::load_generator(&args.generator.checkpoint, &device)?;
    let from = class_choice(args.generator.class.as_deref(), &classes, "--class")?;
    let to = class_choice(args.to_class.as_deref(), &classes, "--to-class")?;
    if from == ClassChoice::All || to == ClassChoice::All {
        bail!("interpolate draws one class or a morph between two: --class all is sample's");
    }
    // A morph keeps each row's noise and blends the class codes.
    let morph = match (from, to) {
        (ClassChoice::One(a), ClassChoice::One(b)) => Some((a, b)),
        _ => None,
    };
    let mut interpolation = Interpolation {
        rng: ChaCha8Rng::seed_from_u64(args.generator.seed),
        dim: g.noise_dim(),
        steps: args.steps,
        classes: classes.len(),
        morph,
        from,
        ends: None,
    };
    let steps = args.steps;
    let inputs = |range| interpolation.inputs(range);
    generate(
        &g,
        count,
        steps,
        &args.generator,
        &args.out,
        &device,
        inputs,
    )?;
    crate::say!(
        "wrote {} interpolation{} of {} steps to {}",
        args.rows,
        if args.rows == 1 { "" } else { "s" },
        args.steps,
        args.out.display()
    )?;
    Ok(())
}

/// The inputs of `interpolate`'s images, drawn in order: each row's two ends when the row
/// begins (as `moving_noise` draws them) and the steps between them, or for a morph one
/// noise vector a row under class codes blended from one class to the other.
struct Interpolation {
    rng: ChaCha8Rng,
    dim: usize,
    steps: usize,
    /// The generator's classes; 0 for an unconditional one.
    classes: usize,
    /// The two classes of a morph.
    morph: Option<(usize, usize)>,
    /// The class of every row (or each row its own, in turn), when not a morph.
    from: ClassChoice,
    /// The current row and its ends.
    ends: Option<(usize, Noise)>,
}

impl Interpolation {
    /// The inputs of the images `range`, in the grid's order (rows of `steps`).
    fn inputs(&mut self, range: std::ops::Range<usize>) -> Inputs {
        let (dim, steps, k) = (self.dim, self.steps, self.classes);
        let mut values = Vec::with_capacity(range.len() * dim);
        let mut codes = Vec::with_capacity(range.len() * k);
        for index in range.clone() {
            let row = index / steps;
            if self.ends.as_ref().is_none_or(|(r, _)| *r != row) {
                let drawn = if self.morph.is_some() { 1 } else { 2 };
                self.ends = Some((row, uniform_noise(drawn, dim, &mut self.rng)));
            }
            let (_, line) = self.ends.as_ref().expect("set above");
            let step = index % steps;
            let t = step as f32 / (steps - 1) as f32;
            match (self.morph, self.from) {
                (Some((a, b)), _) => {
                    values.extend(&line.values);
                    let mut code = vec![0.0f32; k];
                    code[a] += 1.0 - t;
                    code[b] += t;
                    codes.extend(code);
                }
                (None, choice) => {
                    values.extend(interpolation(line, steps, step..step + 1).values);
                    let label = match choice {
                        ClassChoice::One(class) => class,
                        _ => row % k.max(1),
                    };
                    codes.extend(one_hot_codes(std::iter::once(label), k));
                }
            }
        }
        let noise = Noise {
            count: range.len(),
            dim,
            values,
        };
        Inputs {
            noise,
            codes: (k > 0).then_some(codes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_chosen_by_number_or_name_and_bad_ones_are_refused() {
        let names: Vec<String> = ["T-shirt/top", "Trouser", "Bag"].map(String::from).into();
        let choice = |v: &str| class_choice(Some(v), &names, "--class");
        assert_eq!(choice("1").unwrap(), ClassChoice::One(1));
        assert_eq!(choice("bag").unwrap(), ClassChoice::One(2));
        assert_eq!(choice("all").unwrap(), ClassChoice::All);
        assert_eq!(
            class_choice(None, &names, "--class").unwrap(),
            ClassChoice::InTurn
        );
        let err = choice("12").unwrap_err().to_string();
        assert!(
            err.contains("--class 12") && err.contains("0 to 2"),
            "{err}"
        );
        assert!(err.contains("Trouser"), "{err}");
        let err = class_choice(Some("3"), &[], "--class")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unconditional"), "{err}");
    }

    #[test]
    fn one_hot_codes_light_one_class_per_image() {
        assert_eq!(
            one_hot_codes([2, 0].into_iter(), 3),
            [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]
        );
    }
}
