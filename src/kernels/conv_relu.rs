//! An inference convolution with explicit padding, any kernel shape and stride, its bias
//! and a ReLU fused into the write of the product: what Inception-v3's 94 layers are
//! (1×1, 3×3, 5×5, 1×7, 7×1, 1×3, 3×1; stride 1 and 2; padded or not), on plain `f32`
//! slices in NCHW order, forward only.
//!
//! Each image is one matrix product `[c_out, c_in·kh·kw] × [c_in·kh·kw, h_out·w_out]`,
//! the patch matrix built row by row from contiguous runs (im2col); a 1×1 stride-1
//! convolution, most of Inception's layers, multiplies the image itself. Images are shared
//! among threads by rayon, each product single-threaded in [`matmul`] (f32 or bf16).

use std::cell::RefCell;

use rayon::prelude::*;

use super::matmul::{MatrixRef, matmul};
use super::precision::Precision;
use super::simd;

/// The shape of an explicitly padded convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaddedConv {
    /// Images.
    pub batch: usize,
    /// Input channels.
    pub channels_in: usize,
    /// Input height and width.
    pub size_in: [usize; 2],
    /// Output channels.
    pub channels_out: usize,
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride along both axes.
    pub stride: usize,
    /// Zero rows above and below, zero columns left and right.
    pub padding: [usize; 2],
}

impl PaddedConv {
    /// Output height and width: `(size + 2·padding − kernel) / stride + 1`.
    ///
    /// # Panics
    /// If the kernel is larger than the padded input.
    pub fn size_out(&self) -> [usize; 2] {
        [0, 1].map(|a| {
            let padded = self.size_in[a] + 2 * self.padding[a];
            assert!(
                padded >= self.kernel[a],
                "kernel {:?} larger than the padded input {:?}",
                self.kernel,
                self.size_in
            );
            (padded - self.kernel[a]) / self.stride + 1
        })
    }

    fn positions(&self) -> usize {
        let [h, w] = self.size_out();
        h * w
    }

    fn patch_len(&self) -> usize {
        self.channels_in * self.kernel[0] * self.kernel[1]
    }

    fn image_in(&self) -> usize {
        self.channels_in * self.size_in[0] * self.size_in[1]
    }

    fn image_out(&self) -> usize {
        self.channels_out * self.positions()
    }

    /// True when the input itself is the patch matrix.
    fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.stride == 1 && self.padding == [0, 0]
    }
}

