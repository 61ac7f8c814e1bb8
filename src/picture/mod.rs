//! Noise and pictures: the seed's noise vectors, image grids, PNG files, and the outputs of
//! `dcgan sample` (a grid, a directory of PNGs, a `.npy` array).

mod grid;
mod noise;
mod output;

pub use grid::{ImageGrid, images_from_tensor, picture, to_byte};
pub use noise::{MAX_NOISE_VECTORS, Noise, interpolation, moving_noise, read_npy, uniform_noise};
pub use output::{ImageWriter, Layout, MAX_GRID_PIXELS, OutputKind};
