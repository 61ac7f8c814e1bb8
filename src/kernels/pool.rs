//! The pooling layers of Inception-v3 on one image's maps, `[channels, height, width]` `f32`
//! slices: 3×3 max pools of stride 2 without padding (the grid-size reductions), 3×3 max and
//! average pools of stride 1 that keep the size (padding 1; the average counts only the taps
//! inside the map, PyTorch's `count_include_pad=False`), and the global average.
//!
//! Each output sums (or compares) its taps row by row, left to right, as PyTorch's CPU
//! kernels do, so the averages are PyTorch's to the last bit. Written here because burn's
//! pooling works on whole tensors, and Inception's CPU path writes each branch of a mixed
//! block straight into its place in the block's output (`eval/inception/cpu.rs`).

use super::simd;

/// Height and width of a 3×3 stride-2 pool without padding: `(size − 3) / 2 + 1`.
///
/// # Panics
/// If the map is smaller than the window.
pub fn reduced_size([h, w]: [usize; 2]) -> [usize; 2] {
    assert!(h >= 3 && w >= 3, "a 3×3 pool of a {h}×{w} map");
    [(h - 3) / 2 + 1, (w - 3) / 2 + 1]
}

simd::multiversion! {
    /// 3×3 max pool, stride 2, no padding: `x` `[channels, h, w]` into `out` `[channels,
    /// (h − 3) / 2 + 1, (w − 3) / 2 + 1]`.
    pub fn max_3x3_stride_2(x: &[f32], channels: usize, size: [usize; 2], out: &mut [f32]) {
        let [h, w] = size;
        let [ho, wo] = reduced_size(size);
        assert_eq!(x.len(), channels * h * w, "pool input size");
        assert_eq!(out.len(), channels * ho * wo, "pool output size");
        // One output row's maxima over its three input rows, column by column.
        let rows = &mut vec![0.0; w];
        for (plane, out) in x.chunks(h * w).zip(out.chunks_mut(ho * wo)) {
            for (oy, out) in out.chunks_mut(wo).enumerate() {
                // The three input rows' maxima, column by column, then each window's.
                let lines = &plane[2 * oy * w..(2 * oy + 3) * w];
                let (top, rest) = lines.split_at(w);
                let (middle, bottom) = rest.split_at(w);
                for (((m, &a), &b), &c) in rows.iter_mut().zip(top).zip(middle).zip(bottom) {
                    *m = a.max(b).max(c);
                }
                for (ox, v) in out.iter_mut().enumerate() {
                    let taps = &rows[2 * ox..2 * ox + 3];
                    *v = taps[0].max(taps[1]).max(taps[2]);
                }
            }
        }
    }
}

/// What a size-keeping 3×3 pool computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// The largest tap inside the map.
    Max,
    /// The mean of the taps inside the map (the padding left out of the count).
    Average,
}

simd::multiversion! {
    /// 3×3 pool, stride 1, padding 1: `x` `[channels, h, w]` into `out` of the same shape.
    pub fn same_3x3(pool: Pool, x: &[f32], channels: usize, size: [usize; 2], out: &mut [f32]) {
        let [h, w] = size;
        assert_eq!(x.len(), channels * h * w, "pool input size");
        assert_eq!(out.len(), x.len(), "pool output size");
        for (plane, out) in x.chunks(h * w).zip(out.chunks_mut(h * w)) {
            for (oy, out) in out.chunks_mut(w).enumerate() {
                let rows = oy.saturating_sub(1)..(oy + 2).min(h);
                let lines = plane[rows.start * w..rows.end * w].chunks(w);
                match pool {
                    Pool::Max => {
                        out.fill(f32::NEG_INFINITY);
                        for line in lines {
                            row_taps(out, line, f32::max);
                        }
                    }
                    Pool::Average => {
                        out.fill(0.0);
                        for line in lines {
                            row_taps(out, line, |sum, tap| sum + tap);
                        }
                        let count = rows.len();
                        for (ox, v) in out.iter_mut().enumerate() {
                            let columns = (ox + 2).min(w) - ox.saturating_sub(1);
                            *v /= (count * columns) as f32;
                        }
                    }
                }
            }
        }
    }
}

