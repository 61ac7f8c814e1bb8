//! What the server knows and draws: the generator, its classes, and the noise and paths
//! that requests name.

use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::neighbours::Neighbours;
use crate::model::spectral_norm::SpectralNorm;
use crate::model::{Discriminator, Generator};
use crate::picture::{ImageGrid, Noise, images_from_tensor, uniform_noise};
use crate::train::checkpoint::LoadedGenerator;

/// A run's discriminator, to score what the page shows.
pub struct Judge {
    /// D, in inference mode.
    pub discriminator: Discriminator,
    /// Its spectral normalisation, when the run has one.
    pub spectral_norm: Option<SpectralNorm>,
}

/// A loaded generator, ready to draw for requests.
pub struct Explorer {
    generator: Generator,
    judge: Option<Judge>,
    classes: Vec<String>,
    device: Device,
    describe: String,
    directions: std::sync::OnceLock<Directions>,
    /// The run's configuration (where its training images are), when known.
    config: Option<crate::train::TrainConfig>,
    neighbours: std::sync::OnceLock<Result<Neighbours, String>>,
}

/// Samples behind the principal directions.
const DIRECTION_SAMPLES: usize = 1024;
/// Principal directions computed (and the most a request may ask for).
pub const MAX_DIRECTIONS: usize = 20;
/// The seed of the directions' samples, so every server finds the same ones.
const DIRECTION_SEED: u64 = 0x6a5_5bace;

/// The principal directions of G's response, as GANSpace finds them (Härkönen et al.
/// 2020) for a generator fed noise directly: principal components of the images of many
/// samples, each carried back into noise space by least squares.
#[derive(Debug, Clone, Serialize)]
pub struct Directions {
    /// Unit noise-space vectors, the strongest first.
    pub directions: Vec<Vec<f32>>,
    /// The share of the images' variance along each component.
    pub explained: Vec<f64>,
}

/// What `/healthz` and `/api/info` tell about the generator.
#[derive(Debug, Clone, Serialize)]
pub struct Info {
    /// The networks, in words.
    pub model: String,
    /// Length of the noise vectors.
    pub noise_dim: usize,
    /// Side of the square images.
    pub image_size: usize,
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// A conditional generator's class names, by label; empty otherwise.
    pub classes: Vec<String>,
    /// Whether the server has the run's D (`/api/judge`).
    pub discriminator: bool,
}

/// How to go from one noise vector to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Path {
    /// Straight lines.
    Linear,
    /// Great circles, keeping the vectors' length between the ends' (Shoemake's slerp).
    Slerp,
}

impl Explorer {
    /// An explorer of `loaded`'s generator on `device`, with the run's D when there is one.
    pub fn new(loaded: LoadedGenerator, judge: Option<Judge>, device: Device) -> Self {
        let g = &loaded.generator;
        let side = g.image_size();
        let colour = if g.channels() == 3 { "RGB" } else { "grey" };
        let mut describe = format!(
            "{side}×{side} {colour}, noise {}, {}",
            g.noise_dim(),
            match g.family() {
                crate::model::Family::Seed => "the seed's DCGAN",
                crate::model::Family::Paper => "the DCGAN paper's family",
            }
        );
        if !loaded.classes.is_empty() {
            describe += &format!(", {} classes", loaded.classes.len());
        }
        Explorer {
            generator: loaded.generator,
            judge,
            classes: loaded.classes,
            device,
            describe,
            directions: std::sync::OnceLock::new(),
            config: loaded.config,
            neighbours: std::sync::OnceLock::new(),
        }
    }

