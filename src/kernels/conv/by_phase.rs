//! The input gradient of a strided convolution (the transposed convolution's forward pass)
//! split by output phase into stride-1 products that write the large map directly.
//!
//! With stride `s`, the large map's positions fall into `s × s` phases by `(y + top) mod s`
//! and `(x + left) mod s`, and each phase takes its own taps of the kernel: along one axis,
//! position `y = first + j·s` of phase `p` sums the small map at `grid + j − a` times the
//! taps `ky = p + a·s`. So each phase is a stride-1 convolution of the small map with a
//! sub-kernel (3 × 3, 3 × 2, 2 × 3 or 2 × 2 taps of a 5 × 5 kernel at stride 2): one product
//! `[channels_in, channels_out · taps] × [channels_out · taps, positions]` whose result is
//! the phase's values themselves. The im2col path ([`super::input_grad`]'s other way) instead
//! multiplies by the whole transposed weight into a patch matrix `kernel²` times the size of
//! the map and sums it back (col2im); here there are no sums, the products' inner dimension
//! is `taps` times deeper, and the patches are copies of the small map.

use rayon::prelude::*;

use super::{ConvGeometry, Scratch, prefix, with_scratch, zip_rows};
use crate::kernels::matmul::{MatrixRef, matmul};
use crate::kernels::precision::Precision;
use crate::kernels::simd;

/// Values of one phase's patch matrix a chunk of images should stay within, so that it and
/// the product's packed panels stay in the level-2 cache.
const PATCH_BUDGET: usize = 1 << 19;

/// One phase along one axis of the large map.
#[derive(Clone, Copy, Debug)]
struct AxisPhase {
    /// Kernel taps of this phase: `phase + a·stride` for `a < taps`.
    taps: usize,
    /// The phase's first position on the large map; the others follow `stride` apart.
    first: usize,
    /// Positions of the phase on the large map.
    count: usize,
    /// Where `first` lies on the small map's grid, `(first + pad) / stride`: position
    /// `first + j·stride` sums the small map at `grid + j − a` for each tap `a`.
    grid: usize,
}

impl AxisPhase {
    /// Phase `phase` of an axis of `size` positions, padded by `pad` before.
    fn of(size: usize, kernel: usize, stride: usize, pad: usize, phase: usize) -> Self {
        let first = (phase + stride - pad % stride) % stride;
        AxisPhase {
            taps: kernel.saturating_sub(phase).div_ceil(stride),
            first,
            count: size.saturating_sub(first).div_ceil(stride),
            grid: (first + pad) / stride,
        }
    }

    /// The phases of one axis, in order.
    fn all(size: usize, kernel: usize, stride: usize, pad: usize) -> Vec<Self> {
        (0..stride)
            .map(|phase| Self::of(size, kernel, stride, pad, phase))
            .collect()
    }
}

/// True where this path applies: every phase has at least one tap.
pub(super) fn applies(g: &ConvGeometry) -> bool {
    g.kernel >= g.stride
}

