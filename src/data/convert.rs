//! Bringing images to a run's shape: grey or RGB, alpha on a background, resized (shorter
//! side to the target size) and centre-cropped to a square.
//!
//! Pixels are unsigned bytes in CHW order (one plane per channel) everywhere in dcgan; the
//! `image` crate works on interleaved pixels, so images cross between the two here.

use image::imageops::{self, FilterType};
use image::{DynamicImage, GrayImage, ImageBuffer, Pixel, RgbImage, RgbaImage};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Dataset, Pixels};

/// The resampling filter of every resize: sharp without Lanczos's ringing.
const FILTER: FilterType = FilterType::CatmullRom;

/// What transparent pixels are composited on.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Background {
    /// Black (0).
    Black,
    /// White (255): how most viewers show transparent images, emoji and icons.
    #[default]
    White,
}

impl Background {
    /// The background's value in every channel.
    pub fn value(self) -> u8 {
        match self {
            Background::Black => 0,
            Background::White => 255,
        }
    }
}

/// The grey value of an RGB pixel: ITU-R BT.601 luma, rounded.
pub fn luma(r: u8, g: u8, b: u8) -> u8 {
    let y = 299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b);
    ((y + 500) / 1000) as u8
}

/// `image` with its alpha composited on `background`, as RGB.
pub fn flatten(image: &DynamicImage, background: Background) -> RgbImage {
    if !image.color().has_alpha() {
        return image.to_rgb8();
    }
    let rgba: RgbaImage = image.to_rgba8();
    let bg = u32::from(background.value());
    let mut rgb = RgbImage::new(rgba.width(), rgba.height());
    for (out, px) in rgb.pixels_mut().zip(rgba.pixels()) {
        let a = u32::from(px[3]);
        for (o, &v) in out.0.iter_mut().zip(&px.0[..3]) {
            *o = ((u32::from(v) * a + bg * (255 - a) + 127) / 255) as u8;
        }
    }
    rgb
}

/// An RGB image's BT.601 luma.
pub fn grey(rgb: &RgbImage) -> GrayImage {
    GrayImage::from_fn(rgb.width(), rgb.height(), |x, y| {
        let p = rgb.get_pixel(x, y);
        image::Luma([luma(p[0], p[1], p[2])])
    })
}

/// The centred square of `image` (its shorter side long), resized to `size`×`size`: the
/// same picture as resizing the shorter side to `size` and cropping the centre, but the
/// crop comes first, so a very thin image (1 × 60,000 pixels, say) never grows into a huge
/// intermediate. An image already of that size is returned as it is.
pub fn fit<P>(image: &ImageBuffer<P, Vec<u8>>, size: u32) -> ImageBuffer<P, Vec<u8>>
where
    P: Pixel<Subpixel = u8> + 'static,
{
    let (w, h) = image.dimensions();
    if (w, h) == (size, size) {
        return image.clone();
    }
    let shorter = w.min(h).max(1);
    let square = imageops::crop_imm(
        image,
        (w - shorter) / 2,
        (h - shorter) / 2,
        shorter,
        shorter,
    );
    imageops::resize(&*square, size, size, FILTER)
}

/// A decoded image as `channels` (1 or 3) planes of `size`×`size` bytes.
pub fn to_planes(
    image: &DynamicImage,
    channels: usize,
    size: usize,
    background: Background,
) -> Vec<u8> {
    let rgb = flatten(image, background);
    if channels == 1 {
        fit(&grey(&rgb), size as u32).into_raw()
    } else {
        interleaved_to_planes(fit(&rgb, size as u32).as_raw(), 3)
    }
}

/// Interleaved pixels (`c` values a pixel) as `c` planes.
pub fn interleaved_to_planes(pixels: &[u8], c: usize) -> Vec<u8> {
    if c == 1 {
        return pixels.to_vec();
    }
    let n = pixels.len() / c;
    let mut out = vec![0; pixels.len()];
    for (i, px) in pixels.chunks_exact(c).enumerate() {
        for (k, &v) in px.iter().enumerate() {
            out[k * n + i] = v;
        }
    }
    out
}

/// `c` planes as interleaved pixels (`c` values a pixel).
pub fn planes_to_interleaved(planes: &[u8], c: usize) -> Vec<u8> {
    if c == 1 {
        return planes.to_vec();
    }
    let n = planes.len() / c;
    let mut out = vec![0; planes.len()];
    for (i, px) in out.chunks_exact_mut(c).enumerate() {
        for (k, v) in px.iter_mut().enumerate() {
            *v = planes[k * n + i];
        }
    }
    out
}

/// One CHW image (1 or 3 channels, `h`×`w`) with `channels` channels and `size`×`size`
/// pixels: grey made RGB by copying it, RGB made grey by BT.601 luma, then resized and
/// centre-cropped as [`fit`] does.
pub fn reshape(
    image: &[u8],
    c: usize,
    h: usize,
    w: usize,
    channels: usize,
    size: usize,
) -> Vec<u8> {
    let plane = h * w;
    let same_size = (h, w) == (size, size);
    match (c, channels) {
        (1, 1) if same_size => image.to_vec(),
        (1, _) => {
            let grey = GrayImage::from_raw(w as u32, h as u32, image.to_vec())
                .expect("a plane of h×w bytes");
            let fitted = fit(&grey, size as u32).into_raw();
            fitted.repeat(channels)
        }
        (_, 3) if same_size => image.to_vec(),
        (_, 3) => {
            let rgb = RgbImage::from_raw(w as u32, h as u32, planes_to_interleaved(image, 3))
                .expect("three planes of h×w bytes");
            interleaved_to_planes(fit(&rgb, size as u32).as_raw(), 3)
        }
        _ => {
            let luma_plane: Vec<u8> = (0..plane)
                .map(|i| luma(image[i], image[plane + i], image[2 * plane + i]))
                .collect();
            reshape(&luma_plane, 1, h, w, 1, size)
        }
    }
}

