//! The networks: the seed's exact DCGAN for 28×28 images ([`seed`]), the DCGAN paper's
//! family for other sizes ([`paper`]), the [`Generator`] and [`Discriminator`] of a run
//! (either family, told the class when conditional: [`conditioning`]), the
//! [`Architecture`] that describes them, and the layers both families
//! share: BatchNorm ([`batch_norm`]), TF-'SAME' convolutions ([`padding`]) and initialisers
//! ([`init`]).

mod architecture;
pub mod batch_norm;
pub mod conditioning;
mod discriminator;
mod generator;
pub mod init;
pub mod padding;
pub mod paper;
pub mod seed;
pub mod spectral_norm;

pub use architecture::{Architecture, Family};
pub use conditioning::{Conditional, Conditioning};
pub use discriminator::{Discriminator, DiscriminatorNet, Judgement};
pub use generator::{Generator, GeneratorNet};
pub use padding::{TfConvTranspose2d, tf_conv2d};

/// `tanh`, the generators' last activation: dcgan's kernel on the CPU backend (the same
/// values as burn's, on all threads), burn's elsewhere.
pub fn tanh(x: burn::tensor::Tensor<4>) -> burn::tensor::Tensor<4> {
    if crate::kernels::ops::supported(&x) {
        crate::kernels::ops::tanh(x)
    } else {
        burn::tensor::activation::tanh(x)
    }
}

/// A leaky ReLU (`x`, or `slope · x` below zero): dcgan's one-pass kernel on the CPU
/// backend (burn's takes several passes each way), burn's elsewhere.
pub fn leaky_relu(x: burn::tensor::Tensor<4>, slope: f64) -> burn::tensor::Tensor<4> {
    if crate::kernels::ops::supported(&x) {
        crate::kernels::ops::leaky_relu(x, slope)
    } else {
        burn::tensor::activation::leaky_relu(x, slope)
    }
}
