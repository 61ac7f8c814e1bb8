//! The DCGAN paper's family of networks (Radford et al. 2016), as pytorch/examples' dcgan
//! builds them, for square images of side 16 to 256 (a power of two) in grey or colour.
//!
//! G: noise → a 4×4 map of `width · 2^k` channels (a dense layer, which is PyTorch's
//! first 4×4 stride-1 transposed convolution on a 1×1 input), BN, ReLU; then `k` transposed
//! convolutions (4×4, stride 2, padding 1) halving the channels, each with BN and ReLU; then
//! one more to the image's channels, tanh. `k = log2(side) − 3`.
//! D mirrors it: a 4×4 stride-2 convolution to `width` channels and LeakyReLU 0.2; `k`
//! more doubling the channels, each with BN and LeakyReLU; then one logit from the 4×4 map
//! (a dense layer, PyTorch's last 4×4 convolution). No layer has a bias; weights are drawn
//! from N(0, 0.02²), BatchNorm's scales from N(1, 0.02²), with PyTorch's BatchNorm settings.

mod discriminator;
mod generator;

pub use discriminator::{Discriminator, DiscriminatorConfig};
pub use generator::{Generator, GeneratorConfig, MOVING_AVERAGE_UPDATES_PER_STEP};

use crate::model::init::normal;

/// Kernel side of every convolution.
pub const KERNEL: usize = 4;
/// Side of the smallest feature map, next to the noise and the logit.
pub const BASE_SIZE: usize = 4;
/// Standard deviation of the initial weights.
const INIT_STD: f32 = 0.02;
/// The LeakyReLU slope of D.
pub const LEAK: f64 = 0.2;

/// Stride-2 layers between the 4×4 map and the image, less one: `log2(side) − 3`, or
/// `None` when `side` is not a power of two from 16 to 256.
pub fn levels(side: usize) -> Option<usize> {
    (side.is_power_of_two() && (16..=256).contains(&side))
        .then(|| side.trailing_zeros() as usize - 3)
}

/// A convolution weight (either layout) drawn from N(0, 0.02²).
fn conv_weight(
    shape: [usize; 4],
    rng: &mut impl rand::Rng,
    device: &burn::tensor::Device,
) -> burn::module::Param<burn::tensor::Tensor<4>> {
    normal(shape, 0.0, INIT_STD, rng, device)
}

/// A BatchNorm with PyTorch's settings and a scale drawn from N(1, 0.02²).
fn batch_norm(
    features: usize,
    id: u64,
    rng: &mut impl rand::Rng,
    device: &burn::tensor::Device,
) -> burn::nn::BatchNorm {
    use crate::model::batch_norm::{TORCH_EPSILON, TORCH_MOMENTUM};
    let mut bn =
        crate::model::batch_norm::batch_norm(features, TORCH_MOMENTUM, TORCH_EPSILON, id, device);
    bn.gamma = normal([features], 1.0, INIT_STD, rng, device);
    bn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_of_the_supported_sides() {
        assert_eq!(levels(16), Some(1));
        assert_eq!(levels(64), Some(3));
        assert_eq!(levels(256), Some(5));
        for bad in [0, 8, 28, 48, 512] {
            assert_eq!(levels(bad), None, "{bad}");
        }
    }
}