impl Dataset {
    /// This data set with `channels` channels (1 or 3) and `size`×`size` images, converted
    /// image by image as [`reshape`] does (in parallel). Unchanged when it already has that
    /// shape.
    pub fn reshaped(self, channels: usize, size: usize) -> Dataset {
        if (self.channels, self.height, self.width) == (channels, size, size) {
            return self;
        }
        let (c, h, w) = (self.channels, self.height, self.width);
        let out_size = channels * size * size;
        let mut pixels = vec![0u8; self.len * out_size];
        pixels
            .par_chunks_mut(out_size)
            .enumerate()
            .for_each(|(i, out)| {
                out.copy_from_slice(&reshape(self.image(i), c, h, w, channels, size))
            });
        Dataset {
            len: self.len,
            channels,
            height: size,
            width: size,
            pixels: Pixels::from(pixels),
            labels: self.labels,
            classes: self.classes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, Rgba};

    #[test]
    fn luma_is_bt601() {
        assert_eq!(luma(255, 255, 255), 255);
        assert_eq!(luma(0, 0, 0), 0);
        assert_eq!(luma(255, 0, 0), 76);
        assert_eq!(luma(0, 255, 0), 150);
        assert_eq!(luma(0, 0, 255), 29);
    }

    #[test]
    fn alpha_is_composited_on_the_background() {
        let mut img = RgbaImage::new(2, 1);
        img.put_pixel(0, 0, Rgba([200, 100, 0, 0]));
        img.put_pixel(1, 0, Rgba([200, 100, 0, 255]));
        let img = DynamicImage::ImageRgba8(img);
        let white = flatten(&img, Background::White);
        let black = flatten(&img, Background::Black);
        assert_eq!(white.get_pixel(0, 0), &Rgb([255, 255, 255]));
        assert_eq!(black.get_pixel(0, 0), &Rgb([0, 0, 0]));
        assert_eq!(white.get_pixel(1, 0), &Rgb([200, 100, 0]));
        assert_eq!(black.get_pixel(1, 0), &Rgb([200, 100, 0]));
        let mut half = RgbaImage::new(1, 1);
        half.put_pixel(0, 0, Rgba([0, 0, 0, 128]));
        let half = flatten(&DynamicImage::ImageRgba8(half), Background::White);
        assert_eq!(half.get_pixel(0, 0)[0], 127);
    }

    #[test]
    fn fit_keeps_the_centre_of_a_wide_or_tall_image() {
        // Thirds: red, green, red across a 90×30 image; the crop is the green middle.
        let wide = RgbImage::from_fn(90, 30, |x, _| {
            if (30..60).contains(&x) {
                Rgb([0, 255, 0])
            } else {
                Rgb([255, 0, 0])
            }
        });
        let out = fit(&wide, 16);
        assert_eq!(out.dimensions(), (16, 16));
        // Green-dominant throughout; pure green away from the edges the filter blends.
        assert!(
            out.pixels().all(|p| p[1] > p[0]),
            "{:?}",
            out.get_pixel(0, 0)
        );
        assert!((4..12).all(|x| out.get_pixel(x, 8)[1] > 230 && out.get_pixel(x, 8)[0] < 30));
        // A tall image whose width is the size already: cut, not resized; the rows kept
        // are 15 to 24 of 40.
        let tall = RgbImage::from_fn(10, 40, |_, y| Rgb([y as u8, 0, 0]));
        let out = fit(&tall, 10);
        assert_eq!(out.dimensions(), (10, 10));
        assert_eq!((out.get_pixel(5, 0)[0], out.get_pixel(5, 9)[0]), (15, 24));
        // Up-scaling works too, and a square of the right size is left alone.
        assert_eq!(fit(&RgbImage::new(3, 5), 7).dimensions(), (7, 7));
        let same = RgbImage::from_fn(4, 4, |x, y| Rgb([x as u8, y as u8, 9]));
        assert_eq!(fit(&same, 4), same);
    }

    #[test]
    fn planes_and_interleaved_pixels_round_trip() {
        let interleaved = [1, 2, 3, 4, 5, 6];
        let planes = interleaved_to_planes(&interleaved, 3);
        assert_eq!(planes, [1, 4, 2, 5, 3, 6]);
        assert_eq!(planes_to_interleaved(&planes, 3), interleaved);
    }

    #[test]
    fn reshape_converts_channels_and_size() {
        // A 2×2 RGB image, all pure red.
        let red = [255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(reshape(&red, 3, 2, 2, 1, 2), vec![76; 4]);
        assert_eq!(reshape(&red, 3, 2, 2, 3, 2), red.to_vec());
        let up = reshape(&red, 3, 2, 2, 3, 4);
        assert_eq!(up.len(), 48);
        assert!(up[..16].iter().all(|&v| v == 255) && up[16..].iter().all(|&v| v == 0));
        let grey = [10, 20, 30, 40];
        let rgb = reshape(&grey, 1, 2, 2, 3, 2);
        assert_eq!(rgb, [10, 20, 30, 40, 10, 20, 30, 40, 10, 20, 30, 40]);
        assert_eq!(reshape(&grey, 1, 2, 2, 1, 2), grey.to_vec());
    }
}
