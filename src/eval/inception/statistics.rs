//! FID statistics as pytorch-fid makes and keeps them: the mean and covariance of the pool3
//! features of a folder of images, or an `.npz` file holding them (`mu`, `sigma`).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;

use super::network::FEATURES;
use super::{CHUNK, InceptionExtractor};
use crate::eval::frechet::Gaussian;
use crate::eval::moments::Moments;
use crate::eval::npz::{self, NpzReader};
use crate::logging::progress;

/// The file extensions pytorch-fid takes from a folder.
pub const IMAGE_EXTENSIONS: [&str; 9] = [
    "bmp", "jpg", "jpeg", "pgm", "png", "ppm", "tif", "tiff", "webp",
];

/// The images of `dir` that pytorch-fid would score: files directly inside it with one of
/// [`IMAGE_EXTENSIONS`] (lower case, as pytorch-fid's glob matches them), sorted by name.
pub fn image_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the folder {}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot read the folder {}", dir.display()))?
            .path();
        let known = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e));
        if known && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The feature moments of every image in `dir`, decoded as RGB (as PIL's `convert('RGB')`
/// does) and read a chunk at a time, so memory stays flat however many there are.
pub fn folder_moments(dir: &Path, extractor: &InceptionExtractor) -> anyhow::Result<Moments> {
    let files = image_files(dir)?;
    ensure!(
        files.len() >= 2,
        "{} holds {} images ({}); FID needs at least 2",
        dir.display(),
        files.len(),
        IMAGE_EXTENSIONS.join(", ")
    );
    let bar = progress::count_bar(files.len() as u64, &format!("{}", dir.display()));
    let mut moments = Moments::new(FEATURES);
    let mut batch: Vec<u8> = Vec::new();
    let mut batch_size = [0, 0];
    let mut batch_len = 0;
    let mut flush = |pixels: &mut Vec<u8>, len: &mut usize, size: [usize; 2]| {
        if *len > 0 {
            let out = extractor.forward_pixels(pixels, *len, 3, size);
            moments.add(&features_of(out.features));
            bar.inc(*len as u64);
        }
        pixels.clear();
        *len = 0;
    };
    for files in files.chunks(CHUNK) {
        // Decoded on every thread, a chunk at a time; a bad file is named in the folder's
        // order whichever thread met it first.
        let decoded: Vec<anyhow::Result<_>> = files
            .par_iter()
            .map(|file| {
                let image = image::open(file)
                    .with_context(|| format!("cannot read the image {}", file.display()))?;
                Ok(image.to_rgb8())
            })
            .collect();
        for image in decoded {
            let image = image?;
            let size = [image.height() as usize, image.width() as usize];
            // Images of one size go through the network together, as pytorch-fid's batches
            // must.
            if size != batch_size || batch_len == CHUNK {
                flush(&mut batch, &mut batch_len, batch_size);
                batch_size = size;
            }
            let plane = size[0] * size[1];
            let start = batch.len();
            batch.resize(start + 3 * plane, 0);
            for (i, pixel) in image.pixels().enumerate() {
                for c in 0..3 {
                    batch[start + c * plane + i] = pixel[c];
                }
            }
            batch_len += 1;
        }
    }
    flush(&mut batch, &mut batch_len, batch_size);
    bar.finish_and_clear();
    Ok(moments)
}

/// The values of a `[n, d]` feature tensor.
pub fn features_of(features: burn::tensor::Tensor<2>) -> Vec<f32> {
    features
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 values")
}

/// Reads pytorch-fid's statistics file: `mu` `[d]` and `sigma` `[d, d]`, finite.
pub fn read_npz(path: &Path) -> anyhow::Result<Gaussian> {
    let mut file = NpzReader::open(path)?;
    let mu = file.f64("mu")?;
    let sigma = file.f64("sigma")?;
    let d = mu.values.len();
    ensure!(
        mu.shape == [d] && sigma.shape == [d, d],
        "{}: mu has shape {:?} and sigma {:?}; FID statistics are mu [d] and sigma [d, d]",
        path.display(),
        mu.shape,
        sigma.shape
    );
    if mu
        .values
        .iter()
        .chain(&sigma.values)
        .any(|v| !v.is_finite())
    {
        bail!("{}: mu or sigma holds NaN or infinity", path.display());
    }
    Ok(Gaussian {
        mean: DVector::from_vec(mu.values),
        cov: DMatrix::from_row_slice(d, d, &sigma.values),
    })
}

/// Writes `gaussian` as pytorch-fid's statistics file (`mu`, `sigma`, float64, deflated).
pub fn write_npz(path: &Path, gaussian: &Gaussian) -> anyhow::Result<()> {
    let d = gaussian.mean.len();
    // nalgebra stores column-major; the covariance is symmetric, but rows are written as rows.
    let sigma: Vec<f64> = gaussian.cov.transpose().as_slice().to_vec();
    npz::write_f64(
        path,
        &[
            ("mu", &[d], gaussian.mean.as_slice()),
            ("sigma", &[d, d], &sigma),
        ],
    )
}
