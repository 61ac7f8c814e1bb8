//! Noise and pictures: the seed's noise vectors, image grids, PNG files.

mod grid;
mod noise;

pub use grid::{ImageGrid, images_from_tensor};
pub use noise::{Noise, moving_noise, uniform_noise};