thread_local! {
    static COLUMNS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `relu(conv(x, weight) + bias)`, its products in `precision`.
///
/// # Shapes
/// - x: `[batch, channels_in, height, width]`
/// - weight: `[channels_out, channels_in, kh, kw]`
/// - bias: `[channels_out]`
/// - output: `[batch, channels_out, height_out, width_out]`
pub fn forward_relu(
    g: &PaddedConv,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    precision: Precision,
) -> Vec<f32> {
    assert_eq!(x.len(), g.batch * g.image_in(), "conv input size");
    assert_eq!(
        weight.len(),
        g.channels_out * g.patch_len(),
        "conv weight size"
    );
    assert_eq!(bias.len(), g.channels_out, "conv bias size");
    let (k, p) = (g.patch_len(), g.positions());
    let mut y = vec![0.0f32; g.batch * g.image_out()];
    y.par_chunks_mut(g.image_out())
        .zip(x.par_chunks(g.image_in()))
        .for_each(|(y, x)| {
            simd::dispatch(|| {
                let weight = MatrixRef::row_major(weight, g.channels_out, k);
                if g.is_pointwise() {
                    matmul(y, weight, MatrixRef::row_major(x, k, p), precision);
                } else {
                    COLUMNS.with_borrow_mut(|columns| {
                        if columns.len() < k * p {
                            columns.resize(k * p, 0.0);
                        }
                        im2col(g, x, &mut columns[..k * p]);
                        let patches = MatrixRef::row_major(&columns[..k * p], k, p);
                        matmul(y, weight, patches, precision);
                    });
                }
                for (y, &b) in y.chunks_mut(p).zip(bias) {
                    for v in y {
                        *v = (*v + b).max(0.0);
                    }
                }
            })
        });
    y
}

/// The patch matrix of one image, `[channels_in·kh·kw, h_out·w_out]`: row `(c, ky, kx)`
/// holds `x[c, oy·s + ky − ph, ox·s + kx − pw]` for every output `(oy, ox)`, zero outside.
fn im2col(g: &PaddedConv, x: &[f32], columns: &mut [f32]) {
    let [h, w] = g.size_in;
    let [kh, kw] = g.kernel;
    let [ph, pw] = g.padding;
    let [ho, wo] = g.size_out();
    let s = g.stride;
    let mut rows = columns.chunks_mut(ho * wo);
    for plane in x.chunks(h * w) {
        for ky in 0..kh {
            for kx in 0..kw {
                let row = rows.next().expect("a row per channel and kernel position");
                for (oy, out) in row.chunks_mut(wo).enumerate() {
                    let iy = (oy * s + ky).wrapping_sub(ph);
                    if iy >= h {
                        out.fill(0.0);
                        continue;
                    }
                    let line = &plane[iy * w..(iy + 1) * w];
                    if s == 1 {
                        // Columns ox with ix = ox + kx − pw inside [0, w): a contiguous run.
                        let first = pw.saturating_sub(kx).min(wo);
                        let last = (w + pw).saturating_sub(kx).min(wo).max(first);
                        out.fill(0.0);
                        if first < last {
                            out[first..last]
                                .copy_from_slice(&line[first + kx - pw..last + kx - pw]);
                        }
                    } else {
                        for (ox, v) in out.iter_mut().enumerate() {
                            let ix = (ox * s + kx).wrapping_sub(pw);
                            *v = if ix < w { line[ix] } else { 0.0 };
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The definition, one output at a time, in f64.
    fn reference(g: &PaddedConv, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
        let [h, wi] = g.size_in;
        let [kh, kw] = g.kernel;
        let [ho, wo] = g.size_out();
        let mut y = Vec::new();
        for n in 0..g.batch {
            for o in 0..g.channels_out {
                for oy in 0..ho {
                    for ox in 0..wo {
                        let mut sum = f64::from(b[o]);
                        for c in 0..g.channels_in {
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let iy = (oy * g.stride + ky) as isize - g.padding[0] as isize;
                                    let ix = (ox * g.stride + kx) as isize - g.padding[1] as isize;
                                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= wi as isize {
                                        continue;
                                    }
                                    let xv = x[((n * g.channels_in + c) * h + iy as usize) * wi
                                        + ix as usize];
                                    let wv = w[((o * g.channels_in + c) * kh + ky) * kw + kx];
                                    sum += f64::from(xv) * f64::from(wv);
                                }
                            }
                        }
                        y.push(sum.max(0.0) as f32);
                    }
                }
            }
        }
        y
    }

    #[test]
    fn matches_the_definition_for_inceptions_shapes() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        // (kernel, stride, padding, input size): every kind of Inception layer, and odd sizes.
        let cases = [
            ([3, 3], 2, [0, 0], [17, 15]),
            ([3, 3], 1, [0, 0], [9, 9]),
            ([3, 3], 1, [1, 1], [8, 7]),
            ([1, 1], 1, [0, 0], [6, 5]),
            ([5, 5], 1, [2, 2], [7, 7]),
            ([1, 7], 1, [0, 3], [9, 8]),
            ([7, 1], 1, [3, 0], [8, 9]),
            ([1, 3], 1, [0, 1], [5, 4]),
            ([3, 1], 1, [1, 0], [4, 5]),
            ([3, 3], 2, [1, 1], [10, 10]),
            // Maps narrower than the padding: some rows are all padding.
            ([1, 7], 1, [0, 3], [3, 2]),
            ([7, 1], 1, [3, 0], [1, 3]),
        ];
        for (kernel, stride, padding, size_in) in cases {
            let g = PaddedConv {
                batch: 3,
                channels_in: 5,
                size_in,
                channels_out: 7,
                kernel,
                stride,
                padding,
            };
            let x: Vec<f32> = (0..g.batch * g.image_in())
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            let w: Vec<f32> = (0..g.channels_out * g.patch_len())
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            let b: Vec<f32> = (0..g.channels_out)
                .map(|_| rng.random_range(-0.5..0.5))
                .collect();
            let ours = forward_relu(&g, &x, &w, &b, Precision::F32);
            let expected = reference(&g, &x, &w, &b);
            assert_eq!(ours.len(), expected.len(), "{g:?}");
            let worst = ours
                .iter()
                .zip(&expected)
                .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(worst < 1e-4, "{g:?}: off by {worst}");
            assert!(
                ours.iter().any(|&v| v > 0.0) && ours.contains(&0.0),
                "{g:?}"
            );
        }
    }
}
