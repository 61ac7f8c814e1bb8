//! Transposes of row-major matrices: the weights the convolutions read transposed, and the
//! weight gradients they sum transposed (the forms the matrix products run fastest on).

use super::buffer;
use super::simd::{self, SimdLevel};

/// Output rows per band, the unit of work shared among the threads.
const BAND: usize = 32;

/// Values from which a transpose is shared among the threads: a transpose of millions of
/// values on one thread left the other idle for milliseconds.
const PARALLEL: usize = 1 << 14;

/// The transpose of a row-major `rows` × `cols` matrix, row-major.
///
/// By bands of [`BAND`] output rows (as many input columns), so that the rows written stay
/// in cache while every input row passes, and within a band by blocks of 8 × 8 values moved
/// through vector registers where the CPU has AVX: each written row is then a run of 8
/// values. Written one value at a time, the scattered stores took 4 % of a 64×64 bf16
/// training iteration, most of it waiting on the stores (docs/performance.md).
pub fn transpose(matrix: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    transpose_at(simd::level(), matrix, rows, cols)
}

/// [`transpose`] with the vector instructions of `level` at most.
fn transpose_at(level: SimdLevel, matrix: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    assert_eq!(matrix.len(), rows * cols, "a {rows}×{cols} matrix");
    let band_len = BAND * rows.max(1);
    let work = |band: usize, out: &mut [f32]| {
        transpose_band(level, matrix, [rows, cols], band * BAND, out)
    };
    if matrix.len() >= PARALLEL {
        return buffer::filled_by_chunks(matrix.len(), band_len, work);
    }
    let mut out = vec![0.0; matrix.len()];
    for (band, out) in out.chunks_mut(band_len).enumerate() {
        work(band, out);
    }
    out
}

/// Rows `first..` of the transpose, as many as `out` holds: columns `first..` of `matrix`.
fn transpose_band(
    level: SimdLevel,
    matrix: &[f32],
    [rows, cols]: [usize; 2],
    first: usize,
    out: &mut [f32],
) {
    let width = out.len() / rows.max(1);
    // Rows moved by whole 8 × 8 blocks; the rest one value at a time below.
    let done = match level >= SimdLevel::Avx2Fma {
        true => block_rows(matrix, [rows, cols], first, width, out),
        false => 0,
    };
    for r in done..rows {
        let row = &matrix[r * cols + first..][..width];
        for (c, &value) in row.iter().enumerate() {
            out[c * rows + r] = value;
        }
    }
}

/// The first `8 · ⌊rows / 8⌋` rows of [`transpose_band`]'s input moved into `out`, by 8 × 8
/// blocks through AVX registers (and the columns right of the last whole block one value
/// at a time); returns how many rows that is. Only where the CPU has AVX.
#[cfg(target_arch = "x86_64")]
fn block_rows(
    matrix: &[f32],
    [rows, cols]: [usize; 2],
    first: usize,
    width: usize,
    out: &mut [f32],
) -> usize {
    let (blocks_down, blocks_across) = (rows / 8, width / 8);
    for rb in 0..blocks_down {
        for cb in 0..blocks_across {
            let (r, c) = (8 * rb, 8 * cb);
            let src = &matrix[r * cols + first + c..][..7 * cols + 8];
            let dst = &mut out[c * rows + r..][..7 * rows + 8];
            // Safety: callers pass a level (never above the CPU's) that has AVX; `src` and
            // `dst` hold the 8 rows of 8 values, `cols` and `rows` apart, that it moves.
            unsafe { x86::transpose_8x8(src, cols, dst, rows) };
        }
    }
    for r in 0..8 * blocks_down {
        for c in 8 * blocks_across..width {
            out[c * rows + r] = matrix[r * cols + first + c];
        }
    }
    8 * blocks_down
}

/// No AVX here: every row is moved one value at a time.
#[cfg(not(target_arch = "x86_64"))]
fn block_rows(_: &[f32], _: [usize; 2], _: usize, _: usize, _: &mut [f32]) -> usize {
    0
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// `dst[c · ldd + r] = src[r · lds + c]` for `r`, `c` in `0..8`.
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn transpose_8x8(src: &[f32], lds: usize, dst: &mut [f32], ldd: usize) {
        assert!(src.len() > 7 * lds + 7 && dst.len() > 7 * ldd + 7);
        // Safety: the loads and stores address the 8 rows of 8 values asserted above; the
        // caller promises AVX.
        unsafe {
            let row = |r: usize| _mm256_loadu_ps(src.as_ptr().add(r * lds));
            let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
            let (r4, r5, r6, r7) = (row(4), row(5), row(6), row(7));
            // Pairs of rows interleaved: (r0[0], r1[0], r0[1], r1[1]) in each 128-bit lane.
            let (t0, t1) = (_mm256_unpacklo_ps(r0, r1), _mm256_unpackhi_ps(r0, r1));
            let (t2, t3) = (_mm256_unpacklo_ps(r2, r3), _mm256_unpackhi_ps(r2, r3));
            let (t4, t5) = (_mm256_unpacklo_ps(r4, r5), _mm256_unpackhi_ps(r4, r5));
            let (t6, t7) = (_mm256_unpacklo_ps(r6, r7), _mm256_unpackhi_ps(r6, r7));
            // Columns c and c + 4 of four rows: (r0[c], r1[c], r2[c], r3[c] | … [c + 4]).
            let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
            let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
            let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
            let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
            let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
            let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
            let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
            let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
            let out = dst.as_mut_ptr();
            let columns = [
                _mm256_permute2f128_ps::<0x20>(s0, s4),
                _mm256_permute2f128_ps::<0x20>(s1, s5),
                _mm256_permute2f128_ps::<0x20>(s2, s6),
                _mm256_permute2f128_ps::<0x20>(s3, s7),
                _mm256_permute2f128_ps::<0x31>(s0, s4),
                _mm256_permute2f128_ps::<0x31>(s1, s5),
                _mm256_permute2f128_ps::<0x31>(s2, s6),
                _mm256_permute2f128_ps::<0x31>(s3, s7),
            ];
            for (c, column) in columns.into_iter().enumerate() {
                _mm256_storeu_ps(out.add(c * ldd), column);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every element moves to its place: sizes below, at and around the 8 × 8 blocks and the
    /// bands (bands of 13 columns: a whole block and a rest), empty ones, small ones on one thread and large ones in bands on all, at every SIMD level
    /// the CPU has.
    #[test]
    fn every_element_moves_to_its_place() {
        let shapes = [
            (1, 1),
            (3, 70),
            (8, 8),
            (65, 33),
            (64, 32),
            (300, 70),
            (129, 257),
        ];
        for level in [SimdLevel::Baseline, SimdLevel::Avx2Fma, SimdLevel::Avx512] {
            if level > simd::detected() {
                eprintln!("SKIPPED transposes at {level}: this CPU lacks it");
                continue;
            }
            for (rows, cols) in shapes {
                let m: Vec<f32> = (0..rows * cols).map(|i| i as f32).collect();
                let t = transpose_at(level, &m, rows, cols);
                for r in 0..rows {
                    for c in 0..cols {
                        let (got, want) = (t[c * rows + r], m[r * cols + c]);
                        assert_eq!(got, want, "{level}: {rows}×{cols} at ({r}, {c})");
                    }
                }
            }
        }
    }
}
