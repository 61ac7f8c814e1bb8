//! An inference convolution with explicit padding, any kernel shape and stride, its bias
//! and a ReLU fused into the write of the product: what Inception-v3's 94 layers are
//! (1×1, 3×3, 5×5, 1×7, 7×1, 1×3, 3×1; stride 1 and 2; padded or not), on one image's
//! `f32` maps in CHW order, forward only.
//!
//! The image is one matrix product `[c_out, c_in·kh·kw] × [c_in·kh·kw, h_out·w_out]`, taken
//! in blocks of at most [`BLOCK_POSITIONS`] output positions: each block's patch matrix is
//! built row by row from contiguous runs (im2col) and its product, in the level-2 cache,
//! gets the bias and ReLU on its way to the output. A 1×1 stride-1 convolution, most of
//! Inception's layers, multiplies the map itself. Single-threaded: the caller runs one
//! image per thread.

use super::matmul::{Lhs, MatrixRef, matmul_lhs};
use super::simd;

/// The shape of an explicitly padded convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaddedConv {
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

/// Output positions per block of the product. Measured on a Zen 4 core with `gemm`: a
/// `[192, 720] × [720, n]` product runs at 107 GFLOP/s for n = 1024 and 88 for a whole
/// 71×71 map (n = 5041), a `[64, 288] × [288, n]` one at 103 and 70 for n = 1024 and 21609.
pub const BLOCK_POSITIONS: usize = 1024;

/// A thread's working memory for [`image_relu`], kept from call to call (it only grows):
/// one block's patch matrix and product.
#[derive(Debug, Default)]
pub struct ConvScratch {
    columns: Vec<f32>,
    product: Vec<f32>,
}

/// The first `len` values of `buffer`, grown to hold them.
pub fn grown(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    &mut buffer[..len]
}

/// `relu(conv(x, weight) + bias)` of one image into `out`, its products in the precision
/// `weight` was made for: the weight as a matrix `[channels_out, channels_in·kh·kw]`, f32
/// in place or packed once in bf16.
///
/// # Shapes
/// - x: `[channels_in, height, width]`
/// - bias: `[channels_out]`
/// - out: `[channels_out, height_out, width_out]`
pub fn image_relu(
    g: &PaddedConv,
    x: &[f32],
    weight: Lhs,
    bias: &[f32],
    out: &mut [f32],
    scratch: &mut ConvScratch,
) {
    blocked_image_relu(g, x, weight, bias, out, scratch, BLOCK_POSITIONS);
}

simd::multiversion! {
    /// [`image_relu`] in blocks of at most `max_block` positions; its loops compiled for each
    /// SIMD level (the products dispatch themselves).
    fn blocked_image_relu(
        g: &PaddedConv,
        x: &[f32],
        weight: Lhs,
        bias: &[f32],
        out: &mut [f32],
        scratch: &mut ConvScratch,
        max_block: usize,
    ) {
        assert_eq!(x.len(), g.image_in(), "conv input size");
        assert_eq!(
            weight.shape(),
            [g.channels_out, g.patch_len()],
            "conv weight shape"
        );
        assert_eq!(bias.len(), g.channels_out, "conv bias size");
        assert_eq!(out.len(), g.image_out(), "conv output size");
        let (k, p) = (g.patch_len(), g.positions());
        // Equal blocks: a 35×35 map in two of 613 columns rather than 1024 and 201.
        let block = p.div_ceil(p.div_ceil(max_block));
        for first in (0..p).step_by(block) {
            let n = block.min(p - first);
            let product = grown(&mut scratch.product, g.channels_out * n);
            if g.is_pointwise() {
                let patches = MatrixRef::row_major(x, k, p).columns(first, n);
                matmul_lhs(product, weight, patches);
            } else {
                let columns = grown(&mut scratch.columns, k * n);
                im2col(g, x, first, columns);
                let patches = MatrixRef::row_major(columns, k, n);
                matmul_lhs(product, weight, patches);
            }
            for ((row, &b), out) in product.chunks(n).zip(bias).zip(out.chunks_mut(p)) {
                for (v, &sum) in out[first..first + n].iter_mut().zip(row) {
                    *v = (sum + b).max(0.0);
                }
            }
        }
    }
}

