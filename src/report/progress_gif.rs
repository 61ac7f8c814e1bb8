//! `progress.gif`: the sample pictures of all epochs in order, each captioned with its
//! epoch, as the TensorFlow DCGAN tutorial's training GIF.

use std::path::PathBuf;

use anyhow::{Context, bail};
use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame, RgbaImage};
use plotters::prelude::*;

/// Height of the caption strip above each picture, in pixels.
const CAPTION: u32 = 28;
/// How long each frame shows; the last one stays longer.
const FRAME_MS: u32 = 500;
const LAST_FRAME_MS: u32 = 2000;

/// The GIF's bytes: one captioned frame per picture, looping forever.
pub fn draw_progress_gif(pictures: &[(usize, PathBuf)]) -> anyhow::Result<Vec<u8>> {
    super::register_font();
    let mut gif = Vec::new();
    {
        let mut encoder = GifEncoder::new_with_speed(&mut gif, 10);
        encoder.set_repeat(Repeat::Infinite)?;
        let mut size = None;
        for (i, (epoch, path)) in pictures.iter().enumerate() {
            let picture = image::open(path)
                .with_context(|| format!("cannot read picture {}", path.display()))?
                .to_rgb8();
            let dims = picture.dimensions();
            if *size.get_or_insert(dims) != dims {
                bail!(
                    "{} is {}×{} but the earlier pictures are {}×{}; a GIF needs one size",
                    path.display(),
                    dims.0,
                    dims.1,
                    size.unwrap().0,
                    size.unwrap().1
                );
            }
            let ms = if i + 1 == pictures.len() {
                LAST_FRAME_MS
            } else {
                FRAME_MS
            };
            let frame = Frame::from_parts(
                captioned(&picture, &format!("epoch {epoch}"))?,
                0,
                0,
                Delay::from_numer_denom_ms(ms, 1),
            );
            encoder
                .encode_frame(frame)
                .context("cannot encode the GIF")?;
        }
    }
    Ok(gif)
}

/// `picture` below a white strip with `caption`.
fn captioned(picture: &image::RgbImage, caption: &str) -> anyhow::Result<RgbaImage> {
    let (w, h) = picture.dimensions();
    let mut pixels = vec![255u8; (w * (h + CAPTION) * 3) as usize];
    let row = (w * 3) as usize;
    pixels[row * CAPTION as usize..].copy_from_slice(picture.as_raw());
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h + CAPTION)).into_drawing_area();
        root.draw(&Text::new(
            caption,
            (6, 5),
            ("sans-serif", 18).into_font().color(&BLACK),
        ))
        .map_err(|e| anyhow::anyhow!("cannot draw the caption: {e}"))?;
        root.present()
            .map_err(|e| anyhow::anyhow!("cannot draw the caption: {e}"))?;
    }
    let rgb =
        image::RgbImage::from_raw(w, h + CAPTION, pixels).expect("buffer of the frame's size");
    Ok(image::DynamicImage::ImageRgb8(rgb).to_rgba8())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_dir::PICTURES;
    use image::AnimationDecoder;

    #[test]
    fn frames_follow_the_epochs_in_order_with_captions() {
        let run = tempfile::tempdir().unwrap();
        std::fs::create_dir(run.path().join(PICTURES.folder)).unwrap();
        for (epoch, shade) in [(10usize, 200u8), (0, 0), (5, 100)] {
            image::GrayImage::from_pixel(40, 30, image::Luma([shade]))
                .save(PICTURES.path(run.path(), epoch))
                .unwrap();
        }
        let pictures = PICTURES.list(run.path()).unwrap();
        let epochs: Vec<usize> = pictures.iter().map(|p| p.0).collect();
        assert_eq!(epochs, vec![0, 5, 10]);

        let gif = draw_progress_gif(&pictures).unwrap();
        let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(gif)).unwrap();
        let frames = decoder.into_frames().collect_frames().unwrap();
        assert_eq!(frames.len(), 3);
        for (frame, shade) in frames.iter().zip([0u8, 100, 200]) {
            let buffer = frame.buffer();
            assert_eq!(buffer.dimensions(), (40, 30 + CAPTION));
            // The picture sits below the caption, unchanged (GIF's palette keeps greys).
            let p = buffer.get_pixel(20, CAPTION + 15).0;
            assert!(p[0].abs_diff(shade) <= 2, "{p:?} for {shade}");
            // The caption strip has dark text on white.
            let strip = (0..CAPTION).flat_map(|y| (0..40).map(move |x| (x, y)));
            assert!(
                strip
                    .clone()
                    .any(|(x, y)| buffer.get_pixel(x, y).0[0] < 100)
            );
            assert!(
                strip
                    .clone()
                    .any(|(x, y)| buffer.get_pixel(x, y).0[0] > 250)
            );
        }
        let (last_ms, _) = frames[2].delay().numer_denom_ms();
        assert_eq!(last_ms, LAST_FRAME_MS);
    }

    #[test]
    fn pictures_of_different_sizes_are_an_error_naming_the_file() {
        let run = tempfile::tempdir().unwrap();
        std::fs::create_dir(run.path().join(PICTURES.folder)).unwrap();
        image::GrayImage::new(40, 30)
            .save(PICTURES.path(run.path(), 0))
            .unwrap();
        image::GrayImage::new(20, 30)
            .save(PICTURES.path(run.path(), 1))
            .unwrap();
        let err = draw_progress_gif(&PICTURES.list(run.path()).unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("epoch_001.png"), "{err}");
    }
}
