//! The generator as a safetensors file that other tools can load, describing itself in its
//! metadata: family, sizes, channels, padding, noise (see `docs/weights.md`).
//!
//! The seed's generator keeps the names, shapes and layouts of `shared/bench/dcgan_torch.py`
//! (format `dcgan-seed-generator-v1`, [`seed`]); the DCGAN paper's family uses the names of
//! pytorch/examples' `nn.Sequential` generator (`net.0.weight`, …; format
//! `dcgan-paper-generator-v1`, [`paper`]), so PyTorch's `load_state_dict` takes it.

mod paper;
mod seed;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, bail};
use burn::module::{Param, RunningState};
use burn::nn::BatchNorm;
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use safetensors::{Dtype, SafeTensors};

use crate::atomic_file;
use crate::model::{Architecture, Conditioning, Family, Generator, GeneratorNet};

/// The `format` metadata value of a seed generator's file.
pub const SEED_FORMAT: &str = "dcgan-seed-generator-v1";
/// The `format` metadata value of a paper-family generator's file.
pub const PAPER_FORMAT: &str = "dcgan-paper-generator-v1";
/// The `noise` metadata value: what the generator expects as input.
pub const NOISE: &str = "uniform(-1,1)";

/// A named tensor for the file: name, shape, values in row-major order.
pub type NamedTensor = (String, Vec<usize>, Vec<f32>);

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 tensor")
}

/// A tensor of the file from a burn tensor, named `name`.
fn named<const D: usize>(name: impl Into<String>, t: Tensor<D>) -> NamedTensor {
    (name.into(), t.dims().to_vec(), to_vec(t))
}

/// A BatchNorm's γ, β and moving averages as PyTorch names them under `name`.
fn batch_norm_tensors(name: &str, bn: &BatchNorm) -> Vec<NamedTensor> {
    vec![
        named(format!("{name}.weight"), bn.gamma.val()),
        named(format!("{name}.bias"), bn.beta.val()),
        named(format!("{name}.running_mean"), bn.running_mean.value()),
        named(format!("{name}.running_var"), bn.running_var.value()),
    ]
}

/// Reads BatchNorm `name`'s tensors into `bn`.
fn load_batch_norm(
    bn: &mut BatchNorm,
    name: &str,
    file: &TensorFile,
    device: &Device,
) -> anyhow::Result<()> {
    bn.gamma = Param::from_data(file.read(&format!("{name}.weight"))?, device);
    bn.beta = Param::from_data(file.read(&format!("{name}.bias"))?, device);
    let running = |part: &str| -> anyhow::Result<Tensor<1>> {
        Ok(Tensor::from_data(
            file.read(&format!("{name}.{part}"))?,
            device,
        ))
    };
    bn.running_mean = RunningState::new(running("running_mean")?);
    bn.running_var = RunningState::new(running("running_var")?);
    Ok(())
}