/// The patch matrix of one image's output positions `first..first + n`, `n` being
/// `columns.len() / (channels_in·kh·kw)`: row `(c, ky, kx)` holds `x[c, oy·s + ky − ph,
/// ox·s + kx − pw]` for each of those positions `(oy, ox)`, zero outside the map.
#[inline(always)]
fn im2col(g: &PaddedConv, x: &[f32], first: usize, columns: &mut [f32]) {
    let [h, w] = g.size_in;
    let [kh, kw] = g.kernel;
    let [ph, pw] = g.padding;
    let [_, wo] = g.size_out();
    let s = g.stride;
    let n = columns.len() / g.patch_len();
    let mut rows = columns.chunks_mut(n);
    for plane in x.chunks(h * w) {
        for ky in 0..kh {
            for kx in 0..kw {
                let row = rows.next().expect("a row per channel and kernel position");
                // The block's positions, one output row's run at a time.
                let mut position = first;
                for out in split_at_rows(row, first % wo, wo) {
                    let (oy, ox0) = (position / wo, position % wo);
                    position += out.len();
                    let iy = (oy * s + ky).wrapping_sub(ph);
                    if iy >= h {
                        out.fill(0.0);
                        continue;
                    }
                    let line = &plane[iy * w..(iy + 1) * w];
                    if s == 1 {
                        // Columns ox with ix = ox + kx − pw inside [0, w): a contiguous run.
                        let ox1 = ox0 + out.len();
                        let lo = pw.saturating_sub(kx).clamp(ox0, ox1);
                        let hi = (w + pw).saturating_sub(kx).clamp(lo, ox1);
                        out[..lo - ox0].fill(0.0);
                        if lo < hi {
                            let run = &line[lo + kx - pw..hi + kx - pw];
                            out[lo - ox0..hi - ox0].copy_from_slice(run);
                        }
                        out[hi - ox0..].fill(0.0);
                    } else {
                        for (ox, v) in (ox0..).zip(out.iter_mut()) {
                            let ix = (ox * s + kx).wrapping_sub(pw);
                            *v = if ix < w { line[ix] } else { 0.0 };
                        }
                    }
                }
            }
        }
    }
}

/// `row` cut where output rows of `width` positions end, its first position being column
/// `start` of an output row.
#[inline(always)]
fn split_at_rows(row: &mut [f32], start: usize, width: usize) -> impl Iterator<Item = &mut [f32]> {
    let mut rest = row;
    let mut room = width - start;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let len = room.min(rest.len());
        let (run, tail) = std::mem::take(&mut rest).split_at_mut(len);
        rest = tail;
        room = width;
        Some(run)
    })
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
        for n in 0..x.len() / g.image_in() {
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
                channels_in: 5,
                size_in,
                channels_out: 7,
                kernel,
                stride,
                padding,
            };
            let x: Vec<f32> = (0..3 * g.image_in())
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            let w: Vec<f32> = (0..g.channels_out * g.patch_len())
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            let b: Vec<f32> = (0..g.channels_out)
                .map(|_| rng.random_range(-0.5..0.5))
                .collect();
            let expected = reference(&g, &x, &w, &b);
            // Whole maps, and blocks that end inside output rows.
            for max_block in [BLOCK_POSITIONS, 5] {
                let mut ours = vec![f32::NAN; expected.len()];
                let mut scratch = ConvScratch::default();
                for (x, out) in x.chunks(g.image_in()).zip(ours.chunks_mut(g.image_out())) {
                    let weight = Lhs::F32(MatrixRef::row_major(&w, g.channels_out, g.patch_len()));
                    blocked_image_relu(&g, x, weight, &b, out, &mut scratch, max_block);
                }
                check(&g, &ours, &expected);
            }
        }
    }

    fn check(g: &PaddedConv, ours: &[f32], expected: &[f32]) {
        assert_eq!(ours.len(), expected.len(), "{g:?}");
        let worst = ours
            .iter()
            .zip(expected)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(worst < 1e-4, "{g:?}: off by {worst}");
        assert!(
            ours.iter().any(|&v| v > 0.0) && ours.contains(&0.0),
            "{g:?}"
        );
    }
}
