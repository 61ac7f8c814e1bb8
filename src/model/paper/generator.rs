//! The DCGAN paper's generator: noise to a `side × side` image in `[-1, 1]`.

use crate::model::tanh;
use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::ConvTranspose2dConfig;
use burn::nn::{BatchNorm, Linear};
use burn::tensor::{Device, Tensor};
use rand::Rng;

use super::{BASE_SIZE, INIT_STD, KERNEL, batch_norm, conv_weight, levels};
use crate::model::batch_norm::normalize_and_activate;
use crate::model::init::{normal, number_params};
use crate::model::padding::TfConvTranspose2d;

/// Parameter ids of the generator: trainable ones from here, in order.
const FIRST_ID: u64 = 1 << 32;
/// Ids of the BatchNorm moving statistics.
const RUNNING_IDS: u64 = FIRST_ID + (1 << 16);

/// Updates of each BatchNorm's moving averages per training iteration: G runs once, and its
/// images serve the D step (detached) and the G step, as in pytorch/examples.
pub const MOVING_AVERAGE_UPDATES_PER_STEP: u64 = 1;

/// Sizes of the [`Generator`].
#[derive(Config, Debug)]
pub struct GeneratorConfig {
    /// Side of the square output images: a power of two from 16 to 256.
    pub image_size: usize,
    /// Channels of the output images: 1 (grey) or 3 (RGB).
    pub image_channels: usize,
    /// Length of the noise vector (PyTorch's `nz`).
    #[config(default = 100)]
    pub noise_dim: usize,
    /// Channels of the last hidden map; each earlier one has twice as many (`ngf`).
    #[config(default = 64)]
    pub width: usize,
}

/// Dense noise → `width · 2^k` × 4 × 4, BN, ReLU; `k` × [ConvT 4×4 s2, halving the
/// channels, BN, ReLU]; ConvT 4×4 s2 → image channels; tanh. No biases.
#[derive(Module, Debug)]
pub struct Generator {
    pub(crate) start: Linear,
    pub(crate) start_norm: BatchNorm,
    /// The `k + 1` stride-2 transposed convolutions, the last to the image.
    pub(crate) ups: Vec<TfConvTranspose2d>,
    /// BatchNorms after each of `ups` but the last.
    pub(crate) norms: Vec<BatchNorm>,
    start_channels: usize,
    image_channels: usize,
}

impl GeneratorConfig {
    /// A generator with the paper's initialisers, drawn from `rng`.
    ///
    /// # Panics
    /// If `image_size` is not a power of two from 16 to 256 (see
    /// [`Architecture`](crate::model::Architecture), which checks it for the user).
    pub fn init(&self, rng: &mut impl Rng, device: &Device) -> Generator {
        let k = levels(self.image_size).expect("a power of two from 16 to 256");
        let mut c = self.width << k;
        let start_out = c * BASE_SIZE * BASE_SIZE;
        // burn's Linear is [in, out]: PyTorch's ConvT weight [nz, c, 4, 4] read row by row.
        let start = Linear {
            weight: normal([self.noise_dim, start_out], 0.0, INIT_STD, rng, device),
            bias: None,
        };
        let start_norm = batch_norm(c, RUNNING_IDS, rng, device);
        let mut ups = Vec::with_capacity(k + 1);
        let mut norms = Vec::with_capacity(k);
        for level in 0..=k {
            let c_out = if level == k {
                self.image_channels
            } else {
                c / 2
            };
            let mut conv = ConvTranspose2dConfig::new([c, c_out], [KERNEL, KERNEL])
                .with_stride([2, 2])
                .with_bias(false)
                .init(device);
            conv.weight = conv_weight([c, c_out, KERNEL, KERNEL], rng, device);
            ups.push(TfConvTranspose2d::new(conv));
            if level < k {
                let id = RUNNING_IDS + 2 * (level as u64 + 1);
                norms.push(batch_norm(c_out, id, rng, device));
            }
            c = c_out;
        }
        let generator = Generator {
            start,
            start_norm,
            ups,
            norms,
            start_channels: self.width << k,
            image_channels: self.image_channels,
        };
        number_params(generator, FIRST_ID)
    }
}

impl Generator {
    /// Every BatchNorm, first to last.
    pub(crate) fn batch_norms(&self) -> impl Iterator<Item = &BatchNorm> {
        std::iter::once(&self.start_norm).chain(&self.norms)
    }

