//! Matrix products with bf16 operands and f32 sums, on AVX512-BF16 (`vdpbf16ps`).
//!
//! The `gemm` crate has no bf16 kernels and burn's CPU backend none that sum in f32, so this
//! is written here: both operands are rounded to bf16 (to nearest, ties to even) while they
//! are packed into the layout the micro-kernel reads, and each `vdpbf16ps` adds, for 16
//! output columns at once, the products of two consecutive inner indices to f32 sums.
//!
//! Layout. The inner dimension is taken in pairs `(2p, 2p + 1)`, a pair of bf16 values
//! being one `u32` (the even index in the low half, as the instruction reads them).
//! - The left operand is packed row by row, in blocks of [`MR`] rows: row `r` of block `i` at
//!   `(i·MR + r)·pairs`, its pairs in order. Each is broadcast to a whole vector in turn.
//! - The right operand is packed in panels of [`NR`] columns: panel `j`, pair `p` at
//!   `(j·pairs + p)·NR`, one `u32` per column: the vectors the micro-kernel loads.
//!
//! Missing rows, columns and the odd last inner index are packed as zeros, so the
//! micro-kernel always computes whole [`MR`] × [`NR`] tiles; a partial tile is summed into a
//! copy and written back in part.

use std::cell::RefCell;
use std::ops::Range;

use super::MatrixRef;

/// Rows of the left operand in one micro-kernel tile.
const MR: usize = 8;
/// 16-column vectors in one tile row.
const NV: usize = 2;
/// Columns of the right operand in one tile.
pub(super) const NR: usize = 16 * NV;
/// Inner pairs per block: a panel of the right operand (`KC · NR · 4` bytes, 32 KiB) stays
/// in the level-1 cache while every row block of the left operand passes over it.
const KC: usize = 256;

/// True when this CPU runs [`matmul`]: x86-64 with AVX-512 F, BW and BF16.
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `dst = lhs × rhs` (or `dst += lhs × rhs` with `accumulate`), `dst` row-major, with both
/// operands rounded to bf16 and the sums in f32.
///
/// # Panics
/// On a CPU without AVX512-BF16 ([`available`]); callers refuse bf16 before any work.
pub fn matmul(dst: &mut [f32], lhs: MatrixRef, rhs: MatrixRef, accumulate: bool) {
    assert!(
        available(),
        "bf16 products need a CPU with AVX512-BF16 (checked when --precision bf16 is set)"
    );
    let (m, k, n) = (lhs.rows(), lhs.cols(), rhs.cols());
    assert_eq!(rhs.rows(), k, "inner dimensions");
    assert_eq!(dst.len(), m * n, "product of {m}×{n} into {}", dst.len());
    if m == 0 || n == 0 || k == 0 {
        if !accumulate {
            dst.fill(0.0);
        }
        return;
    }
    #[cfg(target_arch = "x86_64")]
    PACKED.with_borrow_mut(|packed| {
        let lhs_len = m.div_ceil(MR) * MR * k.div_ceil(2);
        packed.lhs.resize(lhs_len, 0);
        // Safety: `available` checked the features this function is compiled for.
        unsafe { x86::pack_lhs(lhs, &mut packed.lhs[..lhs_len]) };
        let (lhs, mode) = (&packed.lhs[..lhs_len], Mode::of(accumulate));
        multiply_packed(dst, [m, n, k], lhs, rhs, &mut packed.rhs, mode);
    });
}

/// Whether a product replaces its destination's values or adds to them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `dst = lhs × rhs`: the first block of inner pairs stores its sums (the destination
    /// is neither cleared first nor read).
    Overwrite,
    /// `dst += lhs × rhs`.
    Accumulate,
}

impl Mode {
    fn of(accumulate: bool) -> Self {
        match accumulate {
            true => Mode::Accumulate,
            false => Mode::Overwrite,
        }
    }
}