/// The generator's tensors in PyTorch names and layouts, sorted by name.
pub fn generator_tensors(g: &Generator) -> Vec<NamedTensor> {
    let mut out = match &g.net {
        GeneratorNet::Seed(g) => seed::tensors(g),
        GeneratorNet::Paper(g) => paper::tensors(g),
    };
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// What a generator file says of its generator besides the weights' shapes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Description<'a> {
    /// A conditional generator's conditioning and class names, by label.
    pub conditional: Option<(Conditioning, &'a [String])>,
    /// Epochs trained.
    pub epoch: usize,
    /// Whether its BatchNorm moving averages were corrected for their start.
    pub debiased: bool,
    /// The decay, when the weights are a moving average of G's (`--ema`).
    pub ema: Option<f64>,
    /// How the generator was trained, as JSON (loss, learning rates, D's steps and
    /// stabilisers), for the record; `None` when unknown.
    pub training: Option<&'a str>,
}

/// The file's metadata for `g`: what another tool needs to rebuild and run it. A
/// conditional generator's also name its conditioning and its classes (a JSON list of
/// names, by label); its first layer takes the noise followed by the class's one-hot code.
/// Weights that are a moving average say so (`ema_decay`).
fn metadata(g: &Generator, about: &Description) -> BTreeMap<&'static str, String> {
    let Description {
        conditional,
        epoch,
        debiased,
        ema,
        training,
    } = *about;
    let (format, epsilon, momentum) = match g.family() {
        Family::Seed => (SEED_FORMAT, "0.001", "0.01"),
        Family::Paper => (PAPER_FORMAT, "0.00001", "0.1"),
    };
    let averages = match (debiased, g.family()) {
        (true, _) => "debiased",
        (false, Family::Seed) => "tf",
        (false, Family::Paper) => "plain",
    };
    let mut meta = BTreeMap::from([
        ("batch_norm_epsilon", epsilon.to_string()),
        ("batch_norm_momentum", momentum.to_string()),
        ("batch_norm_moving_averages", averages.to_string()),
        ("channels", g.channels().to_string()),
        ("epoch", epoch.to_string()),
        ("family", family_name(g.family()).to_string()),
        ("format", format.to_string()),
        ("g_width", g.width().to_string()),
        ("image_size", g.image_size().to_string()),
        ("layout", "NCHW".to_string()),
        ("noise", NOISE.to_string()),
        ("noise_dim", g.noise_dim().to_string()),
        ("output_range", "[-1,1]".to_string()),
        ("padding", "tf".to_string()),
    ]);
    if let Some((conditioning, classes)) = conditional {
        meta.insert("conditioning", conditioning.name().to_string());
        let names = serde_json::to_string(classes).expect("strings serialise");
        meta.insert("classes", names);
    }
    if let Some(decay) = ema {
        meta.insert("ema_decay", decay.to_string());
    }
    if let Some(training) = training {
        meta.insert("training", training.to_string());
    }
    meta
}

fn family_name(family: Family) -> &'static str {
    match family {
        Family::Seed => "seed",
        Family::Paper => "paper",
    }
}

/// Writes the generator as safetensors, atomically, described by `about` in its metadata.
pub fn save_generator(g: &Generator, about: &Description, path: &Path) -> anyhow::Result<()> {
    let meta = metadata(g, about);
    let file = encode_safetensors(&generator_tensors(g), &meta);
    atomic_file::write(path, &file).with_context(|| format!("cannot write {}", path.display()))
}

/// Encodes f32 tensors in the safetensors layout: a `u64` header length, a JSON header
/// (padded with spaces to a multiple of 8 bytes), then the little-endian data.
///
/// Written here rather than with `safetensors::serialize` because that writer emits the
/// metadata from a `HashMap`, in a different order on every run, and dcgan promises
/// byte-identical files for identical runs. Reading uses the crate, and the tests check that
/// it accepts what this writes.
fn encode_safetensors(
    tensors: &[(String, Vec<usize>, Vec<f32>)],
    metadata: &BTreeMap<&str, String>,
) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Info<'a> {
        dtype: &'a str,
        shape: &'a [usize],
        data_offsets: [usize; 2],
    }
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), serde_json::json!(metadata));
    let mut offset = 0;
    for (name, shape, values) in tensors {
        let end = offset + 4 * values.len();
        let info = Info {
            dtype: "F32",
            shape,
            data_offsets: [offset, end],
        };
        header.insert(
            name.clone(),
            serde_json::to_value(info).expect("serialisable"),
        );
        offset = end;
    }
    // Keys in sorted order whatever serde_json's map type: a BTreeMap of the entries.
    let sorted: BTreeMap<&String, &serde_json::Value> = header.iter().collect();
    let mut json = serde_json::to_vec(&sorted).expect("serialisable");
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend(json);
    for (_, _, values) in tensors {
        out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    }
    out
}

/// The tensors of a generator file, checked against the shapes a generator needs.
pub(crate) struct TensorFile<'a> {
    file: SafeTensors<'a>,
    path: &'a Path,
    expected: HashMap<String, Vec<usize>>,
}

impl<'a> TensorFile<'a> {
    /// `file`'s tensors, to be read into a generator shaped as `g`.
    fn new(file: SafeTensors<'a>, path: &'a Path, g: &Generator) -> Self {
        let expected = generator_tensors(g)
            .into_iter()
            .map(|(name, shape, _)| (name, shape))
            .collect();
        TensorFile {
            file,
            path,
            expected,
        }
    }