/// [`super::input_grad`] by output phase; see the module's comment. `g` must satisfy
/// [`applies`].
pub(super) fn input_grad(
    g: &ConvGeometry,
    grad_y: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    precision: Precision,
) -> Vec<f32> {
    assert!(applies(g), "{g:?} has phases without kernel taps");
    let s = g.stride;
    let (top, left) = g.padding();
    let rows = AxisPhase::all(g.height_in, g.kernel, s, top);
    let cols = AxisPhase::all(g.width_in, g.kernel, s, left);
    let weights: Vec<Vec<f32>> = rows
        .iter()
        .enumerate()
        .flat_map(|(py, ry)| {
            cols.iter()
                .enumerate()
                .map(move |(px, rx)| phase_weight(g, weight, [py, px], [ry.taps, rx.taps]))
        })
        .collect();
    // The small map padded by the kernel's reach on every side: each tap's window of it
    // then lies inside.
    let reach = (g.kernel - 1) / s;
    let padded = [g.height_out() + 2 * reach, g.width_out() + 2 * reach];
    // Images per chunk: as many as keep the largest phase's patches within
    // PATCH_BUDGET values (a phase's outputs are its images' alone, so the split changes
    // no result).
    let largest = g.channels_out * rows[0].taps * cols[0].taps * g.positions();
    let nb = (PATCH_BUDGET / largest.max(1)).clamp(1, g.batch.max(1));
    let mut grad_x = vec![0.0f32; g.batch * g.image_in()];
    grad_x
        .par_chunks_mut(nb * g.image_in())
        .enumerate()
        .for_each(|(chunk, grad_x)| {
            simd::dispatch(|| {
                with_scratch(|scratch| {
                    let Scratch {
                        cols: patches,
                        product,
                        planes: small,
                    } = scratch;
                    let images = chunk * nb..(chunk * nb + nb).min(g.batch);
                    let small = pad_small_map(g, grad_y, images.clone(), reach, small);
                    for (py, ry) in rows.iter().enumerate() {
                        // The row phase's products side by side, one per column phase.
                        let sizes: Vec<usize> =
                            cols.iter().map(|rx| images.len() * ry.count * rx.count).collect();
                        let total = g.channels_in * sizes.iter().sum::<usize>();
                        let outputs = prefix(product, total);
                        let mut rest = &mut outputs[..];
                        for (px, rx) in cols.iter().enumerate() {
                            let n = sizes[px];
                            let (out, tail) = rest.split_at_mut(g.channels_in * n);
                            rest = tail;
                            if n == 0 {
                                continue;
                            }
                            let k = g.channels_out * ry.taps * rx.taps;
                            let patches = prefix(patches, k * n);
                            gather_patches(g, small, padded, reach, [ry, rx], images.len(), patches);
                            matmul(
                                out,
                                MatrixRef::row_major(&weights[py * s + px], g.channels_in, k),
                                MatrixRef::row_major(patches, k, n),
                                precision,
                            );
                        }
                        write_rows(g, &outputs[..total], ry, &cols, bias, images.len(), grad_x);
                    }
                })
            })
        });
    grad_x
}

/// Phase `(py, px)`'s weights, `[channels_in, channels_out · taps_y · taps_x]`: row `c`,
/// column `(co, a, b)` holds `weight[co, c, py + a·s, px + b·s]`.
fn phase_weight(
    g: &ConvGeometry,
    weight: &[f32],
    [py, px]: [usize; 2],
    [taps_y, taps_x]: [usize; 2],
) -> Vec<f32> {
    let (k, s) = (g.kernel, g.stride);
    let mut out = Vec::with_capacity(g.channels_in * g.channels_out * taps_y * taps_x);
    for c in 0..g.channels_in {
        for co in 0..g.channels_out {
            let kernel = &weight[(co * g.channels_in + c) * k * k..][..k * k];
            for a in 0..taps_y {
                for b in 0..taps_x {
                    out.push(kernel[(py + a * s) * k + px + b * s]);
                }
            }
        }
    }
    out
}

/// The chunk's `images` of `grad_y` in `buffer`, each map padded with `reach` zeros on every
/// side: `[images, channels_out, height_out + 2·reach, width_out + 2·reach]`.
#[inline(always)]
fn pad_small_map<'a>(
    g: &ConvGeometry,
    grad_y: &[f32],
    images: std::ops::Range<usize>,
    reach: usize,
    buffer: &'a mut Vec<f32>,
) -> &'a [f32] {
    let (ho, wo) = (g.height_out(), g.width_out());
    let (ph, pw) = (ho + 2 * reach, wo + 2 * reach);
    let maps = images.len() * g.channels_out;
    buffer.clear();
    buffer.resize(maps * ph * pw, 0.0);
    let source = &grad_y[images.start * g.image_out()..][..maps * ho * wo];
    for (map, padded) in source.chunks_exact(ho * wo).zip(buffer.chunks_exact_mut(ph * pw)) {
        let inside = &mut padded[reach * pw + reach..];
        zip_rows(inside, pw, map, wo, [ho, wo], |_, value| value);
    }
    buffer
}

