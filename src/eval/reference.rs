//! The real images' side of an evaluation: their features, computed once per data set,
//! network and count, and kept in dcgan's cache (`~/.cache/dcgan/fid-reference/KEY.npz`,
//! `mu` and `sigma` as pytorch-fid writes them, beside the features and class probabilities
//! that KID, precision/recall and the Inception Score need). Inception's and the built-in
//! classifiers' alike: the server's memorisation check indexes all 60,000 of MNIST's
//! training images in the classifier's features, half a minute or more on 2 cores, once.
//! The key is the SHA-256 of the images' pixels, the network's kind (and a classifier's
//! device) and its weights' checksum, so a changed folder, other weights or another device
//! never meet a stale file.

use std::path::Path;

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
use crate::kernels::precision::Precision;

/// The features of `n` images of `real`: all of them, or a subset drawn with a fixed seed
/// (a folder's images are sorted by class, so its first ones would be a few classes).
/// Read from dcgan's cache when they were computed before, else computed (the progress bar
/// saying `what`) and kept there.
pub fn real_features(
    net: &FeatureNet,
    real: &Dataset,
    n: usize,
    what: &str,
    device: &Device,
) -> anyhow::Result<Features> {
    let cache = crate::data::cache_dir("fid-reference");
    real_features_in(cache.as_deref(), net, real, n, what, device)
}

/// [`real_features`] with the cache in `cache` (none: always computed).
fn real_features_in(
    cache: Option<&Path>,
    net: &FeatureNet,
    real: &Dataset,
    n: usize,
    what: &str,
    device: &Device,
) -> anyhow::Result<Features> {
    let ids = chosen(real.len, n);
    let compute = || {
        extract(
            net,
            ids.len(),
            |range| real.images(&ids[range], device),
            what,
        )
    };
    let Some(path) = cache.map(|dir| dir.join(cache_name(net, real, &ids, device))) else {
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

/// The name of the file that keeps the features of these images seen by `net` on `device`.
fn cache_name(net: &FeatureNet, real: &Dataset, ids: &[usize], device: &Device) -> String {
    let precision = crate::kernels::precision::current();
    match net {
        // Inception always runs on dcgan's CPU kernels, and its keys stay those of the files
        // cached before classifiers' were.
        FeatureNet::Inception(extractor) => {
            let logits = extractor.has_logits();
            cache_key(None, &extractor.id.sha256, logits, precision, real, ids)
        }
        // A classifier runs where it is told, and a GPU's sums differ from the CPU's.
        FeatureNet::Classifier(_, id) => {
            let network = format!("classifier on {device:?}");
            cache_key(Some(&network), &id.sha256, true, precision, real, ids)
        }
    }
}

/// The first 128 bits of the SHA-256 of what makes the features, as a file name: the
/// file's layout version, the images' shape, whether there are class probabilities
/// (`logits`), the arithmetic, the network (none for Inception) and its weights'
/// checksum, and the images' pixels.
fn cache_key(
    network: Option<&str>,
    weights: &str,
    logits: bool,
    precision: Precision,
    real: &Dataset,
    ids: &[usize],
) -> String {
    let mut hasher = Sha256::new();
    for dim in [
        1,
        ids.len(),
        real.channels,
        real.height,
        real.width,
        usize::from(logits),
        precision as usize,
    ] {
        hasher.update((dim as u64).to_le_bytes());
    }
    if let Some(network) = network {
        hasher.update(network.as_bytes());
    }
    hasher.update(weights.as_bytes());
    for &i in ids {
        hasher.update(real.image(i));
    }
    let key: String = hasher.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{key}.npz")
}

/// The cached features, if the file is there and whole.
fn read(path: &Path, n: usize) -> Option<Features> {
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
fn write(path: &Path, features: &Features) -> anyhow::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Split, fake};
    use crate::eval::classifier::{ClassifierConfig, ClassifierId};

    /// A classifier with random weights (seeded by `seed`) named by `sha256`.
    fn classifier(seed: u64, sha256: &str, device: &Device) -> FeatureNet {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let net = ClassifierConfig::new().init(&mut rng, device);
        let id = ClassifierId {
            name: "test".into(),
            sha256: sha256.into(),
            test_accuracy: 0.5,
        };
        FeatureNet::Classifier(Box::new(net), id)
    }

    fn npz_files(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension() == Some("npz".as_ref()))
            .count()
    }

    #[test]
    fn a_classifiers_features_are_kept_and_read_back_by_its_checksum() {
        let device = Device::flex();
        let real = fake::generate(Split::Train, 1, 28);
        let dir = tempfile::tempdir().unwrap();
        let cache = Some(dir.path());
        let first = classifier(1, "aa", &device);
        let computed = real_features_in(cache, &first, &real, 40, "real images", &device).unwrap();
        assert_eq!(computed.features.shape(), (40, 128));
        assert_eq!(npz_files(dir.path()), 1, "one file kept");

        // Other weights under the same checksum: what comes back is the file, not theirs.
        let impostor = classifier(2, "aa", &device);
        let fresh = real_features_in(None, &impostor, &real, 40, "real images", &device).unwrap();
        assert_ne!(
            fresh.features, computed.features,
            "other weights, other features"
        );
        let cached = real_features_in(cache, &impostor, &real, 40, "real images", &device).unwrap();
        assert_eq!(cached.features, computed.features);
        assert_eq!(cached.probs, computed.probs);

        // Another checksum, another count or other images: another file.
        let other = classifier(2, "bb", &device);
        let theirs = real_features_in(cache, &other, &real, 40, "real images", &device).unwrap();
        assert_eq!(theirs.features, fresh.features);
        real_features_in(cache, &first, &real, 30, "real images", &device).unwrap();
        let other_images = fake::generate(Split::Test, 1, 28);
        real_features_in(cache, &first, &other_images, 40, "real images", &device).unwrap();
        assert_eq!(npz_files(dir.path()), 4);

        // A truncated file is computed again and replaced.
        let name = dir
            .path()
            .join(cache_name(&first, &real, &chosen(real.len, 40), &device));
        let bytes = std::fs::read(&name).unwrap();
        std::fs::write(&name, &bytes[..bytes.len() / 2]).unwrap();
        assert!(read(&name, 40).is_none(), "a truncated file is not read");
        let again = real_features_in(cache, &first, &real, 40, "real images", &device).unwrap();
        assert_eq!(again.features, computed.features);
        let whole = read(&name, 40).expect("written whole again");
        assert_eq!(whole.features, computed.features);
    }

    /// Inception's file names stay those of the files cached before classifiers' were: the
    /// SHA-256 of the same fields in the same order (checked against Python's hashlib).
    #[test]
    fn inceptions_cache_keys_do_not_change() {
        let real = Dataset {
            len: 2,
            channels: 1,
            height: 2,
            width: 2,
            pixels: (0..8u8).collect::<Vec<u8>>().into(),
            labels: vec![0, 0],
            classes: Vec::new(),
        };
        // hashlib.sha256(b"".join(struct.pack("<Q", d) for d in [1, 2, 1, 2, 2, 0, 0])
        //     + b"ab" + bytes(range(8))).hexdigest()[:32]
        let key = cache_key(None, "ab", false, Precision::F32, &real, &[0, 1]);
        assert_eq!(key, "fa069ffe580b502d091850446fc53feb.npz");
        let classifier = cache_key(
            Some("classifier"),
            "ab",
            false,
            Precision::F32,
            &real,
            &[0, 1],
        );
        assert_ne!(classifier, key);
        assert_ne!(
            cache_key(None, "ab", false, Precision::Bf16, &real, &[0, 1]),
            key
        );
    }
}
