//! The seed's generator: noise to a 28×28 image in `[-1, 1]`.

use crate::model::tanh;
use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::ConvTranspose2dConfig;
use burn::nn::{BatchNorm, Linear};
use burn::tensor::{Device, Tensor};
use rand::Rng;

use crate::model::batch_norm::{normalize_and_activate, tf_batch_norm};
use crate::model::init::{glorot_uniform, number_params, zeros};
use crate::model::padding::TfConvTranspose2d;

/// Parameter ids of the generator: trainable ones from here, in order.
const FIRST_ID: u64 = 1 << 32;
/// Ids of the BatchNorm moving statistics.
const RUNNING_IDS: u64 = FIRST_ID + (1 << 16);

/// Updates of each BatchNorm's moving averages per training iteration: the seed runs G twice
/// on the same noise (see [`Generator::forward_for_both_steps`]).
pub const MOVING_AVERAGE_UPDATES_PER_STEP: u64 = 2;

/// Sizes of the [`Generator`].
#[derive(Config, Debug)]
pub struct GeneratorConfig {
    /// Length of the noise vector.
    #[config(default = 100)]
    pub noise_dim: usize,
    /// Channels of the first feature map; each transposed convolution halves them.
    #[config(default = 128)]
    pub base_channels: usize,
    /// Side of the first feature map; two stride-2 layers make it `4 *` larger (7 -> 28).
    #[config(default = 7)]
    pub base_size: usize,
    /// Channels of the output image.
    #[config(default = 1)]
    pub image_channels: usize,
}

/// Dense 100→7·7·128, BN, ReLU; ConvT 5×5 s2 →64, BN, ReLU; ConvT 5×5 s2 →32, BN, ReLU;
/// ConvT 5×5 s1 →1; tanh. Every layer has a bias, as TF's layers do by default.
#[derive(Module, Debug)]
pub struct Generator {
    pub(crate) fc: Linear,
    pub(crate) bn0: BatchNorm,
    pub(crate) deconv1: TfConvTranspose2d,
    pub(crate) bn1: BatchNorm,
    pub(crate) deconv2: TfConvTranspose2d,
    pub(crate) bn2: BatchNorm,
    pub(crate) deconv3: TfConvTranspose2d,
    base_channels: usize,
    base_size: usize,
}

impl GeneratorConfig {
    /// A generator with TF's initialisers, drawn from `rng`.
    pub fn init(&self, rng: &mut impl Rng, device: &Device) -> Generator {
        let c = self.base_channels;
        let fc_out = c * self.base_size * self.base_size;
        let fc = Linear {
            weight: glorot_uniform(
                [self.noise_dim, fc_out],
                self.noise_dim,
                fc_out,
                rng,
                device,
            ),
            bias: Some(zeros(fc_out, device)),
        };
        let mut deconv = |c_in: usize, c_out: usize, stride: usize| {
            let mut conv = ConvTranspose2dConfig::new([c_in, c_out], [5, 5])
                .with_stride([stride, stride])
                .init(device);
            // burn's layout is [in, out, kh, kw]; TF counts fans as channels × kernel area.
            conv.weight = glorot_uniform([c_in, c_out, 5, 5], c_in * 25, c_out * 25, rng, device);
            conv.bias = Some(zeros(c_out, device));
            TfConvTranspose2d::new(conv)
        };
        let deconv1 = deconv(c, c / 2, 2);
        let deconv2 = deconv(c / 2, c / 4, 2);
        let deconv3 = deconv(c / 4, self.image_channels, 1);
        let generator = Generator {
            fc,
            bn0: tf_batch_norm(c, RUNNING_IDS, device),
            deconv1,
            bn1: tf_batch_norm(c / 2, RUNNING_IDS + 2, device),
            deconv2,
            bn2: tf_batch_norm(c / 4, RUNNING_IDS + 4, device),
            deconv3,
            base_channels: c,
            base_size: self.base_size,
        };
        number_params(generator, FIRST_ID)
    }
}

impl Generator {
    /// Every BatchNorm, first to last.
    pub(crate) fn batch_norms(&self) -> [&BatchNorm; 3] {
        [&self.bn0, &self.bn1, &self.bn2]
    }

    /// Generates the images of one training iteration, used by both of its steps: the seed
    /// runs G twice on the same noise, once for the D step and once for the G step, with the
    /// same weights, so the images are the same and one forward pass does. Its BatchNorm
    /// moving averages then advance twice, as the seed's two passes make them.
    pub fn forward_for_both_steps(&self, noise: Tensor<2>) -> Tensor<4> {
        let norms = self.batch_norms();
        let before = norms.map(crate::model::batch_norm::moving_statistics);
        let images = self.forward(noise);
        for (bn, before) in norms.into_iter().zip(before) {
            crate::model::batch_norm::repeat_update(bn, before);
        }
        images
    }

