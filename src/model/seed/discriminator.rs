//! The seed's discriminator: an image to one real/fake logit.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, Linear, PaddingConfig2d};
use burn::tensor::{Device, Tensor};
use rand::Rng;

use crate::geometry::tf_same_padding;
use crate::model::batch_norm::{normalize_and_activate, tf_batch_norm};
use crate::model::init::{glorot_uniform, number_params, zeros};
use crate::model::leaky_relu;
use crate::model::padding::tf_conv2d;

/// The seed's LeakyReLU slope.
const LEAK: f64 = 0.2;

/// Parameter ids of the discriminator: trainable ones from here, in order.
const FIRST_ID: u64 = 2 << 32;
/// Ids of the BatchNorm moving statistics.
const RUNNING_IDS: u64 = FIRST_ID + (1 << 16);

/// Sizes of the [`Discriminator`].
#[derive(Config, Debug)]
pub struct DiscriminatorConfig {
    /// Side of the (square) input images.
    #[config(default = 28)]
    pub image_size: usize,
    /// Channels of the input images.
    #[config(default = 1)]
    pub image_channels: usize,
    /// Channels of the first convolution; each later one doubles them.
    #[config(default = 32)]
    pub base_channels: usize,
}

/// Conv 5×5 s2 →32, LeakyReLU 0.2; Conv 5×5 s2 →64, BN, LeakyReLU; Conv 5×5 s2 →128, BN,
/// LeakyReLU; flatten; Dense →1 logit.
#[derive(Module, Debug)]
pub struct Discriminator {
    pub(crate) conv1: Conv2d,
    pub(crate) conv2: Conv2d,
    pub(crate) bn2: BatchNorm,
    pub(crate) conv3: Conv2d,
    pub(crate) bn3: BatchNorm,
    pub(crate) fc: Linear,
}

impl DiscriminatorConfig {
    /// A discriminator with TF's initialisers, drawn from `rng`.
    pub fn init(&self, rng: &mut impl Rng, device: &Device) -> Discriminator {
        let c = self.base_channels;
        let mut size = self.image_size;
        let mut conv = |c_in: usize, c_out: usize| {
            let (before, after) = tf_same_padding(size, 5, 2);
            size = size.div_ceil(2);
            let mut conv = Conv2dConfig::new([c_in, c_out], [5, 5])
                .with_stride([2, 2])
                .init(device);
            conv.padding = PaddingConfig2d::Explicit(before, before, after, after);
            conv.weight = glorot_uniform([c_out, c_in, 5, 5], c_in * 25, c_out * 25, rng, device);
            conv.bias = Some(zeros(c_out, device));
            conv
        };
        let conv1 = conv(self.image_channels, c); // 28 -> 14
        let conv2 = conv(c, 2 * c); // 14 -> 7
        let conv3 = conv(2 * c, 4 * c); // 7 -> 4
        let flat = 4 * c * size * size;
        let fc = Linear {
            weight: glorot_uniform([flat, 1], flat, 1, rng, device),
            bias: Some(zeros(1, device)),
        };
        let discriminator = Discriminator {
            conv1,
            conv2,
            bn2: tf_batch_norm(2 * c, RUNNING_IDS, device),
            conv3,
            bn3: tf_batch_norm(4 * c, RUNNING_IDS + 2, device),
            fc,
        };
        number_params(discriminator, FIRST_ID)
    }
}

impl Discriminator {
    /// Every BatchNorm, first to last.
    pub(crate) fn batch_norms(&self) -> [&BatchNorm; 2] {
        [&self.bn2, &self.bn3]
    }

    /// Scores images; a high logit means "real".
    ///
    /// # Shapes
    /// - images: `[batch, image_channels, image_size, image_size]`, in `[-1, 1]`
    /// - output: `[batch, 1]` logits
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.score(self.features(images))
    }

    /// D's features: its last hidden layer, flattened.
    ///
    /// # Shapes
    /// - images: `[batch, image_channels, image_size, image_size]`, in `[-1, 1]`
    /// - output: `[batch, features_len]`
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let x = leaky_relu(tf_conv2d(&self.conv1, images), LEAK); // [batch, 32, 14, 14]
        let x = normalize_and_activate(&self.bn2, tf_conv2d(&self.conv2, x), LEAK); // [batch, 64, 7, 7]
        let x = normalize_and_activate(&self.bn3, tf_conv2d(&self.conv3, x), LEAK); // [batch, 128, 4, 4]
        // Flattened in (C, H, W) order; TF flattens NHWC as (H, W, C), a fixed permutation.
        x.flatten(1, 3) // [batch, 2048]
    }

    /// The logit of [`Discriminator::features`]: `[batch, 1]`.
    pub fn score(&self, features: Tensor<2>) -> Tensor<2> {
        self.fc.forward(features)
    }

    /// Length of D's features (2,048 for the seed's sizes).
    pub fn features_len(&self) -> usize {
        self.fc.weight.shape().dims::<2>()[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn one_logit_per_image_and_seed_parameter_count() {
        let device = Device::flex();
        let d = DiscriminatorConfig::new().init(&mut ChaCha8Rng::seed_from_u64(1), &device);
        let out = d.forward(Tensor::zeros([3, 1, 28, 28], &device));
        assert_eq!(out.dims(), [3, 1]);
        // conv1 832 + conv2 51,264 + bn2 128 + conv3 204,928 + bn3 256 + fc 2,049 trainable,
        // plus the moving mean and variance of bn2 (2 × 64) and bn3 (2 × 128), which burn counts.
        let trainable = 832 + 51_264 + 128 + 204_928 + 256 + 2_049;
        assert_eq!(d.num_params(), trainable + 2 * 64 + 2 * 128);
    }
}