    /// The training set indexed for nearest-neighbour queries, built on first use from the
    /// run's data set; an error says why there is none.
    pub fn neighbours(&self) -> Result<&Neighbours, String> {
        self.neighbours
            .get_or_init(|| {
                let config = self.config.as_ref().ok_or(
                    "a generator file does not say what it was trained on: serve the run \
                     directory or its checkpoint for nearest training images",
                )?;
                let g = &self.generator;
                let options = crate::data::LocateOptions {
                    data_dir: config.schedule.data_dir.clone(),
                    explicit: false,
                    image_size: Some(g.image_size()),
                    channels: Some(g.channels()),
                    background: config.recipe.background,
                };
                let (train, _) =
                    crate::data::locate(config.recipe.dataset, crate::data::Split::Train, &options)
                        .map_err(|e| format!("the run's training images: {e:#}"))?;
                Neighbours::build(train, config.recipe.dataset, &self.device)
                    .map_err(|e| format!("{e:#}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The image of one noise vector (of `label` for a conditional generator).
    pub fn image(&self, noise: &Noise, label: Option<usize>) -> Tensor<4> {
        let labels = label.map(|l| vec![l]);
        self.images(noise, labels.as_deref())
    }

    /// The principal directions, computed on first use from [`DIRECTION_SAMPLES`] samples.
    pub fn directions(&self) -> &Directions {
        self.directions.get_or_init(|| self.find_directions())
    }

    fn find_directions(&self) -> Directions {
        use nalgebra::{DMatrix, SymmetricEigen};
        let n = DIRECTION_SAMPLES;
        let dim = self.noise_dim();
        let noise = self.noise(DIRECTION_SEED, n);
        let k = self.classes.len();
        let labels: Option<Vec<usize>> = (k > 0).then(|| (0..n).map(|i| i % k).collect());
        let images = self.draw(&noise, labels.as_deref(), 1);
        let pixels = images.image_len();
        // Centred images, and their Gram matrix X·Xᵀ (n × n) through burn's matrix product:
        // its eigenvectors give the principal components' scores whatever the image size.
        let x: Tensor<2> =
            Tensor::from_data(TensorData::new(images.pixels, [n, pixels]), &self.device);
        let x = x.clone() - x.mean_dim(0);
        let gram = x.clone().matmul(x.transpose());
        let gram: Vec<f32> = gram
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .expect("f32");
        let gram = DMatrix::from_row_slice(
            n,
            n,
            &gram.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(),
        );
        let eigen = SymmetricEigen::new(gram);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| eigen.eigenvalues[b].total_cmp(&eigen.eigenvalues[a]));
        let total: f64 = eigen.eigenvalues.iter().map(|v| v.max(0.0)).sum();
        // Least squares from the centred noise to each component's scores.
        let z = DMatrix::from_row_slice(
            n,
            dim,
            &noise
                .values
                .iter()
                .map(|&v| f64::from(v))
                .collect::<Vec<_>>(),
        );
        let mean = z.row_mean();
        let z = DMatrix::from_fn(n, dim, |r, c| z[(r, c)] - mean[c]);
        let normal = z.transpose() * &z + DMatrix::identity(dim, dim) * 1e-6;
        let solver = normal.cholesky().expect("ZᵀZ + εI is positive definite");
        let mut directions = Vec::new();
        let mut explained = Vec::new();
        for &i in order.iter().take(MAX_DIRECTIONS.min(n)) {
            let value = eigen.eigenvalues[i].max(0.0);
            let scores = eigen.eigenvectors.column(i) * value.sqrt();
            let u = solver.solve(&(z.transpose() * scores));
            let norm = u.norm().max(1e-12);
            directions.push(u.iter().map(|&v| (v / norm) as f32).collect());
            explained.push(if total > 0.0 { value / total } else { 0.0 });
        }
        Directions {
            directions,
            explained,
        }
    }

    /// The generator in one line.
    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// What the generator is.
    pub fn info(&self) -> Info {
        let g = &self.generator;
        Info {
            model: self.describe.clone(),
            noise_dim: g.noise_dim(),
            image_size: g.image_size(),
            channels: g.channels(),
            classes: self.classes.clone(),
            discriminator: self.judge.is_some(),
        }
    }

    /// Length of the noise vectors.
    pub fn noise_dim(&self) -> usize {
        self.generator.noise_dim()
    }

    /// The class names, by label (empty for an unconditional generator).
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The `n` noise vectors of `seed`: the same for the same seed, as `dcgan sample --seed`
    /// draws them.
    pub fn noise(&self, seed: u64, n: usize) -> Noise {
        uniform_noise(n, self.noise_dim(), &mut ChaCha8Rng::seed_from_u64(seed))
    }

    /// The images of `noise`, for a conditional generator of `labels` (one per vector),
    /// laid out `columns` to a row.
    pub fn draw(&self, noise: &Noise, labels: Option<&[usize]>, columns: usize) -> ImageGrid {
        images_from_tensor(self.images(noise, labels), columns)
    }

    fn images(&self, noise: &Noise, labels: Option<&[usize]>) -> Tensor<4> {
        images_of(&self.generator, noise, labels, &self.device)
    }

    /// A morph of one noise vector from class `from` to class `to` in `steps` frames, both
    /// classes included: the class code blends from one to the other.
    pub fn morph(&self, vector: &[f32], (from, to): (usize, usize), steps: usize) -> ImageGrid {
        let k = self.classes.len();
        let noise = Noise {
            count: steps,
            dim: vector.len(),
            values: vector.repeat(steps),
        };
        let mut codes = vec![0.0f32; steps * k];
        for step in 0..steps {
            let t = step as f32 / (steps - 1) as f32;
            codes[step * k + from] += 1.0 - t;
            codes[step * k + to] += t;
        }
        let codes = Tensor::from_data(TensorData::new(codes, [steps, k]), &self.device);
        let images = self
            .generator
            .forward_with_codes(noise.to_tensor(&self.device), Some(codes));
        images_from_tensor(images, steps)
    }

    /// True when the server has the run's D.
    pub fn has_judge(&self) -> bool {
        self.judge.is_some()
    }

    /// D's logits for the images of `noise` (of `labels` for a conditional run): a high
    /// logit means "real". `None` without D.
    pub fn judge(&self, noise: &Noise, labels: Option<&[usize]>) -> Option<Vec<f32>> {
        let judge = self.judge.as_ref()?;
        let images = self.images(noise, labels);
        let mut norm = judge.spectral_norm.clone();
        let d = match norm.as_mut() {
            Some(norm) => norm.normalize(&judge.discriminator, false),
            None => judge.discriminator.clone(),
        };
        let labels = labels.map(|l| crate::model::conditioning::labels(l, &self.device));
        let logits = d.forward(images, labels).logits;
        Some(
            logits
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .expect("f32"),
        )
    }
}

/// The images `generator` draws from `noise` (for a conditional one, of `labels`, one per
/// vector) on `device`: the served generator's, or an epoch's of the timeline.
pub fn images_of(
    generator: &Generator,
    noise: &Noise,
    labels: Option<&[usize]>,
    device: &Device,
) -> Tensor<4> {
    let labels = labels.map(|l| crate::model::conditioning::labels(l, device));
    generator.forward(noise.to_tensor(device), labels)
}

/// `steps` vectors from `a` to `b`, both included, along `path`.
pub fn between(a: &[f32], b: &[f32], steps: usize, path: Path) -> Vec<Vec<f32>> {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let cos = (dot / (norm(a) * norm(b))).clamp(-1.0, 1.0);
    let omega = cos.acos();
    (0..steps)
        .map(|k| {
            let t = k as f32 / (steps - 1) as f32;
            // Nearly parallel vectors (or a zero one): the straight line is the arc.
            let (wa, wb) = if path == Path::Slerp && omega.sin().abs() > 1e-4 {
                let s = omega.sin();
                (((1.0 - t) * omega).sin() / s, (t * omega).sin() / s)
            } else {
                (1.0 - t, t)
            };
            a.iter().zip(b).map(|(x, y)| wa * x + wb * y).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_start_and_end_at_the_ends_and_slerp_keeps_length() {
        let (a, b) = ([1.0f32, 0.0], [0.0f32, 1.0]);
        for path in [Path::Linear, Path::Slerp] {
            let points = between(&a, &b, 5, path);
            assert_eq!(points.len(), 5);
            assert_eq!(points[0], a);
            assert!((points[4][1] - 1.0).abs() < 1e-6 && points[4][0].abs() < 1e-6);
        }
        let middle = &between(&a, &b, 3, Path::Slerp)[1];
        let length = (middle[0] * middle[0] + middle[1] * middle[1]).sqrt();
        assert!((length - 1.0).abs() < 1e-6, "{length}");
        let straight = &between(&a, &b, 3, Path::Linear)[1];
        assert_eq!(straight, &vec![0.5, 0.5]);
    }
}
