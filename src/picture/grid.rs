//! Image grids: many small generated images tiled into one PNG.

use std::path::Path;

use anyhow::Context;
use burn::tensor::Tensor;
use image::{DynamicImage, GenericImageView, GrayImage, Luma, Rgb, RgbImage};

use crate::atomic_file;

/// Grey or colour images of equal size, laid out in rows.
#[derive(Debug, Clone)]
pub struct ImageGrid {
    /// Images per row.
    pub columns: usize,
    /// Channels of each image: 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
    /// The images, one after another, each `channels * height * width` values in
    /// `[-1, 1]`, channel by channel (CHW).
    pub pixels: Vec<f32>,
}

/// Pixels between images and around the grid.
pub(super) const GAP: u32 = 2;

/// A generated value in `[-1, 1]` as a grey level: -1 is black, 1 white.
pub fn to_byte(v: f32) -> u8 {
    ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8
}

/// One image (CHW values in `[-1, 1]`) as a picture of its own, each pixel `scale` times
/// larger: grey for one channel, RGB for three.
pub fn picture(
    pixels: &[f32],
    channels: usize,
    height: usize,
    width: usize,
    scale: u32,
) -> DynamicImage {
    let s = scale as usize;
    let plane = height * width;
    let at = |x: u32, y: u32| (y as usize / s) * width + x as usize / s;
    let (w, h) = ((width * s) as u32, (height * s) as u32);
    if channels == 3 {
        DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
            let i = at(x, y);
            Rgb([0, 1, 2].map(|c| to_byte(pixels[c * plane + i])))
        }))
    } else {
        DynamicImage::ImageLuma8(GrayImage::from_fn(w, h, |x, y| {
            Luma([to_byte(pixels[at(x, y)])])
        }))
    }
}

/// Copies generated images to the CPU.
///
/// # Shapes
/// - images: `[count, channels, height, width]`
pub fn images_from_tensor(images: Tensor<4>, columns: usize) -> ImageGrid {
    let [_, channels, height, width] = images.dims();
    let pixels = images
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("images are f32");
    ImageGrid {
        columns,
        channels,
        height,
        width,
        pixels,
    }
}

impl ImageGrid {
    /// Values of one image.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Number of images.
    pub fn count(&self) -> usize {
        self.pixels.len() / self.image_len()
    }

    /// Appends the rows of `other`, which must have the same image size and columns.
    pub fn stack(mut self, other: ImageGrid) -> ImageGrid {
        assert_eq!(
            (self.columns, self.channels, self.height, self.width),
            (other.columns, other.channels, other.height, other.width),
            "grids to stack must have the same layout"
        );
        self.pixels.extend(other.pixels);
        self
    }

    /// Renders the grid (grey images white on black as in MNIST, colour ones in RGB), each
    /// pixel drawn `scale` times larger, with a grey frame between images.
    pub fn render(&self, scale: u32) -> DynamicImage {
        let (h, w) = (self.height as u32, self.width as u32);
        let cols = self.columns.min(self.count()).max(1) as u32;
        let rows = self.count().div_ceil(self.columns.max(1)) as u32;
        let cell_w = w * scale + GAP;
        let cell_h = h * scale + GAP;
        let (width, height) = (cols * cell_w + GAP, rows * cell_h + GAP);
        let mut out = if self.channels == 3 {
            DynamicImage::ImageRgb8(RgbImage::from_pixel(width, height, Rgb([96; 3])))
        } else {
            DynamicImage::ImageLuma8(GrayImage::from_pixel(width, height, Luma([96])))
        };
        for (index, image) in self.pixels.chunks_exact(self.image_len()).enumerate() {
            let (row, col) = (index as u32 / cols, index as u32 % cols);
            let (x0, y0) = (GAP + col * cell_w, GAP + row * cell_h);
            let tile = picture(image, self.channels, self.height, self.width, scale);
            image::imageops::replace(&mut out, &tile, i64::from(x0), i64::from(y0));
        }
        out
    }

    /// Renders the grid as PNG bytes; returns them and the picture's width and height.
    pub fn png(&self, scale: u32) -> anyhow::Result<(Vec<u8>, (u32, u32))> {
        let image = self.render(scale);
        let mut bytes = Vec::new();
        image
            .write_to(
                &mut std::io::Cursor::new(&mut bytes),
                image::ImageFormat::Png,
            )
            .context("encoding PNG")?;
        Ok((bytes, image.dimensions()))
    }

    /// Renders the grid and writes it as a PNG, atomically; returns the file's bytes and the
    /// picture's width and height (for TensorBoard).
    pub fn save_png(&self, path: &Path, scale: u32) -> anyhow::Result<(Vec<u8>, (u32, u32))> {
        let (bytes, size) = self.png(scale)?;
        atomic_file::write(path, &bytes)
            .with_context(|| format!("cannot write picture {}", path.display()))?;
        Ok((bytes, size))
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
            channels: 1,
            height: 1,
            width: 2,
            pixels: vec![-1.0, 1.0, 1.0, -1.0],
        };
        let img = grid.render(2).into_luma8();
        assert_eq!(img.dimensions(), (2 * 2 + 2 * GAP, 2 * (2 + GAP) + GAP));
        assert_eq!(img.get_pixel(GAP, GAP).0, [0]);
        assert_eq!(img.get_pixel(GAP + 3, GAP + 1).0, [255]);
        assert_eq!(img.get_pixel(GAP, GAP + 2 + GAP).0, [255]);
        assert_eq!(img.get_pixel(0, 0).0, [96]);
    }

    #[test]
    fn colour_images_render_their_three_planes_as_rgb() {
        // One 1×2 image: red then blue, stored plane by plane (R R, G G, B B).
        let grid = ImageGrid {
            columns: 1,
            channels: 3,
            height: 1,
            width: 2,
            pixels: vec![1.0, -1.0, -1.0, -1.0, -1.0, 1.0],
        };
        let img = grid.render(1).into_rgb8();
        assert_eq!(img.dimensions(), (2 + 2 * GAP, 1 + 2 * GAP));
        assert_eq!(img.get_pixel(GAP, GAP).0, [255, 0, 0]);
        assert_eq!(img.get_pixel(GAP + 1, GAP).0, [0, 0, 255]);
        assert_eq!(img.get_pixel(0, 0).0, [96, 96, 96]);
    }
}
