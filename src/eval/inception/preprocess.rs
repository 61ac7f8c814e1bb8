//! pytorch-fid's preprocessing, exactly: images quantised to 8 bits as a PNG stores them,
//! scaled to `[0, 1]`, resized to 299×299 by PyTorch's bilinear interpolation
//! (`align_corners=False`, no antialiasing), then mapped to `[-1, 1]` by `2x − 1`; grey
//! images repeated to three channels.
//!
//! Written out by hand rather than with burn's `interpolate`: what must match is PyTorch's
//! CPU kernel to the rounding, on 8-bit values, which a short loop states exactly.

use rayon::prelude::*;

use super::network::INPUT_SIZE;
use crate::picture::to_byte;

/// Where each output row (or column) reads from: two source indices and their weights,
/// as PyTorch's `upsample_bilinear2d` computes them in f32.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Tap {
    first: usize,
    second: usize,
    weight_first: f32,
    weight_second: f32,
}

/// The taps of a resize from `input` to `output` samples (`align_corners=False`): the
/// source position `(i + ½)·input/output − ½`, clamped at 0, between its floor and the next
/// sample (the same one at the last).
fn taps(input: usize, output: usize) -> Vec<Tap> {
    let scale = input as f32 / output as f32;
    (0..output)
        .map(|i| {
            let source = (scale * (i as f32 + 0.5) - 0.5).max(0.0);
            let first = (source.floor() as usize).min(input - 1);
            let second = first + usize::from(first < input - 1);
            let weight_second = (source - first as f32).clamp(0.0, 1.0);
            Tap {
                first,
                second,
                weight_first: 1.0 - weight_second,
                weight_second,
            }
        })
        .collect()
}

/// 8-bit images `[batch, channels, height, width]` (1 or 3 channels) as the network's
/// input, `[batch, 3, 299, 299]` in `[-1, 1]`.
pub fn network_input(
    pixels: &[u8],
    batch: usize,
    channels: usize,
    [height, width]: [usize; 2],
) -> Vec<f32> {
    assert!(
        channels == 1 || channels == 3,
        "images have 1 or 3 channels, not {channels}"
    );
    assert_eq!(
        pixels.len(),
        batch * channels * height * width,
        "pixel count"
    );
    let rows = taps(height, INPUT_SIZE);
    let columns = taps(width, INPUT_SIZE);
    let plane = INPUT_SIZE * INPUT_SIZE;
    let mut out = vec![0.0f32; batch * 3 * plane];
    out.par_chunks_mut(3 * plane)
        .zip(pixels.par_chunks(channels * height * width))
        .for_each(|(out, image)| {
            for (c, out) in out.chunks_mut(plane).enumerate() {
                let source = &image[(c % channels) * height * width..][..height * width];
                let at = |y: usize, x: usize| f32::from(source[y * width + x]) / 255.0;
                for (row, ty) in out.chunks_mut(INPUT_SIZE).zip(&rows) {
                    for (value, tx) in row.iter_mut().zip(&columns) {
                        let top = at(ty.first, tx.first) * tx.weight_first
                            + at(ty.first, tx.second) * tx.weight_second;
                        let bottom = at(ty.second, tx.first) * tx.weight_first
                            + at(ty.second, tx.second) * tx.weight_second;
                        let x = top * ty.weight_first + bottom * ty.weight_second;
                        *value = 2.0 * x - 1.0;
                    }
                }
            }
        });
    out
}

/// Images in `[-1, 1]` (a generator's or a data set's) as 8-bit values, rounded as dcgan's
/// PNGs store them.
pub fn quantise(values: &[f32]) -> Vec<u8> {
    values.iter().map(|&v| to_byte(v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taps_follow_pytorchs_half_pixel_centres() {
        // Upsampling 2 → 4: sources −0.25 (clamped to 0), 0.25, 0.75, 1.25 (the last sample
        // twice).
        let t = taps(2, 4);
        let weights: Vec<(usize, usize, f32)> = t
            .iter()
            .map(|t| (t.first, t.second, t.weight_second))
            .collect();
        assert_eq!(
            weights,
            vec![(0, 1, 0.0), (0, 1, 0.25), (0, 1, 0.75), (1, 1, 0.25)]
        );
    }

    #[test]
    fn a_flat_image_stays_flat_and_grey_is_repeated() {
        let pixels = vec![51u8; 16 * 16];
        let input = network_input(&pixels, 1, 1, [16, 16]);
        assert_eq!(input.len(), 3 * 299 * 299);
        let expected = 2.0 * (51.0f32 / 255.0) - 1.0;
        assert!(input.iter().all(|&v| (v - expected).abs() < 1e-6));
    }

    #[test]
    fn a_299_image_passes_unchanged() {
        let pixels: Vec<u8> = (0..3 * 299 * 299).map(|i| (i * 7 % 256) as u8).collect();
        let input = network_input(&pixels, 1, 3, [299, 299]);
        for (v, p) in input.iter().zip(&pixels) {
            assert_eq!(*v, 2.0 * (f32::from(*p) / 255.0) - 1.0);
        }
    }
}