/// `out[ox] = combine(combine(combine(out[ox], line[ox − 1]), line[ox]), line[ox + 1])`,
/// the taps outside the line left out: the two ends apart, so that the inner columns run
/// as one vectorised loop.
#[inline(always)]
fn row_taps(out: &mut [f32], line: &[f32], combine: impl Fn(f32, f32) -> f32) {
    let w = line.len();
    if w < 3 {
        for (ox, v) in out.iter_mut().enumerate() {
            let taps = &line[ox.saturating_sub(1)..(ox + 2).min(w)];
            *v = taps.iter().fold(*v, |v, &tap| combine(v, tap));
        }
        return;
    }
    out[0] = combine(combine(out[0], line[0]), line[1]);
    let (left, middle, right) = (&line[..w - 2], &line[1..w - 1], &line[2..]);
    let inner = out[1..w - 1].iter_mut().zip(left).zip(middle).zip(right);
    for (((v, &a), &b), &c) in inner {
        *v = combine(combine(combine(*v, a), b), c);
    }
    out[w - 1] = combine(combine(out[w - 1], line[w - 2]), line[w - 1]);
}

/// The mean of each channel of `x` `[channels, area]` into `out` `[channels]`, summed in
/// order.
pub fn global_average(x: &[f32], area: usize, out: &mut [f32]) {
    assert_eq!(x.len(), out.len() * area, "global pool sizes");
    for (plane, v) in x.chunks(area).zip(out) {
        *v = plane.iter().sum::<f32>() / area as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A 3×3 window at stride `s`, offset `−pad`: the in-map taps of output `(oy, ox)`.
    fn taps(
        plane: &[f32],
        [h, w]: [usize; 2],
        s: usize,
        pad: usize,
        oy: usize,
        ox: usize,
    ) -> Vec<f32> {
        let mut taps = Vec::new();
        for ky in 0..3 {
            for kx in 0..3 {
                let (iy, ix) = (
                    (oy * s + ky).wrapping_sub(pad),
                    (ox * s + kx).wrapping_sub(pad),
                );
                if iy < h && ix < w {
                    taps.push(plane[iy * w + ix]);
                }
            }
        }
        taps
    }

    fn random(len: usize, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..len).map(|_| rng.random_range(-2.0..2.0)).collect()
    }

    #[test]
    fn pools_match_their_definitions_on_odd_and_tiny_maps() {
        for (size, seed) in [
            ([7, 9], 1),
            ([8, 8], 2),
            ([3, 3], 3),
            ([1, 4], 4),
            ([5, 1], 5),
        ] {
            let [h, w] = size;
            let channels = 3;
            let x = random(channels * h * w, seed);
            for pool in [Pool::Max, Pool::Average] {
                let mut out = vec![f32::NAN; x.len()];
                same_3x3(pool, &x, channels, size, &mut out);
                for (c, (plane, out)) in x.chunks(h * w).zip(out.chunks(h * w)).enumerate() {
                    for oy in 0..h {
                        for ox in 0..w {
                            let t = taps(plane, size, 1, 1, oy, ox);
                            let expected = match pool {
                                Pool::Max => t.iter().copied().fold(f32::NEG_INFINITY, f32::max),
                                Pool::Average => t.iter().sum::<f32>() / t.len() as f32,
                            };
                            let got = out[oy * w + ox];
                            assert_eq!(got, expected, "{pool:?} {size:?} c{c} ({oy}, {ox})");
                        }
                    }
                }
            }
            if h >= 3 && w >= 3 {
                let [ho, wo] = reduced_size(size);
                let mut out = vec![f32::NAN; channels * ho * wo];
                max_3x3_stride_2(&x, channels, size, &mut out);
                for (plane, out) in x.chunks(h * w).zip(out.chunks(ho * wo)) {
                    for oy in 0..ho {
                        for ox in 0..wo {
                            let t = taps(plane, size, 2, 0, oy, ox);
                            assert_eq!(t.len(), 9);
                            let max = t.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                            assert_eq!(out[oy * wo + ox], max, "{size:?} ({oy}, {ox})");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_global_average_is_each_channels_mean() {
        let x = [1.0, 2.0, 3.0, 4.0, -1.0, -1.0, -1.0, 3.0];
        let mut out = [0.0; 2];
        global_average(&x, 4, &mut out);
        assert_eq!(out, [2.5, 0.0]);
    }
}