    /// Every BatchNorm, mutably.
    pub(crate) fn batch_norms_mut(&mut self) -> impl Iterator<Item = &mut BatchNorm> {
        std::iter::once(&mut self.start_norm).chain(&mut self.norms)
    }

    /// Length of the noise vectors this generator takes.
    pub fn noise_dim(&self) -> usize {
        self.start.weight.shape().dims::<2>()[0]
    }

    /// Height and width of the images this generator draws.
    pub fn image_size(&self) -> usize {
        BASE_SIZE << self.ups.len()
    }

    /// Channels of the images this generator draws.
    pub fn image_channels(&self) -> usize {
        self.image_channels
    }

    /// Channels of the last hidden map (PyTorch's `ngf`).
    pub fn width(&self) -> usize {
        self.start_channels >> (self.ups.len() - 1)
    }

    /// Generates images from noise. BatchNorm uses batch statistics (and updates its moving
    /// averages) on an autodiff device in training mode, and the moving averages otherwise.
    ///
    /// # Shapes
    /// - noise: `[batch, noise_dim]`
    /// - output: `[batch, image_channels, side, side]`, in `[-1, 1]`
    pub fn forward(&self, noise: Tensor<2>) -> Tensor<4> {
        let [batch, _] = noise.dims();
        let x = self.start.forward(noise); // [batch, c * 16]
        let x = x.reshape([batch, self.start_channels, BASE_SIZE, BASE_SIZE]);
        let mut x = normalize_and_activate(&self.start_norm, x, 0.0);
        let (last, hidden) = self.ups.split_last().expect("at least one layer");
        for (up, bn) in hidden.iter().zip(&self.norms) {
            x = normalize_and_activate(bn, up.forward(x), 0.0); // twice the side, half the channels
        }
        tanh(last.forward(x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// pytorch/examples' generator at 64×64×3 (`shared/bench/dcgan64_torch.py`): 3,576,704
    /// parameters; burn also counts BatchNorm's moving statistics (2 × 960 at 64×64).
    #[test]
    fn sixty_four_pixel_colour_generator_has_pytorchs_parameter_count() {
        let device = Device::flex();
        let g = GeneratorConfig::new(64, 3).init(&mut ChaCha8Rng::seed_from_u64(1), &device);
        let running = 2 * (512 + 256 + 128 + 64);
        assert_eq!(g.num_params(), 3_576_704 + running);
        assert_eq!((g.image_size(), g.image_channels(), g.width()), (64, 3, 64));
    }

    #[test]
    fn every_supported_side_draws_images_of_that_side_in_range() {
        // In training mode, BatchNorm's batch statistics keep the values away from zero
        // (with the initial moving averages, N(0, 0.02²) weights shrink them layer by layer).
        let device = Device::flex().autodiff();
        for (side, channels) in [(16, 1), (32, 3), (128, 1)] {
            let g = GeneratorConfig::new(side, channels)
                .with_width(8)
                .with_noise_dim(12)
                .init(&mut ChaCha8Rng::seed_from_u64(2), &device);
            let noise = Tensor::random(
                [2, 12],
                burn::tensor::Distribution::Uniform(-1.0, 1.0),
                &device,
            );
            let out = g.forward(noise);
            assert_eq!(out.dims(), [2, channels, side, side]);
            let values = out.into_data().try_to_vec::<f32>().unwrap();
            assert!(values.iter().all(|v| (-1.0..=1.0).contains(v)));
            assert!(values.iter().any(|v| v.abs() > 1e-2), "not all zero");
        }
    }

    #[test]
    fn weights_are_drawn_from_the_papers_normal_distribution() {
        let device = Device::flex();
        let g = GeneratorConfig::new(32, 3).init(&mut ChaCha8Rng::seed_from_u64(3), &device);
        let w = g.ups[0]
            .conv
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let n = w.len() as f64;
        let mean = w.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let std = (w
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        assert!(
            mean.abs() < 1e-3 && (std - 0.02).abs() < 1e-3,
            "{mean} {std}"
        );
        let gamma = g
            .start_norm
            .gamma
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert!(gamma.iter().all(|&v| (v - 1.0).abs() < 0.15) && gamma.iter().any(|&v| v != 1.0));
        assert!(g.ups.iter().all(|up| up.conv.bias.is_none()) && g.start.bias.is_none());
    }
}