/// `dst = lhs × rhs`, `dst` row-major, `lhs` packed by [`PackedLhs::new`], where `rhs` is
/// `lhs.cols()` × `n` and `row(r, out)` writes its row `r` into `out` (`n` values): the
/// right operand is rounded and packed two rows at a time, so it never exists whole in f32
/// (a convolution's patches, gathered row by row).
pub fn matmul_rows(dst: &mut [f32], lhs: &PackedLhs, n: usize, row: impl FnMut(usize, &mut [f32])) {
    let (m, k) = (lhs.rows, lhs.cols);
    assert_eq!(dst.len(), m * n, "product of {m}×{n} into {}", dst.len());
    if m == 0 || n == 0 || k == 0 {
        dst.fill(0.0);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    PACKED.with_borrow_mut(|packed| {
        let Packed { rhs, staging, .. } = packed;
        let pairs = k.div_ceil(2);
        rhs.resize(n.div_ceil(NR) * NR * pairs, 0);
        // Safety: `PackedLhs::new` checked `available`, the features these functions are
        // compiled for.
        unsafe {
            x86::pack_rhs_rows([k, n], row, staging, rhs);
            x86::multiply(dst, [m, n, pairs], &lhs.data, rhs, Mode::Overwrite);
        }
    });
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}

/// `dst += lhs × rhs`, `dst` row-major, where `lhs` is `m` × `k` and `row(r, out)` writes
/// its row `r` into `out` (`k` values): the left operand is rounded and packed a row at a
/// time, so it never exists whole in f32 (a convolution's patches, for its weights'
/// gradient).
///
/// # Panics
/// On a CPU without AVX512-BF16 ([`available`]).
pub fn matmul_add_rows(
    dst: &mut [f32],
    [m, k]: [usize; 2],
    row: impl FnMut(usize, &mut [f32]),
    rhs: MatrixRef,
) {
    assert!(available(), "bf16 products need a CPU with AVX512-BF16");
    let n = rhs.cols();
    assert_eq!(rhs.rows(), k, "inner dimensions");
    assert_eq!(dst.len(), m * n, "product of {m}×{n} into {}", dst.len());
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    PACKED.with_borrow_mut(|packed| {
        let Packed {
            lhs: packed_lhs,
            rhs: packed_rhs,
            staging,
        } = packed;
        let pairs = k.div_ceil(2);
        packed_lhs.resize(m.div_ceil(MR) * MR * pairs, 0);
        // Safety: `available` checked the features these functions are compiled for.
        unsafe { x86::pack_lhs_rows([m, k], row, staging, packed_lhs) };
        multiply_packed(
            dst,
            [m, n, k],
            packed_lhs,
            rhs,
            packed_rhs,
            Mode::Accumulate,
        );
    });
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}

/// A left operand rounded to bf16 and packed once, for many products with it (a
/// convolution's weights, multiplied by every image's patches): see [`matmul_packed`].
#[derive(Debug, Clone)]
pub struct PackedLhs {
    rows: usize,
    cols: usize,
    data: Vec<u32>,
}

impl PackedLhs {
    /// `lhs`, rounded and packed.
    ///
    /// # Panics
    /// On a CPU without AVX512-BF16 ([`available`]).
    pub fn new(lhs: MatrixRef) -> Self {
        assert!(available(), "bf16 products need a CPU with AVX512-BF16");
        let (rows, cols) = (lhs.rows(), lhs.cols());
        let mut data = vec![0; rows.div_ceil(MR) * MR * cols.div_ceil(2)];
        // Safety: `available` checked the features this function is compiled for.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            x86::pack_lhs(lhs, &mut data)
        };
        PackedLhs { rows, cols, data }
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
}

/// `dst = lhs × rhs`, `dst` row-major, `lhs` packed by [`PackedLhs::new`]: [`matmul`]
/// without rounding and packing the same left operand again.
pub fn matmul_packed(dst: &mut [f32], lhs: &PackedLhs, rhs: MatrixRef) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols());
    assert_eq!(rhs.rows(), k, "inner dimensions");
    assert_eq!(dst.len(), m * n, "product of {m}×{n} into {}", dst.len());
    if m == 0 || n == 0 || k == 0 {
        dst.fill(0.0);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    PACKED.with_borrow_mut(|packed| {
        multiply_packed(
            dst,
            [m, n, k],
            &lhs.data,
            rhs,
            &mut packed.rhs,
            Mode::Overwrite,
        );
    });
}