/// The patch matrix of phase `(ry, rx)`, `[channels_out · taps_y · taps_x, images · count_y ·
/// count_x]`: row `(co, a, b)`, column `(image, j, i)` holds the small map of `image` and
/// `co` at `(ry.grid + j − a, rx.grid + i − b)`, read from `small` ([`pad_small_map`]).
#[inline(always)]
fn gather_patches(
    g: &ConvGeometry,
    small: &[f32],
    [ph, pw]: [usize; 2],
    reach: usize,
    [ry, rx]: [&AxisPhase; 2],
    images: usize,
    patches: &mut [f32],
) {
    let per_image = ry.count * rx.count;
    let n = images * per_image;
    let mut rows = patches.chunks_exact_mut(n);
    for co in 0..g.channels_out {
        for a in 0..ry.taps {
            for b in 0..rx.taps {
                let row = rows.next().expect("one patch row per channel and tap");
                let window = (ry.grid + reach - a) * pw + rx.grid + reach - b;
                for (image, row) in row.chunks_exact_mut(per_image).enumerate() {
                    let map = &small[(image * g.channels_out + co) * ph * pw + window..];
                    zip_rows(row, rx.count, map, pw, [ry.count, rx.count], |_, v| v);
                }
            }
        }
    }
}

/// Writes row phase `ry`'s values into the chunk's images of the large map: `outputs` holds
/// the products of the column phases `cols` one after the other (each `[channels_in, images ·
/// ry.count · count_x]`), and each large-map row of the phase takes its values from all of
/// them, plus its channel's `bias`.
#[inline(always)]
fn write_rows(
    g: &ConvGeometry,
    outputs: &[f32],
    ry: &AxisPhase,
    cols: &[AxisPhase],
    bias: Option<&[f32]>,
    images: usize,
    grad_x: &mut [f32],
) {
    let (h, w, s) = (g.height_in, g.width_in, g.stride);
    // Where each column phase's product starts in `outputs`, and its row length.
    let mut starts = Vec::with_capacity(cols.len());
    let mut at = 0;
    for rx in cols {
        starts.push(at);
        at += g.channels_in * images * ry.count * rx.count;
    }
    // At stride 2 the phase starting at column 0 holds the even columns, the other the odd.
    let pair = (s == 2).then(|| match cols[0].first {
        0 => (0, 1),
        _ => (1, 0),
    });
    for image in 0..images {
        for c in 0..g.channels_in {
            let b = bias.map_or(0.0, |b| b[c]);
            let map = &mut grad_x[(image * g.channels_in + c) * h * w..][..h * w];
            for j in 0..ry.count {
                let line = &mut map[(ry.first + j * s) * w..][..w];
                // Row j of this image and channel in column phase `px`'s product.
                let row = |px: usize| {
                    let rx = &cols[px];
                    let n = images * ry.count * rx.count;
                    &outputs[starts[px] + c * n + (image * ry.count + j) * rx.count..][..rx.count]
                };
                match pair {
                    Some((even, odd)) => {
                        let (even, odd) = (row(even), row(odd));
                        for ((e, o), out) in even.iter().zip(odd).zip(line.chunks_exact_mut(2)) {
                            (out[0], out[1]) = (e + b, o + b);
                        }
                        if w % 2 == 1 {
                            line[w - 1] = even[w / 2] + b;
                        }
                    }
                    None => {
                        for (px, rx) in cols.iter().enumerate() {
                            for (i, value) in row(px).iter().enumerate() {
                                line[rx.first + i * s] = value + b;
                            }
                        }
                    }
                }
            }
        }
    }
}
