//! The real images' side of an evaluation: their features, computed once per data set,
//! network and count, and for Inception kept in dcgan's cache
//! (`~/.cache/dcgan/fid-reference/KEY.npz`, `mu` and `sigma` as pytorch-fid writes them,
//! beside the features and class probabilities that KID, precision/recall and the
//! Inception Score need). The key is the SHA-256 of the images' pixels and the weights'
//! checksum, so a changed folder or other weights never meet a stale file.

use std::path::PathBuf;

use burn::tensor::Device;
use nalgebra::DMatrix;
use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use super::features::{FeatureNet, Features, extract};
use super::frechet::Gaussian;
use super::npz::{self, NpzReader, Values};
use crate::data::Dataset;

/// The features of `n` images of `real`: all of them, or a subset drawn with a fixed seed
/// (a folder's images are sorted by class, so its first ones would be a few classes).
pub fn real_features(
    net: &FeatureNet,
    real: &Dataset,
    n: usize,
    device: &Device,
) -> anyhow::Result<Features> {
    let ids = chosen(real.len, n);
    let compute = || {
        extract(
            net,
            ids.len(),
            |range| real.images(&ids[range], device),
            "real images",
        )
    };
    let FeatureNet::Inception(extractor) = net else {
        return compute();
    };
    let logits = extractor.has_logits();
    let Some(path) = cache_path(real, &ids, &extractor.id.sha256, logits) else {
        return compute();
    };
    if let Some(features) = read(&path, ids.len()) {
        return Ok(features);
    }
    let features = compute()?;
    if let Err(err) = write(&path, &features) {
        eprintln!(
            "warning: the real images' features were not cached ({err:#}); they will be \
             computed again next time"
        );
    }
    Ok(features)
}

/// Where the features of these images and weights are kept.
/// The indices of `n` of `len` images, ascending: all, or a seeded random subset.
fn chosen(len: usize, n: usize) -> Vec<usize> {
    if n >= len {
        return (0..len).collect();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut ids = sample(&mut rng, len, n).into_vec();
    ids.sort_unstable();
    ids
}

fn cache_path(real: &Dataset, ids: &[usize], weights: &str, logits: bool) -> Option<PathBuf> {
    let n = ids.len();
    let mut hasher = Sha256::new();
    // The file's layout version, the images' shape, and what computes the features.
    let precision = crate::kernels::precision::current() as usize;
    for dim in [
        1,
        n,
        real.channels,
        real.height,
        real.width,
        usize::from(logits),
        precision,
    ] {
        hasher.update((dim as u64).to_le_bytes());
    }
    hasher.update(weights.as_bytes());
    for &i in ids {
        hasher.update(real.image(i));
    }
    let key: String = hasher.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    crate::data::cache_dir("fid-reference").map(|dir| dir.join(format!("{key}.npz")))
}

/// The cached features, if the file is there and whole.
fn read(path: &std::path::Path, n: usize) -> Option<Features> {
    let mut file = NpzReader::open(path).ok()?;
    let features = file.f32("features").ok()?;
    let probs = file.f32("probs").ok()?;
    let whole = |shape: &[usize]| shape.len() == 2 && shape[0] == n;
    if !whole(&features.shape) || !whole(&probs.shape) || features.shape[1] == 0 {
        return None;
    }
    let matrix = |a: npz::Array<f32>| {
        let values: Vec<f64> = a.values.into_iter().map(f64::from).collect();
        DMatrix::from_row_slice(n, a.shape[1], &values)
    };
    Some(Features {
        features: matrix(features),
        probs: matrix(probs),
    })
}

/// Writes `features` with their mean and covariance.
fn write(path: &std::path::Path, features: &Features) -> anyhow::Result<()> {
    let gaussian = Gaussian::fit(&features.features);
    let d = gaussian.mean.len();
    let sigma: Vec<f64> = gaussian.cov.transpose().as_slice().to_vec();
    let rows = |m: &DMatrix<f64>| -> Vec<f32> {
        m.transpose().as_slice().iter().map(|&v| v as f32).collect()
    };
    let (f, p) = (rows(&features.features), rows(&features.probs));
    let n = features.len();
    npz::write(
        path,
        &[
            ("mu", &[d], Values::F64(gaussian.mean.as_slice())),
            ("sigma", &[d, d], Values::F64(&sigma)),
            ("features", &[n, d], Values::F32(&f)),
            ("probs", &[n, features.probs.ncols()], Values::F32(&p)),
        ],
    )
}