/// [`matmul_packed`] a band of `band_rows` rows (a multiple of
/// [`super::BAND_ROWS_MULTIPLE`]) at a time, each band made in `buffer` and passed to
/// `band(rows, values)` in order: see [`super::matmul_lhs_bands`]. The right operand is
/// packed once for all bands.
pub fn matmul_packed_bands(
    lhs: &PackedLhs,
    rhs: MatrixRef,
    band_rows: usize,
    buffer: &mut Vec<f32>,
    mut band: impl FnMut(Range<usize>, &[f32]),
) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols());
    assert_eq!(rhs.rows(), k, "inner dimensions");
    assert!(
        band_rows > 0 && band_rows.is_multiple_of(super::BAND_ROWS_MULTIPLE),
        "bands of {band_rows} rows"
    );
    let pairs = k.div_ceil(2);
    let mut bands = |multiply_band: &mut dyn FnMut(Range<usize>, &mut [f32])| {
        for first in (0..m).step_by(band_rows) {
            let rows = first..(first + band_rows).min(m);
            if buffer.len() < rows.len() * n {
                buffer.resize(rows.len() * n, 0.0);
            }
            let values = &mut buffer[..rows.len() * n];
            multiply_band(rows.clone(), values);
            band(rows, values);
        }
    };
    if k == 0 || n == 0 {
        bands(&mut |_, values| values.fill(0.0));
        return;
    }
    #[cfg(target_arch = "x86_64")]
    PACKED.with_borrow_mut(|packed| {
        let rhs_len = n.div_ceil(NR) * NR * pairs;
        packed.rhs.resize(rhs_len, 0);
        let packed_rhs = &mut packed.rhs[..rhs_len];
        // Safety: `PackedLhs::new` checked `available`, the features these functions are
        // compiled for. A band starts at a multiple of `MR` rows, so its packed rows are
        // the blocks from `first · pairs` on.
        unsafe {
            x86::pack_rhs(rhs, packed_rhs);
            bands(&mut |rows, values| {
                let lhs = &lhs.data[rows.start * pairs..];
                x86::multiply(
                    values,
                    [rows.len(), n, pairs],
                    lhs,
                    packed_rhs,
                    Mode::Overwrite,
                )
            });
        }
    });
}

/// `dst = lhs × rhs` or `dst += lhs × rhs` (`mode`) from the packed left operand, packing
/// `rhs` into `buffer`.
#[cfg(target_arch = "x86_64")]
fn multiply_packed(
    dst: &mut [f32],
    [m, n, k]: [usize; 3],
    lhs: &[u32],
    rhs: MatrixRef,
    buffer: &mut Vec<u32>,
    mode: Mode,
) {
    let pairs = k.div_ceil(2);
    let rhs_len = n.div_ceil(NR) * NR * pairs;
    buffer.resize(rhs_len, 0);
    // Safety: the callers checked `available`, the features these functions are compiled
    // for.
    unsafe {
        x86::pack_rhs(rhs, &mut buffer[..rhs_len]);
        x86::multiply(dst, [m, n, pairs], lhs, &buffer[..rhs_len], mode);
    }
}

/// One thread's packed operands, kept from call to call (they only grow).
#[derive(Default)]
struct Packed {
    lhs: Vec<u32>,
    rhs: Vec<u32>,
    /// Rows of an operand on their way into `lhs` or `rhs`, gathered by the caller
    /// ([`matmul_rows`], [`matmul_add_rows`]).
    staging: Vec<f32>,
}

thread_local! {
    static PACKED: RefCell<Packed> = RefCell::default();
}

/// `x` rounded to bf16, to nearest with ties to even, in the high half of the result (the
/// low half zero). As `vcvtne2ps2bf16` does: subnormal inputs become zero of the same sign,
/// NaN stays a (quiet) NaN.
pub fn round_to_bf16(x: f32) -> u32 {
    let bits = x.to_bits();
    if x.is_nan() {
        return (bits | 0x0040_0000) & 0xFFFF_0000;
    }
    if bits & 0x7F80_0000 == 0 {
        return bits & 0x8000_0000;
    }
    bits.wrapping_add(0x7FFF + ((bits >> 16) & 1)) & 0xFFFF_0000
}

/// The bf16 pair `(lo, hi)` as the instruction reads it: `lo` in the low half.
fn pair(lo: f32, hi: f32) -> u32 {
    (round_to_bf16(lo) >> 16) | round_to_bf16(hi)
}

