//! Image grids: many small generated images tiled into one PNG.

use std::path::Path;

use anyhow::Context;
use burn::tensor::Tensor;
use image::{GrayImage, Luma};

use crate::atomic_file;

/// Grey images of equal size, laid out in rows.
#[derive(Debug, Clone)]
pub struct ImageGrid {
    /// Images per row.
    pub columns: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
    /// The images, one after another, each `height * width` values in `[-1, 1]`.
    pub pixels: Vec<f32>,
}

/// Pixels between images and around the grid.
pub(super) const GAP: u32 = 2;

/// A generated value in `[-1, 1]` as a grey level: -1 is black, 1 white.
pub(super) fn to_byte(v: f32) -> u8 {
    ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8
}

/// Copies generated images to the CPU.
///
/// # Shapes
/// - images: `[count, 1, height, width]`
pub fn images_from_tensor(images: Tensor<4>, columns: usize) -> ImageGrid {
    let [_, _, height, width] = images.dims();
    let pixels = images
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("images are f32");
    ImageGrid {
        columns,
        height,
        width,
        pixels,
    }
}

impl ImageGrid {
    /// Number of images.
    pub fn count(&self) -> usize {
        self.pixels.len() / (self.height * self.width)
    }

    /// Appends the rows of `other`, which must have the same image size and columns.
    pub fn stack(mut self, other: ImageGrid) -> ImageGrid {
        assert_eq!(
            (self.columns, self.height, self.width),
            (other.columns, other.height, other.width),
            "grids to stack must have the same layout"
        );
        self.pixels.extend(other.pixels);
        self
    }

    /// Renders the grid, white digits on black as in MNIST, each pixel drawn `scale` times
    /// larger, with a grey frame between images.
    pub fn render(&self, scale: u32) -> GrayImage {
        let (h, w) = (self.height as u32, self.width as u32);
        let cols = self.columns.min(self.count()).max(1) as u32;
        let rows = self.count().div_ceil(self.columns.max(1)) as u32;
        let cell_w = w * scale + GAP;
        let cell_h = h * scale + GAP;
        let mut out = GrayImage::from_pixel(cols * cell_w + GAP, rows * cell_h + GAP, Luma([96]));
        for (index, image) in self
            .pixels
            .chunks_exact(self.height * self.width)
            .enumerate()
        {
            let (row, col) = (index as u32 / cols, index as u32 % cols);
            let (x0, y0) = (GAP + col * cell_w, GAP + row * cell_h);
            for y in 0..h * scale {
                for x in 0..w * scale {
                    let v = image[((y / scale) * w + x / scale) as usize];
                    out.put_pixel(x0 + x, y0 + y, Luma([to_byte(v)]));
                }
            }
        }
        out
    }

    /// Renders the grid and writes it as a PNG, atomically; returns the file's bytes and the
    /// picture's width and height (for TensorBoard).
    pub fn save_png(&self, path: &Path, scale: u32) -> anyhow::Result<(Vec<u8>, (u32, u32))> {
        let image = self.render(scale);
        let mut bytes = Vec::new();
        image
            .write_to(
                &mut std::io::Cursor::new(&mut bytes),
                image::ImageFormat::Png,
            )
            .context("encoding PNG")?;
        atomic_file::write(path, &bytes)
            .with_context(|| format!("cannot write picture {}", path.display()))?;
        Ok((bytes, image.dimensions()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_tiles_in_rows_with_scaled_pixels() {
        // Two 1×2 images: [-1, 1] and [1, -1].
        let grid = ImageGrid {
            columns: 1,
            height: 1,
            width: 2,
            pixels: vec![-1.0, 1.0, 1.0, -1.0],
        };
        let img = grid.render(2);
        assert_eq!(img.dimensions(), (2 * 2 + 2 * GAP, 2 * (2 + GAP) + GAP));
        assert_eq!(img.get_pixel(GAP, GAP).0, [0]);
        assert_eq!(img.get_pixel(GAP + 3, GAP + 1).0, [255]);
        assert_eq!(img.get_pixel(GAP, GAP + 2 + GAP).0, [255]);
        assert_eq!(img.get_pixel(0, 0).0, [96]);
    }
}
