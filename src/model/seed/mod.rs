//! The seed's DCGAN, exactly as the TensorFlow tutorial builds it: a generator from 100
//! numbers of noise to 28×28 images and a discriminator that scores them with one logit,
//! 5×5 kernels with TF's 'SAME' padding, TF's initialisers and BatchNorm settings.

mod discriminator;
mod generator;

pub use discriminator::{Discriminator, DiscriminatorConfig};
pub use generator::{Generator, GeneratorConfig, MOVING_AVERAGE_UPDATES_PER_STEP};
