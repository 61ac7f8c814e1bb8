//! The evaluation classifier: a small LeNet-like CNN trained on the data set itself, whose
//! penultimate layer gives the features of the Fréchet and kernel distances and whose
//! softmax gives the Inception-Score analogue and the class histogram.

use std::path::Path;

use anyhow::{Context, bail};
use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, PaddingConfig2d};
use burn::store::ModuleRecord;
use burn::tensor::activation::relu;
use burn::tensor::{Bytes, Device, Tensor};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::data::DatasetKind;
use crate::data::download::sha256_hex;
use crate::model::init::{glorot_uniform, number_params, zeros};
use crate::{atomic_file, sections};

/// Sizes of the [`Classifier`].
#[derive(Config, Debug, PartialEq)]
pub struct ClassifierConfig {
    /// Classes of the data set.
    #[config(default = 10)]
    pub classes: usize,
    /// Length of the feature vector (the penultimate layer).
    #[config(default = 128)]
    pub features: usize,
    /// Side of the (square, one-channel) input images.
    #[config(default = 28)]
    pub image_size: usize,
}

/// Conv 5×5 →32, ReLU, max-pool 2; Conv 5×5 →64, ReLU, max-pool 2; Dense →128, ReLU (the
/// features); Dense →10 logits. Inputs in `[-1, 1]`, as the generator draws them.
#[derive(Module, Debug)]
pub struct Classifier {
    conv1: Conv2d,
    conv2: Conv2d,
    pool: MaxPool2d,
    fc1: Linear,
    fc2: Linear,
}

/// What the classifier sees in a batch of images.
pub struct ClassifierOutput {
    /// The penultimate layer's activations, `[batch, features]`.
    pub features: Tensor<2>,
    /// The class logits, `[batch, classes]`.
    pub logits: Tensor<2>,
}

impl ClassifierConfig {
    /// A classifier with Glorot-uniform weights and zero biases drawn from `rng`.
    pub fn init(&self, rng: &mut impl Rng, device: &Device) -> Classifier {
        let mut conv = |c_in: usize, c_out: usize| {
            let mut conv = Conv2dConfig::new([c_in, c_out], [5, 5])
                .with_padding(PaddingConfig2d::Explicit(2, 2, 2, 2))
                .init(device);
            conv.weight = glorot_uniform([c_out, c_in, 5, 5], c_in * 25, c_out * 25, rng, device);
            conv.bias = Some(zeros(c_out, device));
            conv
        };
        let conv1 = conv(1, 32);
        let conv2 = conv(32, 64);
        let flat = 64 * (self.image_size / 4) * (self.image_size / 4);
        let mut linear = |d_in: usize, d_out: usize| Linear {
            weight: glorot_uniform([d_in, d_out], d_in, d_out, rng, device),
            bias: Some(zeros(d_out, device)),
        };
        let fc1 = linear(flat, self.features);
        let fc2 = linear(self.features, self.classes);
        let classifier = Classifier {
            conv1,
            conv2,
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            fc1,
            fc2,
        };
        number_params(classifier, 3 << 32)
    }
}

impl Classifier {
    /// Features and logits of a batch of images.
    ///
    /// # Shapes
    /// - images: `[batch, 1, image_size, image_size]`
    pub fn forward(&self, images: Tensor<4>) -> ClassifierOutput {
        let x = self.pool.forward(relu(self.conv1.forward(images)));
        let x = self.pool.forward(relu(self.conv2.forward(x)));
        let features = relu(self.fc1.forward(x.flatten(1, 3)));
        let logits = self.fc2.forward(features.clone());
        ClassifierOutput { features, logits }
    }
}

/// What a classifier file says about its classifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassifierInfo {
    /// The data set it was trained on.
    pub dataset: DatasetKind,
    /// Its accuracy on the data set's test split, in `[0, 1]`.
    pub test_accuracy: f64,
    /// Epochs it was trained for.
    pub epochs: usize,
    /// The seed of its training.
    pub seed: u64,
    /// Its feature length.
    pub features: usize,
    /// Its number of classes.
    pub classes: usize,
}

const MAGIC: &[u8; 8] = b"DCGANCLS";
const FORMAT_VERSION: u32 = 1;

/// The evaluation classifiers built into the binary, trained by `dcgan classifier train`
/// (the commands, accuracies and checksums are in `assets/classifiers/README.md`).
const BUILT_IN: [(DatasetKind, &[u8]); 2] = [
    (
        DatasetKind::Mnist,
        include_bytes!("../../assets/classifiers/mnist.dcgan"),
    ),
    (
        DatasetKind::FashionMnist,
        include_bytes!("../../assets/classifiers/fashion-mnist.dcgan"),
    ),
];

/// Which classifier produced a set of scores: figures from different classifiers do not
/// compare.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierId {
    /// `built-in <dataset>`, or the file it was read from.
    pub name: String,
    /// SHA-256 of its file, in hex.
    pub sha256: String,
    /// Its accuracy on the data set's test split.
    pub test_accuracy: f64,
}

