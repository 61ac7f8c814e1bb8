//! The DCGAN paper's discriminator: a `side × side` image to one real/fake logit.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, Linear, PaddingConfig2d};
use burn::tensor::{Device, Tensor};
use rand::Rng;

use super::{BASE_SIZE, INIT_STD, KERNEL, LEAK, batch_norm, conv_weight, levels};
use crate::geometry::tf_same_padding;
use crate::model::batch_norm::normalize_and_activate;
use crate::model::init::{normal, number_params};
use crate::model::leaky_relu;
use crate::model::padding::tf_conv2d;

/// Parameter ids of the discriminator: trainable ones from here, in order.
const FIRST_ID: u64 = 2 << 32;
/// Ids of the BatchNorm moving statistics.
const RUNNING_IDS: u64 = FIRST_ID + (1 << 16);

/// Sizes of the [`Discriminator`].
#[derive(Config, Debug)]
pub struct DiscriminatorConfig {
    /// Side of the square input images: a power of two from 16 to 256.
    pub image_size: usize,
    /// Channels of the input images: 1 (grey) or 3 (RGB).
    pub image_channels: usize,
    /// Channels of the first convolution; each later one doubles them (`ndf`).
    #[config(default = 64)]
    pub width: usize,
}

/// Conv 4×4 s2 → `width`, LeakyReLU 0.2; `k` × [Conv 4×4 s2, doubling the channels, BN,
/// LeakyReLU 0.2]; dense from the 4×4 map to one logit. No biases.
#[derive(Module, Debug)]
pub struct Discriminator {
    /// The `k + 1` stride-2 convolutions.
    pub(crate) convs: Vec<Conv2d>,
    /// BatchNorms after each of `convs` but the first.
    pub(crate) norms: Vec<BatchNorm>,
    pub(crate) end: Linear,
}

impl DiscriminatorConfig {
    /// A discriminator with the paper's initialisers, drawn from `rng`.
    ///
    /// # Panics
    /// If `image_size` is not a power of two from 16 to 256.
    pub fn init(&self, rng: &mut impl Rng, device: &Device) -> Discriminator {
        let k = levels(self.image_size).expect("a power of two from 16 to 256");
        let mut convs = Vec::with_capacity(k + 1);
        let mut norms = Vec::with_capacity(k);
        let (mut c_in, mut c_out, mut side) = (self.image_channels, self.width, self.image_size);
        for level in 0..=k {
            let (before, after) = tf_same_padding(side, KERNEL, 2); // (1, 1): PyTorch's padding 1
            let mut conv = Conv2dConfig::new([c_in, c_out], [KERNEL, KERNEL])
                .with_stride([2, 2])
                .with_bias(false)
                .init(device);
            conv.padding = PaddingConfig2d::Explicit(before, before, after, after);
            conv.weight = conv_weight([c_out, c_in, KERNEL, KERNEL], rng, device);
            convs.push(conv);
            if level > 0 {
                let id = RUNNING_IDS + 2 * (level as u64 - 1);
                norms.push(batch_norm(c_out, id, rng, device));
            }
            side /= 2;
            (c_in, c_out) = (c_out, 2 * c_out);
        }
        let flat = c_in * BASE_SIZE * BASE_SIZE;
        // PyTorch's last layer is a 4×4 convolution [1, c, 4, 4] on the 4×4 map: a dense
        // layer over the map flattened in (C, H, W) order.
        let end = Linear {
            weight: normal([flat, 1], 0.0, INIT_STD, rng, device),
            bias: None,
        };
        let discriminator = Discriminator { convs, norms, end };
        number_params(discriminator, FIRST_ID)
    }
}

impl Discriminator {
    /// Every BatchNorm, first to last.
    pub(crate) fn batch_norms(&self) -> impl Iterator<Item = &BatchNorm> {
        self.norms.iter()
    }

    /// Scores images; a high logit means "real".
    ///
    /// # Shapes
    /// - images: `[batch, image_channels, side, side]`, in `[-1, 1]`
    /// - output: `[batch, 1]` logits
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.score(self.features(images))
    }

    /// D's features: its last 4×4 map, flattened.
    ///
    /// # Shapes
    /// - images: `[batch, image_channels, side, side]`, in `[-1, 1]`
    /// - output: `[batch, features_len]`
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let (first, rest) = self.convs.split_first().expect("at least one layer");
        let mut x = leaky_relu(tf_conv2d(first, images), LEAK);
        for (conv, bn) in rest.iter().zip(&self.norms) {
            x = normalize_and_activate(bn, tf_conv2d(conv, x), LEAK); // half the side, twice the channels
        }
        x.flatten(1, 3) // [batch, c * 16]
    }

    /// The logit of [`Discriminator::features`]: `[batch, 1]`.
    pub fn score(&self, features: Tensor<2>) -> Tensor<2> {
        self.end.forward(features)
    }

    /// Length of D's features: the last map's channels × 16.
    pub fn features_len(&self) -> usize {
        self.end.weight.shape().dims::<2>()[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// pytorch/examples' discriminator at 64×64×3: 2,765,568 parameters, plus the moving
    /// statistics burn counts (2 × (128 + 256 + 512)).
    #[test]
    fn sixty_four_pixel_colour_discriminator_has_pytorchs_parameter_count() {
        let device = Device::flex();
        let d = DiscriminatorConfig::new(64, 3).init(&mut ChaCha8Rng::seed_from_u64(1), &device);
        assert_eq!(d.num_params(), 2_765_568 + 2 * (128 + 256 + 512));
        let out = d.forward(Tensor::zeros([3, 3, 64, 64], &device));
        assert_eq!(out.dims(), [3, 1]);
    }

    #[test]
    fn every_supported_side_gives_one_logit_per_image() {
        let device = Device::flex();
        for (side, channels) in [(16, 1), (32, 3), (256, 1)] {
            let d = DiscriminatorConfig::new(side, channels)
                .with_width(4)
                .init(&mut ChaCha8Rng::seed_from_u64(2), &device);
            let x = Tensor::random(
                [2, channels, side, side],
                burn::tensor::Distribution::Uniform(-1.0, 1.0),
                &device,
            );
            assert_eq!(d.forward(x).dims(), [2, 1], "side {side}");
        }
    }
}