    /// Tensor `name`: F32, of the expected shape, finite.
    pub(crate) fn read(&self, name: &str) -> anyhow::Result<TensorData> {
        let path = self.path.display();
        let view = self
            .file
            .tensor(name)
            .with_context(|| format!("{path}: tensor {name} is missing"))?;
        let expected = &self.expected[name];
        if view.dtype() != Dtype::F32 || view.shape() != expected.as_slice() {
            bail!(
                "{path}: tensor {name} is {:?} {:?}, expected F32 {expected:?}",
                view.dtype(),
                view.shape(),
            );
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if values.iter().any(|v| !v.is_finite()) {
            bail!("{path}: tensor {name} holds NaN or infinite values");
        }
        Ok(TensorData::new(values, view.shape().to_vec()))
    }
}

/// Reads a generator written by [`save_generator`], or by `dcgan_torch.py --padding tf`
/// (a seed generator without the newer metadata), with its class names (empty for an
/// unconditional one).
pub fn load_generator(path: &Path, device: &Device) -> anyhow::Result<(Generator, Vec<String>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let context = || format!("{} is not a usable generator file", path.display());
    let file = SafeTensors::deserialize(&bytes).with_context(context)?;
    let (_, meta) = SafeTensors::read_metadata(&bytes).with_context(context)?;
    let meta = meta.metadata().clone().unwrap_or_default();
    if meta.get("padding").is_some_and(|p| p != "tf") {
        bail!(
            "{}: padding is {:?}; dcgan computes TF 'SAME' padding and needs padding \"tf\"",
            path.display(),
            meta["padding"]
        );
    }
    let number = |key: &str| -> anyhow::Result<usize> {
        let value = meta
            .get(key)
            .with_context(|| format!("{}: metadata has no {key}", path.display()))?;
        value.parse().with_context(|| {
            format!(
                "{}: metadata {key} is {value:?}, not a number",
                path.display()
            )
        })
    };
    let classes: Vec<String> = match meta.get("classes") {
        Some(names) => serde_json::from_str(names).with_context(|| {
            format!(
                "{}: metadata classes is {names:?}, not a JSON list of names",
                path.display()
            )
        })?,
        None => Vec::new(),
    };
    let conditioning = match meta.get("conditioning") {
        Some(name) => Some(
            <Conditioning as clap::ValueEnum>::from_str(name, false).map_err(|_| {
                anyhow::anyhow!("{}: unknown conditioning {name:?}", path.display())
            })?,
        ),
        None => None,
    };
    let arch = match meta.get("format").map(String::as_str) {
        None | Some(SEED_FORMAT) => {
            let shape = |name: &str, axis: usize| -> anyhow::Result<usize> {
                let view = file.tensor(name).with_context(context)?;
                view.shape().get(axis).copied().with_context(context)
            };
            // A conditional generator's first layer also takes the class code.
            let (input, channels) = (shape("fc.weight", 1)?, shape("deconv3.weight", 1)?);
            let noise_dim = input.checked_sub(classes.len()).with_context(context)?;
            Architecture::new(28, channels, noise_dim, None, None)
        }
        Some(PAPER_FORMAT) => Architecture::new(
            number("image_size")?,
            number("channels")?,
            number("noise_dim")?,
            Some(number("g_width")?),
            None,
        ),
        Some(other) => bail!(
            "{}: format {other:?} is not one dcgan reads ({SEED_FORMAT} or {PAPER_FORMAT})",
            path.display()
        ),
    }
    .with_context(context)?;
    let arch = match conditioning {
        Some(conditioning) => arch
            .with_conditioning(conditioning, classes.len())
            .with_context(context)?,
        None if !classes.is_empty() => bail!(
            "{}: metadata lists classes but no conditioning",
            path.display()
        ),
        None => arch,
    };
    // The sizes must account for the values the file holds (no more), before a generator of
    // those sizes is built: a small file cannot ask for a huge one.
    let held: u64 = file
        .tensors()
        .iter()
        .map(|(_, view)| view.shape().iter().map(|&d| d as u64).product::<u64>())
        .sum();
    if held != arch.generator_values() {
        bail!(
            "{}: its metadata describes {} ({} values), but its tensors hold {held} values",
            path.display(),
            arch.describe(),
            arch.generator_values()
        );
    }
    // A fresh generator gives the structure; the file replaces every value.
    let mut g = arch.generator(&mut ChaCha8Rng::seed_from_u64(0), device);
    let tensors = TensorFile::new(file, path, &g);
    g.net = match g.net {
        GeneratorNet::Seed(net) => GeneratorNet::Seed(seed::load(net, &tensors, device)?),
        GeneratorNet::Paper(net) => GeneratorNet::Paper(paper::load(net, &tensors, device)?),
    };
    Ok((g, classes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;

    /// Saves `g` twice (byte-identical), loads it back and checks its images, names and
    /// self-description.
    fn round_trip(g: &Generator) -> (Vec<String>, HashMap<String, String>) {
        round_trip_conditional(g, None)
    }

    fn round_trip_conditional(
        g: &Generator,
        conditional: Option<(Conditioning, &[String])>,
    ) -> (Vec<String>, HashMap<String, String>) {
        let device = Device::flex();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.safetensors");
        let about = Description {
            conditional,
            epoch: 3,
            debiased: true,
            ema: None,
            training: Some(r#"{"loss":"hinge"}"#),
        };
        save_generator(g, &about, &path).unwrap();
        let first = std::fs::read(&path).unwrap();
        save_generator(g, &about, &path).unwrap();
        assert_eq!(first, std::fs::read(&path).unwrap(), "byte-identical files");
        let (_, meta) = SafeTensors::read_metadata(&first).unwrap();
        let meta = meta.metadata().clone().unwrap();
        let (loaded, classes) = load_generator(&path, &device).unwrap();
        assert_eq!(classes, conditional.map_or(&[][..], |c| c.1));
        let noise = Tensor::<2>::random(
            [2, g.noise_dim()],
            burn::tensor::Distribution::Default,
            &device,
        );
        let labels = (g.classes() > 0)
            .then(|| crate::model::conditioning::labels(&[1, g.classes() - 1], &device));
        let a = g.valid().forward(noise.clone(), labels.clone()).into_data();
        let b = loaded.valid().forward(noise, labels).into_data();
        assert_eq!(a, b);
        let names = generator_tensors(g).into_iter().map(|t| t.0).collect();
        (names, meta)
    }

    #[test]
    fn seed_generators_round_trip_under_the_reference_names() {
        let arch = Architecture::seed(100);
        let g = arch.generator(&mut ChaCha8Rng::seed_from_u64(5), &Device::flex());
        let (names, meta) = round_trip(&g);
        assert!(names.contains(&"deconv1.weight".to_string()));
        assert_eq!(names.len(), 2 + 12 + 6);
        assert_eq!(meta["format"], SEED_FORMAT);
        assert_eq!(
            (meta["image_size"].as_str(), meta["channels"].as_str()),
            ("28", "1")
        );
        assert_eq!(
            (meta["family"].as_str(), meta["noise"].as_str()),
            ("seed", NOISE)
        );
    }

    #[test]
    fn paper_generators_round_trip_under_pytorch_sequential_names() {
        let arch = Architecture::new(32, 3, 20, Some(8), None).unwrap();
        let g = arch.generator(&mut ChaCha8Rng::seed_from_u64(6), &Device::flex());
        let (names, meta) = round_trip(&g);
        // 32 px: 4 → 8 → 16 → 32; net.0 ConvT, net.1 BN, then ConvT/BN at 3/4 and 6/7, the
        // last ConvT at 9.
        let mut expected = vec!["net.0.weight".to_string(), "net.3.weight".into()];
        expected.extend(["net.6.weight".into(), "net.9.weight".into()]);
        for bn in ["net.1", "net.4", "net.7"] {
            for part in ["weight", "bias", "running_mean", "running_var"] {
                expected.push(format!("{bn}.{part}"));
            }
        }
        expected.sort();
        assert_eq!(names, expected);
        let shapes: HashMap<String, Vec<usize>> = generator_tensors(&g)
            .into_iter()
            .map(|(n, s, _)| (n, s))
            .collect();
        assert_eq!(shapes["net.0.weight"], [20, 32, 4, 4]);
        assert_eq!(shapes["net.9.weight"], [8, 3, 4, 4]);
        assert_eq!(meta["format"], PAPER_FORMAT);
        for (key, value) in [
            ("family", "paper"),
            ("image_size", "32"),
            ("channels", "3"),
            ("noise_dim", "20"),
            ("g_width", "8"),
            ("padding", "tf"),
            ("batch_norm_epsilon", "0.00001"),
        ] {
            assert_eq!(meta[key], value, "{key}");
        }
    }

    #[test]
    fn conditional_generators_round_trip_with_their_classes() {
        let names: Vec<String> = ["cat", "dog", "owl"].map(String::from).into();
        for arch in [
            Architecture::seed(12),
            Architecture::new(16, 3, 8, Some(4), None).unwrap(),
        ] {
            let arch = arch.with_conditioning(Conditioning::Acgan, 3).unwrap();
            let g = arch.generator(&mut ChaCha8Rng::seed_from_u64(5), &Device::flex());
            let (_, meta) = round_trip_conditional(&g, Some((Conditioning::Acgan, &names)));
            assert_eq!(meta["conditioning"], "acgan");
            assert_eq!(meta["classes"], r#"["cat","dog","owl"]"#);
            assert_eq!(g.noise_dim(), arch.noise_dim);
        }
    }

    #[test]
    fn a_file_with_an_unknown_format_or_wrong_shapes_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let arch = Architecture::new(16, 1, 10, Some(4), None).unwrap();
        let g = arch.generator(&mut ChaCha8Rng::seed_from_u64(7), &Device::flex());
        let mut meta = metadata(&g, &Description::default());
        meta.insert("format", "someone-elses".into());
        let path = dir.path().join("other.safetensors");
        std::fs::write(&path, encode_safetensors(&generator_tensors(&g), &meta)).unwrap();
        let err = load_generator(&path, &Device::flex())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("other.safetensors") && err.contains("someone-elses"),
            "{err}"
        );
        // Metadata that promises a wider generator than the tensors hold.
        let mut meta = metadata(&g, &Description::default());
        meta.insert("g_width", "8".into());
        std::fs::write(&path, encode_safetensors(&generator_tensors(&g), &meta)).unwrap();
        let err = format!("{:#}", load_generator(&path, &Device::flex()).unwrap_err());
        assert!(
            err.contains("widths G 8") && err.contains("values"),
            "{err}"
        );
        // A huge generator promised by a tiny file is refused before it is built.
        let mut meta = metadata(&g, &Description::default());
        meta.insert("noise_dim", "60000".into());
        meta.insert("g_width", "256".into());
        std::fs::write(&path, encode_safetensors(&generator_tensors(&g), &meta)).unwrap();
        let err = format!("{:#}", load_generator(&path, &Device::flex()).unwrap_err());
        assert!(
            err.contains("other.safetensors") && err.contains("values"),
            "{err}"
        );
        // A tensor of the wrong shape, with the right number of values.
        let mut tensors = generator_tensors(&g);
        let start = tensors.iter_mut().find(|t| t.0 == "net.0.weight").unwrap();
        start.1 = vec![start.1[1], start.1[0], 4, 4];
        std::fs::write(
            &path,
            encode_safetensors(&tensors, &metadata(&g, &Description::default())),
        )
        .unwrap();
        let err = format!("{:#}", load_generator(&path, &Device::flex()).unwrap_err());
        assert!(
            err.contains("net.0.weight") && err.contains("expected F32"),
            "{err}"
        );
    }

    #[test]
    fn rejects_a_file_that_is_not_safetensors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.safetensors");
        std::fs::write(&path, b"not at all").unwrap();
        let err = load_generator(&path, &Device::flex())
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.safetensors"), "{err}");
    }
}