impl ClassifierId {
    /// The name and the first 12 hex digits of the checksum, for tables.
    pub fn short(&self) -> String {
        format!("{} (sha256 {})", self.name, &self.sha256[..12])
    }
}

/// Saves a classifier with its info, atomically.
pub fn save(path: &Path, classifier: &Classifier, info: &ClassifierInfo) -> anyhow::Result<()> {
    let record = classifier
        .clone()
        .into_record()
        .into_bytes()
        .map_err(anyhow::Error::msg)?;
    let meta = serde_json::to_vec(info)?;
    let bytes = sections::encode(
        MAGIC,
        FORMAT_VERSION,
        &[("info", &meta), ("model", &record)],
    );
    atomic_file::write(path, &bytes)
        .with_context(|| format!("cannot write classifier {}", path.display()))
}

/// Loads a classifier file.
pub fn load(path: &Path, device: &Device) -> anyhow::Result<(Classifier, ClassifierInfo)> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read classifier {}", path.display()))?;
    decode(&bytes, device).with_context(|| format!("classifier {} is unusable", path.display()))
}

/// A classifier from the bytes of its file.
fn decode(bytes: &[u8], device: &Device) -> anyhow::Result<(Classifier, ClassifierInfo)> {
    let mut sections = sections::decode(bytes, MAGIC, FORMAT_VERSION, "classifier")?;
    let info: ClassifierInfo =
        serde_json::from_slice(&sections.take("info")?).context("section info is not valid")?;
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(sections.take("model")?))
        .map_err(|e| anyhow::anyhow!("section model: {e}"))?;
    let config = ClassifierConfig::new()
        .with_features(info.features)
        .with_classes(info.classes);
    let classifier = config
        .init(&mut rand_chacha::ChaCha8Rng::seed_from_u64(0), device)
        .try_load_record(record)
        .map_err(|e| anyhow::anyhow!("section model: {e}"))?;
    Ok((classifier, info))
}

/// True when dcgan has a classifier of `dataset` built in.
pub fn has_built_in(dataset: DatasetKind) -> bool {
    BUILT_IN.iter().any(|(kind, _)| *kind == dataset)
}

/// The evaluation classifier of `dataset`: the file `path`, or the one built in.
pub fn load_for(
    path: Option<&Path>,
    dataset: DatasetKind,
    device: &Device,
) -> anyhow::Result<(Classifier, ClassifierId)> {
    let (bytes, name) = match path {
        Some(path) => (
            std::fs::read(path)
                .with_context(|| format!("cannot read classifier {}", path.display()))?,
            path.display().to_string(),
        ),
        None => {
            let Some((_, bytes)) = BUILT_IN.iter().find(|(kind, _)| *kind == dataset) else {
                bail!(
                    "dcgan has no evaluation classifier built in for {}; pass --classifier FILE \
                     (one trained by `dcgan classifier train`), which supports mnist and \
                     fashion-mnist",
                    dataset.name()
                );
            };
            (bytes.to_vec(), format!("built-in {}", dataset.spec().name))
        }
    };
    let (model, info) =
        decode(&bytes, device).with_context(|| format!("classifier {name} is unusable"))?;
    if info.dataset != dataset {
        bail!(
            "the classifier {name} was trained on {}, but this evaluation is on {}",
            info.dataset.spec().name,
            dataset.spec().name
        );
    }
    let id = ClassifierId {
        name,
        sha256: sha256_hex(&bytes),
        test_accuracy: info.test_accuracy,
    };
    Ok((model, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_a_save_load_round_trip() {
        let device = Device::flex();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let classifier = ClassifierConfig::new().init(&mut rng, &device);
        let images = Tensor::<4>::zeros([3, 1, 28, 28], &device).add_scalar(0.5);
        let out = classifier.forward(images.clone());
        assert_eq!(out.features.dims(), [3, 128]);
        assert_eq!(out.logits.dims(), [3, 10]);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.dcgan");
        let info = ClassifierInfo {
            dataset: DatasetKind::Mnist,
            test_accuracy: 0.5,
            epochs: 1,
            seed: 1,
            features: 128,
            classes: 10,
        };
        save(&path, &classifier, &info).unwrap();
        let (loaded, loaded_info) = load(&path, &device).unwrap();
        assert_eq!(loaded_info.test_accuracy, 0.5);
        let again = loaded.forward(images).logits;
        let diff = (again - out.logits).abs().max().into_scalar::<f32>();
        assert!(diff < 1e-6, "{diff}");

        let mut bytes = std::fs::read(&path).unwrap();
        bytes.truncate(bytes.len() / 2);
        std::fs::write(&path, bytes).unwrap();
        let err = format!("{:#}", load(&path, &device).unwrap_err());
        assert!(err.contains("c.dcgan") && err.contains("checksum"), "{err}");
    }
}