/// Inner index `i` of a left-operand row (or right-operand column), zero past `len`.
#[inline(always)]
fn or_zero(len: usize, i: usize, value: impl FnOnce() -> f32) -> f32 {
    if i < len { value() } else { 0.0 }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    #[cfg(target_os = "linux")]
    use super::super::amx;
    use super::super::amx::{TILE_PAIRS, TILE_ROWS};
    use super::{KC, MR, MatrixRef, Mode, NR, NV, or_zero, pair};

    /// Packs `lhs` (`m` × `k`) by rows in blocks of [`MR`] (see the module's comment).
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    pub(super) unsafe fn pack_lhs(lhs: MatrixRef, packed: &mut [u32]) {
        // Safety: the caller runs on a CPU with these features; the loads and stores
        // address slices of the lengths they take.
        unsafe {
            let (m, k) = (lhs.rows, lhs.cols);
            let pairs = k.div_ceil(2);
            for (r, out) in packed.chunks_exact_mut(pairs).enumerate() {
                if r >= m {
                    out.fill(0);
                } else if lhs.col_stride == 1 {
                    convert_run(&lhs.data[r * lhs.row_stride..][..k], out);
                } else {
                    for (p, out) in out.iter_mut().enumerate() {
                        let lo = or_zero(k, 2 * p, || lhs.at(r, 2 * p));
                        let hi = or_zero(k, 2 * p + 1, || lhs.at(r, 2 * p + 1));
                        *out = pair(lo, hi);
                    }
                }
            }
        }
    }

    /// Packs the `m` × `k` left operand whose row `r` `row(r, out)` writes into `out` (`k`
    /// values), a row at a time through `staging` (see the module's comment).
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    pub(super) unsafe fn pack_lhs_rows(
        [m, k]: [usize; 2],
        mut row: impl FnMut(usize, &mut [f32]),
        staging: &mut Vec<f32>,
        packed: &mut [u32],
    ) {
        // Safety: the caller runs on a CPU with these features.
        unsafe {
            staging.resize(k, 0.0);
            for (r, out) in packed.chunks_exact_mut(k.div_ceil(2)).enumerate() {
                if r < m {
                    row(r, staging);
                    convert_run(staging, out);
                } else {
                    out.fill(0);
                }
            }
        }
    }

    /// Packs `rhs` (`k` × `n`) in panels of [`NR`] columns (see the module's comment).
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    pub(super) unsafe fn pack_rhs(rhs: MatrixRef, packed: &mut [u32]) {
        // Safety: the caller runs on a CPU with these features; the loads and stores
        // address slices of the lengths they take.
        unsafe {
            let (k, n) = (rhs.rows, rhs.cols);
            let pairs = k.div_ceil(2);
            clear_padding(n, pairs, packed);
            if rhs.col_stride == 1 {
                for p in 0..pairs {
                    let even = &rhs.data[2 * p * rhs.row_stride..][..n];
                    let odd = match 2 * p + 1 < k {
                        true => &rhs.data[(2 * p + 1) * rhs.row_stride..][..n],
                        false => &[][..],
                    };
                    pack_row_pair(even, odd, p, pairs, packed);
                }
            } else {
                // Each column's pairs in order (contiguous in a transposed view), then spread
                // over the panel.
                let mut column = vec![0u32; pairs];
                for j in 0..n {
                    if rhs.row_stride == 1 {
                        convert_run(&rhs.data[j * rhs.col_stride..][..k], &mut column);
                    } else {
                        for (p, out) in column.iter_mut().enumerate() {
                            let lo = or_zero(k, 2 * p, || rhs.at(2 * p, j));
                            let hi = or_zero(k, 2 * p + 1, || rhs.at(2 * p + 1, j));
                            *out = pair(lo, hi);
                        }
                    }
                    let panel = &mut packed[j / NR * pairs * NR..][..pairs * NR];
                    for (p, &value) in column.iter().enumerate() {
                        panel[p * NR + j % NR] = value;
                    }
                }
            }
        }
    }

    /// Packs the `k` × `n` right operand whose row `r` `row(r, out)` writes into `out` (`n`
    /// values), two rows at a time through `staging`: the operand never exists whole.
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    pub(super) unsafe fn pack_rhs_rows(
        [k, n]: [usize; 2],
        mut row: impl FnMut(usize, &mut [f32]),
        staging: &mut Vec<f32>,
        packed: &mut [u32],
    ) {
        // Safety: the caller runs on a CPU with these features.
        unsafe {
            let pairs = k.div_ceil(2);
            clear_padding(n, pairs, packed);
            staging.resize(2 * n, 0.0);
            let (even, odd) = staging.split_at_mut(n);
            for p in 0..pairs {
                row(2 * p, even);
                let odd = match 2 * p + 1 < k {
                    true => {
                        row(2 * p + 1, &mut odd[..]);
                        &odd[..]
                    }
                    false => &[][..],
                };
                pack_row_pair(even, odd, p, pairs, packed);
            }
        }
    }

    /// Clears the last panel's columns past `n`, the only ones packing does not write.
    fn clear_padding(n: usize, pairs: usize, packed: &mut [u32]) {
        if !n.is_multiple_of(NR) {
            let last = &mut packed[n / NR * pairs * NR..][..pairs * NR];
            last.chunks_exact_mut(NR).for_each(|p| p[n % NR..].fill(0));
        }
    }

    /// Packs rows `2p` (`even`) and `2p + 1` (`odd`, empty past the last row) of a right
    /// operand with `pairs` inner pairs: 16 columns of each rounded into one vector (the even
    /// row in its low half), then interleaved into column pairs.
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    #[inline]
    unsafe fn pack_row_pair(even: &[f32], odd: &[f32], p: usize, pairs: usize, packed: &mut [u32]) {
        // Safety: the caller runs on a CPU with these features; the loads and stores
        // address slices of the lengths they take.
        unsafe {
            let interleave = _mm512_set_epi16(
                31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5,
                20, 4, 19, 3, 18, 2, 17, 1, 16, 0,
            );
            let n = even.len();
            let whole = n / 16 * 16;
            for j in (0..whole).step_by(16) {
                let lo = _mm512_loadu_ps(even[j..][..16].as_ptr());
                let hi = match odd.is_empty() {
                    true => _mm512_setzero_ps(),
                    false => _mm512_loadu_ps(odd[j..][..16].as_ptr()),
                };
                let rounded: __m512i = std::mem::transmute(_mm512_cvtne2ps_pbh(hi, lo));
                let pairs_of_16 = _mm512_permutexvar_epi16(interleave, rounded);
                let at = (j / NR * pairs + p) * NR + j % NR;
                _mm512_storeu_si512(packed[at..][..16].as_mut_ptr().cast(), pairs_of_16);
            }
            for j in whole..n {
                let hi = odd.get(j).copied().unwrap_or(0.0);
                packed[(j / NR * pairs + p) * NR + j % NR] = pair(even[j], hi);
            }
        }
    }

    /// `out[p] = pair(values[2p], values[2p + 1])`, the odd last one paired with zero.
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    unsafe fn convert_run(values: &[f32], out: &mut [u32]) {
        // Safety: the caller runs on a CPU with these features; the loads and stores
        // address slices of the lengths they take.
        unsafe {
            debug_assert_eq!(out.len(), values.len().div_ceil(2));
            let whole = values.len() / 32;
            for b in 0..whole {
                let lo = _mm512_loadu_ps(values[32 * b..][..16].as_ptr());
                let hi = _mm512_loadu_ps(values[32 * b + 16..][..16].as_ptr());
                // Low half from the second operand: 32 values in order, pairs in order.
                let rounded: __m512i = std::mem::transmute(_mm512_cvtne2ps_pbh(hi, lo));
                _mm512_storeu_si512(out[16 * b..][..16].as_mut_ptr().cast(), rounded);
            }
            for (p, out) in out.iter_mut().enumerate().skip(16 * whole) {
                let lo = values[2 * p];
                let hi = values.get(2 * p + 1).copied().unwrap_or(0.0);
                *out = pair(lo, hi);
            }
        }
    }

    /// `dst = lhs × rhs` or `dst += lhs × rhs` (`mode`) from the packed operands; `[m, n,
    /// pairs]` their sizes. Where AMX is in use it sums the blocks of whole tiles (16 rows,
    /// 16 pairs) and this function's micro-kernel adds the rest.
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    pub(super) unsafe fn multiply(
        dst: &mut [f32],
        [m, n, pairs]: [usize; 3],
        lhs: &[u32],
        rhs: &[u32],
        mode: Mode,
    ) {
        // Safety: the caller runs on a CPU with these features; the loads and stores
        // address slices of the lengths they take, and AMX runs where it is in use.
        unsafe {
            // Tiles only for a product with a whole tile in it.
            let tiles = (m >= TILE_ROWS && pairs >= TILE_PAIRS)
                .then(amx_tiles)
                .flatten();
            let amx_rows = tiles.as_ref().map_or(0, |_| m / TILE_ROWS * TILE_ROWS);
            for jb in 0..n.div_ceil(NR) {
                let panel = &rhs[jb * pairs * NR..][..pairs * NR];
                let cols = NR.min(n - jb * NR);
                for p0 in (0..pairs).step_by(KC) {
                    let kc = KC.min(pairs - p0);
                    // The first block of an overwriting product stores its sums.
                    let add = mode == Mode::Accumulate || p0 > 0;
                    let amx_pairs = kc / TILE_PAIRS * TILE_PAIRS;
                    #[cfg(target_os = "linux")]
                    if let Some(tiles) = tiles.as_ref().filter(|_| amx_pairs > 0) {
                        let b = &panel[p0 * NR..][..amx_pairs * NR];
                        let a = &lhs[p0..];
                        let block = [jb * NR, cols, amx_rows, amx_pairs];
                        amx_panel(tiles, dst, n, [a, b], pairs, block, add);
                    }
                    for ib in 0..m.div_ceil(MR) {
                        // The pairs AMX summed for these rows already.
                        let done = if ib * MR < amx_rows { amx_pairs } else { 0 };
                        let (kc, p0, add) = (kc - done, p0 + done, add || done > 0);
                        if kc == 0 {
                            continue;
                        }
                        let a = &lhs[(ib * MR * pairs + p0)..][..(MR - 1) * pairs + kc];
                        let b = &panel[p0 * NR..][..kc * NR];
                        let rows = MR.min(m - ib * MR);
                        let corner = ib * MR * n + jb * NR;
                        if rows == MR && cols == NR {
                            let c = &mut dst[corner..][..(MR - 1) * n + NR];
                            tile::<NV>(a, pairs, b, kc, c, n, add);
                        } else {
                            let mut part = [0.0f32; MR * NR];
                            for r in (0..rows).filter(|_| add) {
                                part[r * NR..][..cols]
                                    .copy_from_slice(&dst[corner + r * n..][..cols]);
                            }
                            // A last panel of at most 16 columns takes half the work.
                            match cols <= 16 {
                                true => tile::<1>(a, pairs, b, kc, &mut part, NR, add),
                                false => tile::<NV>(a, pairs, b, kc, &mut part, NR, add),
                            }
                            for r in 0..rows {
                                dst[corner + r * n..][..cols]
                                    .copy_from_slice(&part[r * NR..][..cols]);
                            }
                        }
                    }
                }
            }
            drop(tiles);
        }
    }

    /// This thread's AMX tiles, configured, where bf16 products use AMX.
    #[cfg(target_os = "linux")]
    fn amx_tiles() -> Option<amx::x86::Tiles> {
        // Safety: `in_use` is true only where AMX is available.
        amx::in_use().then(|| unsafe { amx::x86::Tiles::configure() })
    }

    /// No AMX off Linux.
    #[cfg(not(target_os = "linux"))]
    fn amx_tiles() -> Option<()> {
        None
    }

    /// `dst (+)= a × b` on AMX for rows `0..rows` (a multiple of 16) of the panel whose
    /// `cols` columns start at column `col0` of `dst` (`n` columns), over `pairs_done` inner
    /// pairs (a multiple of 16): `a` the packed left operand from the block's first pair on,
    /// rows `lda` pairs apart; `b` the panel from the same pair on.
    #[cfg(target_os = "linux")]
    fn amx_panel(
        tiles: &amx::x86::Tiles,
        dst: &mut [f32],
        n: usize,
        [a, b]: [&[u32]; 2],
        lda: usize,
        [col0, cols, rows, pairs_done]: [usize; 4],
        add: bool,
    ) {
        const BLOCK: usize = 2 * TILE_ROWS;
        let steps = pairs_done / TILE_PAIRS;
        assert!(b.len() >= pairs_done * NR && pairs_done.is_multiple_of(TILE_PAIRS));
        for r0 in (0..rows).step_by(BLOCK) {
            let row_tiles = (rows - r0).min(BLOCK) / TILE_ROWS;
            let block_rows = row_tiles * TILE_ROWS;
            let a = &a[r0 * lda..][..(block_rows - 1) * lda + pairs_done];
            let (a, b) = (a.as_ptr(), b.as_ptr());
            let sizes = |ldc| [lda, ldc, steps, row_tiles];
            let corner = r0 * n + col0;
            // Safety: `a`, `b` and the sums address the rows and columns `block` reads and
            // writes (sliced and asserted above); `tiles` are this thread's.
            unsafe {
                if cols == NR {
                    let c = &mut dst[corner..][..(block_rows - 1) * n + NR];
                    amx::x86::block(tiles, [a, b], c.as_mut_ptr(), sizes(n), add);
                } else {
                    let mut part = [0.0f32; BLOCK * NR];
                    for r in (0..block_rows).filter(|_| add) {
                        part[r * NR..][..cols].copy_from_slice(&dst[corner + r * n..][..cols]);
                    }
                    amx::x86::block(tiles, [a, b], part.as_mut_ptr(), sizes(NR), add);
                    for r in 0..block_rows {
                        dst[corner + r * n..][..cols].copy_from_slice(&part[r * NR..][..cols]);
                    }
                }
            }
        }
    }

    /// `c += a × b` (`c = a × b` unless `add`) for one [`MR`] × `16·V` tile over `kc` inner
    /// pairs (`V` = [`NV`], or 1 for a panel's first 16 columns alone): `a` the block's rows,
    /// `lda` pairs apart; `b` the panel's pairs, [`NR`] apart; `c` rows `ldc` apart.
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    #[inline]
    unsafe fn tile<const V: usize>(
        a: &[u32],
        lda: usize,
        b: &[u32],
        kc: usize,
        c: &mut [f32],
        ldc: usize,
        add: bool,
    ) {
        assert!(V <= NV && a.len() > (MR - 1) * lda + kc - 1 && b.len() >= kc * NR);
        assert!(c.len() >= (MR - 1) * ldc + 16 * V);
        let (a, b) = (a.as_ptr(), b.as_ptr());
        let mut acc = [[_mm512_setzero_ps(); V]; MR];
        // Safety: the reads stay within `a` and `b` (asserted above); the CPU has the
        // features this function is compiled for (the caller's promise).
        unsafe {
            for p in 0..kc {
                let mut bv = [_mm512_setzero_si512(); V];
                for (v, bv) in bv.iter_mut().enumerate() {
                    *bv = _mm512_loadu_si512(b.add(p * NR + 16 * v).cast());
                }
                for (r, acc) in acc.iter_mut().enumerate() {
                    let av = _mm512_set1_epi32(*a.add(r * lda + p) as i32);
                    for (acc, bv) in acc.iter_mut().zip(&bv) {
                        *acc = _mm512_dpbf16_ps(
                            *acc,
                            std::mem::transmute::<__m512i, __m512bh>(av),
                            std::mem::transmute::<__m512i, __m512bh>(*bv),
                        );
                    }
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            for (v, acc) in acc.iter().enumerate() {
                let out = &mut c[r * ldc + 16 * v..][..16];
                // Safety: 16 values of `out`, as sliced.
                unsafe {
                    let sum = match add {
                        true => _mm512_add_ps(_mm512_loadu_ps(out.as_ptr()), *acc),
                        false => *acc,
                    };
                    _mm512_storeu_ps(out.as_mut_ptr(), sum);
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

    fn bf16_value(x: f32) -> f64 {
        f64::from(f32::from_bits(round_to_bf16(x)))
    }

    #[test]
    fn rounding_to_bf16_is_to_nearest_even() {
        assert_eq!(round_to_bf16(1.0), 0x3F80_0000);
        // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even one, 1.
        assert_eq!(round_to_bf16(1.0 + 2f32.powi(-8)), 0x3F80_0000);
        // 1 + 3·2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6: even is 1 + 2^-6.
        assert_eq!(
            f32::from_bits(round_to_bf16(1.0 + 3.0 * 2f32.powi(-8))),
            1.0 + 2f32.powi(-6)
        );
        assert_eq!(
            f32::from_bits(round_to_bf16(-1.0 - 1.5 * 2f32.powi(-8))),
            -1.0 - 2f32.powi(-7)
        );
        assert!(f32::from_bits(round_to_bf16(f32::NAN)).is_nan());
        assert_eq!(round_to_bf16(f32::INFINITY), f32::INFINITY.to_bits());
        assert_eq!(round_to_bf16(-1e-40), 0x8000_0000);
    }

    /// Every shape of left and right operand the kernels pass: row-major, transposed views,
    /// sizes around the tile and block edges, odd inner sizes.
    #[test]
    fn products_are_the_bf16_rounded_operands_summed_in_f32() {
        if !available() {
            // Nothing to multiply here: the kernel must refuse rather than run instructions
            // the CPU lacks.
            let (a, b) = ([1.0f32; 4], [1.0f32; 4]);
            let refused = std::panic::catch_unwind(|| {
                let mut dst = [0.0f32; 4];
                let (lhs, rhs) = (
                    MatrixRef::row_major(&a, 2, 2),
                    MatrixRef::row_major(&b, 2, 2),
                );
                matmul(&mut dst, lhs, rhs, false);
            });
            assert!(refused.is_err(), "bf16 products ran without AVX512-BF16");
            eprintln!(
                "SKIPPED bf16 products: this CPU has no AVX512-BF16 (its refusal was checked)"
            );
            return;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let shapes = [
            (1, 1, 1),
            (8, 2, 32),
            (9, 3, 33),
            (64, 800, 392),
            (7, 513, 17),
            (33, 1, 65),
            (17, 600, 15),
        ];
        for (m, k, n) in shapes {
            for (lhs_t, rhs_t, accumulate) in [
                (false, false, false),
                (true, false, true),
                (false, true, false),
                (true, true, true),
            ] {
                let a: Vec<f32> = (0..m * k).map(|_| rng.random_range(-1.0..1.0)).collect();
                let b: Vec<f32> = (0..k * n).map(|_| rng.random_range(-1.0..1.0)).collect();
                let lhs = match lhs_t {
                    false => MatrixRef::row_major(&a, m, k),
                    true => MatrixRef::row_major(&a, k, m).transposed(),
                };
                let rhs = match rhs_t {
                    false => MatrixRef::row_major(&b, k, n),
                    true => MatrixRef::row_major(&b, n, k).transposed(),
                };
                let start: Vec<f32> = (0..m * n).map(|_| rng.random_range(-1.0..1.0)).collect();
                let mut dst = start.clone();
                matmul(&mut dst, lhs, rhs, accumulate);
                if !accumulate {
                    let mut packed = vec![f32::NAN; m * n];
                    matmul_packed(&mut packed, &PackedLhs::new(lhs), rhs);
                    assert_eq!(packed, dst, "{m}×{k}×{n}: packed once, the same product");
                    let mut lhs_rows = start.clone();
                    matmul_add_rows(
                        &mut lhs_rows,
                        [m, k],
                        |r, out| {
                            out.iter_mut()
                                .enumerate()
                                .for_each(|(j, v)| *v = lhs.at(r, j))
                        },
                        rhs,
                    );
                    let mut plain = start.clone();
                    matmul(&mut plain, lhs, rhs, true);
                    assert_eq!(lhs_rows, plain, "{m}×{k}×{n}: the left operand row by row");
                    let mut by_rows = vec![f32::NAN; m * n];
                    matmul_rows(&mut by_rows, &PackedLhs::new(lhs), n, |r, out| {
                        assert_eq!(out.len(), n, "a row's length");
                        out.iter_mut()
                            .enumerate()
                            .for_each(|(j, v)| *v = rhs.at(r, j));
                    });
                    assert_eq!(by_rows, dst, "{m}×{k}×{n}: the right operand row by row");
                    let (mut banded, mut buffer, mut next) = (vec![f32::NAN; m * n], vec![], 0);
                    matmul_packed_bands(
                        &PackedLhs::new(lhs),
                        rhs,
                        16,
                        &mut buffer,
                        |rows, band| {
                            assert_eq!(rows.start, next, "bands in order");
                            next = rows.end;
                            banded[rows.start * n..rows.end * n].copy_from_slice(band);
                        },
                    );
                    assert_eq!(next, m, "{m}×{k}×{n}: every row in a band");
                    assert_eq!(banded, dst, "{m}×{k}×{n}: a band of rows at a time");
                }
                for i in 0..m {
                    for j in 0..n {
                        let mut want = if accumulate {
                            f64::from(start[i * n + j])
                        } else {
                            0.0
                        };
                        let mut scale = want.abs();
                        for l in 0..k {
                            let product = bf16_value(lhs.at(i, l)) * bf16_value(rhs.at(l, j));
                            want += product;
                            scale += product.abs();
                        }
                        let got = f64::from(dst[i * n + j]);
                        assert!(
                            (got - want).abs() <= 1e-5 * scale.max(1e-3),
                            "{m}×{k}×{n} (transposed {lhs_t}, {rhs_t}) at ({i}, {j}): {got} vs {want}"
                        );
                    }
                }
            }
        }
    }
}
