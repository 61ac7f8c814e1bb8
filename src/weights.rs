//! The generator as a safetensors file that other tools can load.
//!
//! Names, shapes and layouts are those of `shared/bench/dcgan_torch.py` (format
//! `dcgan-seed-generator-v1`, PyTorch layouts, `padding = "tf"`), documented in
//! `docs/weights.md`, so a generator trained here samples in PyTorch and back.

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
use crate::model::{Generator, GeneratorConfig};

/// The `format` metadata value of the files written here.
pub const FORMAT: &str = "dcgan-seed-generator-v1";

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 tensor")
}

/// The generator's tensors in PyTorch names and layouts, in a fixed order.
pub fn generator_tensors(g: &Generator) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let mut out = Vec::new();
    // burn's Linear is [in, out]; PyTorch's is [out, in].
    let fc = g.fc.weight.val().transpose();
    out.push(("fc.weight".into(), fc.dims().to_vec(), to_vec(fc)));
    let fc_bias = g.fc.bias.as_ref().expect("fc has a bias").val();
    out.push(("fc.bias".into(), fc_bias.dims().to_vec(), to_vec(fc_bias)));
    let mut bn = |name: &str, bn: &BatchNorm| {
        for (part, t) in [
            ("weight", bn.gamma.val()),
            ("bias", bn.beta.val()),
            ("running_mean", bn.running_mean.value()),
            ("running_var", bn.running_var.value()),
        ] {
            out.push((format!("{name}.{part}"), t.dims().to_vec(), to_vec(t)));
        }
    };
    bn("bn0", &g.bn0);
    bn("bn1", &g.bn1);
    bn("bn2", &g.bn2);
    for (name, layer) in [
        ("deconv1", &g.deconv1),
        ("deconv2", &g.deconv2),
        ("deconv3", &g.deconv3),
    ] {
        // burn's transposed-convolution layout [in, out, kh, kw] is PyTorch's.
        let w = layer.conv.weight.val();
        out.push((format!("{name}.weight"), w.dims().to_vec(), to_vec(w)));
        let b = layer.conv.bias.as_ref().expect("deconv has a bias").val();
        out.push((format!("{name}.bias"), b.dims().to_vec(), to_vec(b)));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Writes the generator as safetensors, atomically, with `epoch` in the metadata and
/// whether its BatchNorm moving averages were corrected for their start (`debiased`).
pub fn save_generator(
    g: &Generator,
    epoch: usize,
    debiased: bool,
    path: &Path,
) -> anyhow::Result<()> {
    let averages = if debiased { "debiased" } else { "tf" };
    let metadata = BTreeMap::from([
        ("batch_norm_moving_averages", averages.to_string()),
        ("epoch", epoch.to_string()),
        ("format", FORMAT.to_string()),
        ("layout", "NCHW".to_string()),
        ("padding", "tf".to_string()),
    ]);
    let file = encode_safetensors(&generator_tensors(g), &metadata);
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

/// Reads a generator written by [`save_generator`] or by `dcgan_torch.py --padding tf`.
pub fn load_generator(path: &Path, device: &Device) -> anyhow::Result<Generator> {
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
    let fc_shape = file
        .tensor("fc.weight")
        .with_context(context)?
        .shape()
        .to_vec();
    let noise_dim = *fc_shape.get(1).with_context(context)?;
    let mut g = GeneratorConfig::new()
        .with_noise_dim(noise_dim)
        .init(&mut ChaCha8Rng::seed_from_u64(0), device);
    let expected: HashMap<String, Vec<usize>> = generator_tensors(&g)
        .into_iter()
        .map(|(n, s, _)| (n, s))
        .collect();
    let read = |name: &str| -> anyhow::Result<TensorData> {
        let view = file
            .tensor(name)
            .with_context(|| format!("{}: tensor {name} is missing", path.display()))?;
        if view.dtype() != Dtype::F32 || view.shape() != expected[name].as_slice() {
            bail!(
                "{}: tensor {name} is {:?} {:?}, expected F32 {:?}",
                path.display(),
                view.dtype(),
                view.shape(),
                expected[name]
            );
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if values.iter().any(|v| !v.is_finite()) {
            bail!(
                "{}: tensor {name} holds NaN or infinite values",
                path.display()
            );
        }
        Ok(TensorData::new(values, view.shape().to_vec()))
    };
    let fc: Param<Tensor<2>> = Param::from_data(read("fc.weight")?, device);
    g.fc.weight = fc.map(|w| w.transpose());
    g.fc.bias = Some(Param::from_data(read("fc.bias")?, device));
    for (name, bn) in [
        ("bn0", &mut g.bn0),
        ("bn1", &mut g.bn1),
        ("bn2", &mut g.bn2),
    ] {
        bn.gamma = Param::from_data(read(&format!("{name}.weight"))?, device);
        bn.beta = Param::from_data(read(&format!("{name}.bias"))?, device);
        bn.running_mean = RunningState::new(Tensor::from_data(
            read(&format!("{name}.running_mean"))?,
            device,
        ));
        bn.running_var = RunningState::new(Tensor::from_data(
            read(&format!("{name}.running_var"))?,
            device,
        ));
    }
    for (name, layer) in [
        ("deconv1", &mut g.deconv1),
        ("deconv2", &mut g.deconv2),
        ("deconv3", &mut g.deconv3),
    ] {
        layer.conv.weight = Param::from_data(read(&format!("{name}.weight"))?, device);
        layer.conv.bias = Some(Param::from_data(read(&format!("{name}.bias"))?, device));
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;

    #[test]
    fn round_trip_gives_the_same_images() {
        let device = Device::flex();
        let g = GeneratorConfig::new().init(&mut ChaCha8Rng::seed_from_u64(5), &device);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.safetensors");
        save_generator(&g, 3, true, &path).unwrap();
        let first = std::fs::read(&path).unwrap();
        save_generator(&g, 3, true, &path).unwrap();
        assert_eq!(first, std::fs::read(&path).unwrap(), "byte-identical files");
        let (_, meta) = SafeTensors::read_metadata(&first).unwrap();
        assert_eq!(meta.metadata().as_ref().unwrap()["format"], FORMAT);
        let loaded = load_generator(&path, &device).unwrap();
        let noise = Tensor::<2>::random([2, 100], burn::tensor::Distribution::Default, &device);
        let a = g.valid().forward(noise.clone()).into_data();
        let b = loaded.valid().forward(noise).into_data();
        assert_eq!(a, b);
        let names: Vec<String> = generator_tensors(&g).into_iter().map(|t| t.0).collect();
        assert!(names.contains(&"deconv1.weight".to_string()));
        assert_eq!(names.len(), 2 + 12 + 6);
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