    /// Length of the noise vectors this generator takes.
    pub fn noise_dim(&self) -> usize {
        self.fc.weight.shape().dims::<2>()[0]
    }

    /// Height and width of the images this generator draws.
    pub fn image_size(&self) -> usize {
        4 * self.base_size
    }

    /// Channels of the images this generator draws.
    pub fn image_channels(&self) -> usize {
        self.deconv3.conv.weight.dims()[1]
    }

    /// Channels of the first feature map (128 in the seed).
    pub fn width(&self) -> usize {
        self.base_channels
    }

    /// Every BatchNorm, first to last, mutably.
    pub(crate) fn batch_norms_mut(&mut self) -> [&mut BatchNorm; 3] {
        [&mut self.bn0, &mut self.bn1, &mut self.bn2]
    }

    /// Generates images from noise. BatchNorm uses batch statistics (and updates its moving
    /// averages) on an autodiff device in training mode, and the moving averages otherwise.
    ///
    /// # Shapes
    /// - noise: `[batch, noise_dim]`
    /// - output: `[batch, image_channels, 4 * base_size, 4 * base_size]`, in `[-1, 1]`
    pub fn forward(&self, noise: Tensor<2>) -> Tensor<4> {
        let [batch, _] = noise.dims();
        let (c, s) = (self.base_channels, self.base_size);
        let x = self.fc.forward(noise); // [batch, c * s * s]
        // The dense output is read as (C, H, W), PyTorch's order; TF's reshape reads (H, W, C).
        // With i.i.d. initial weights the two are the same model up to a fixed permutation.
        let x = x.reshape([batch, c, s, s]); // [batch, 128, 7, 7]
        let x = normalize_and_activate(&self.bn0, x, 0.0);
        let x = normalize_and_activate(&self.bn1, self.deconv1.forward(x), 0.0); // [batch, 64, 14, 14]
        let x = normalize_and_activate(&self.bn2, self.deconv2.forward(x), 0.0); // [batch, 32, 28, 28]
        tanh(self.deconv3.forward(x)) // [batch, 1, 28, 28]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn output_shape_and_range() {
        let device = Device::flex();
        let g = GeneratorConfig::new().init(&mut ChaCha8Rng::seed_from_u64(1), &device);
        let noise = Tensor::random(
            [4, 100],
            burn::tensor::Distribution::Uniform(-1.0, 1.0),
            &device,
        );
        let out = g.forward(noise);
        assert_eq!(out.dims(), [4, 1, 28, 28]);
        let values = out.into_data().try_to_vec::<f32>().unwrap();
        assert!(values.iter().all(|v| (-1.0..=1.0).contains(v)));
        assert!(
            values.iter().any(|v| v.abs() > 1e-3),
            "output is not all zero"
        );
    }

    /// One pass for both steps gives the images of one pass and the moving averages of two.
    #[test]
    fn forward_for_both_steps_matches_two_passes() {
        let device = Device::flex().autodiff();
        let init = || GeneratorConfig::new().init(&mut ChaCha8Rng::seed_from_u64(3), &device);
        let (twice, once) = (init(), init());
        let noise = Tensor::random(
            [8, 100],
            burn::tensor::Distribution::Uniform(-1.0, 1.0),
            &device,
        );
        let first = twice.forward(noise.clone());
        let _second = twice.forward(noise.clone());
        let images = once.forward_for_both_steps(noise);
        let values = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(values(first), values(images));
        for (a, b) in [
            (&twice.bn0, &once.bn0),
            (&twice.bn1, &once.bn1),
            (&twice.bn2, &once.bn2),
        ] {
            let [mean_a, var_a] = crate::model::batch_norm::moving_statistics(a);
            let [mean_b, var_b] = crate::model::batch_norm::moving_statistics(b);
            let moved: f32 = mean_a.clone().abs().max().into_scalar();
            assert!(moved > 1e-4, "the moving mean moved ({moved})");
            for (x, y) in [(mean_a, mean_b), (var_a, var_b)] {
                let diff: f32 = (x - y).abs().max().into_scalar();
                assert!(diff < 1e-6, "moving statistics differ by {diff}");
            }
        }
    }

    #[test]
    fn glorot_limits_and_zero_biases() {
        let device = Device::flex();
        let g = GeneratorConfig::new().init(&mut ChaCha8Rng::seed_from_u64(2), &device);
        let w = g.fc.weight.val().into_data().try_to_vec::<f32>().unwrap();
        let limit = (6.0f32 / (100.0 + 6272.0)).sqrt();
        assert!(w.iter().all(|v| v.abs() <= limit));
        assert!(
            w.iter().any(|v| v.abs() > 0.9 * limit),
            "weights fill the range"
        );
        let b = g.deconv1.conv.bias.as_ref().unwrap().val();
        assert_eq!(b.into_data().try_to_vec::<f32>().unwrap(), vec![0.0; 64]);
    }
}
