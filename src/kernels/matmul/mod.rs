//! The matrix products of dcgan's convolution kernels, single-threaded (the kernels share
//! their chunks of images among threads themselves): in f32 by the `gemm` crate (the one
//! burn's CPU backend uses; it picks AVX-512, AVX2 + FMA or SSE kernels at run time), or
//! with bf16 operands and f32 sums by [`bf16`] where the CPU has AVX512-BF16 (the blocks of
//! whole tiles on [`amx`] where it has AMX too), as [`Precision`] says (the process's choice
//! is kept in `kernels::precision`).

pub mod amx;
pub mod bf16;

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// Number format of the convolutions' matrix products.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    /// f32 operands and sums.
    #[default]
    F32,
    /// bf16 operands (rounded to nearest even), f32 sums: AVX512-BF16.
    Bf16,
}

impl Precision {
    /// Its name on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        }
    }
}

/// A read-only matrix: a slice with its row and column strides.
#[derive(Clone, Copy, Debug)]
pub struct MatrixRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> MatrixRef<'a> {
    /// The first `rows` × `cols` values of `data`, row after row.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert!(
            data.len() >= rows * cols,
            "matrix of {rows}×{cols} from {}",
            data.len()
        );
        MatrixRef {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// Columns `first..first + count` of this matrix, which must be row-major: the same
    /// rows, from further along the slice.
    pub fn columns(self, first: usize, count: usize) -> Self {
        assert_eq!(self.col_stride, 1, "columns of a row-major matrix");
        assert!(
            first + count <= self.cols,
            "columns {first}..{} of {}",
            first + count,
            self.cols
        );
        MatrixRef {
            data: &self.data[first..],
            cols: count,
            ..self
        }
    }

    /// The same values read as the transposed matrix.
    pub fn transposed(self) -> Self {
        MatrixRef {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The value at row `r`, column `c`.
    #[inline(always)]
    pub fn at(&self, r: usize, c: usize) -> f32 {
        self.data[r * self.row_stride + c * self.col_stride]
    }
}

/// A left operand ready for many products in one precision (see [`bf16::PackedLhs`]).
#[derive(Debug, Clone, Copy)]
pub enum Lhs<'a> {
    /// f32 values, read in place.
    F32(MatrixRef<'a>),
    /// Rounded to bf16 and packed once.
    Bf16(&'a bf16::PackedLhs),
}

impl Lhs<'_> {
    /// Rows and columns.
    pub fn shape(&self) -> [usize; 2] {
        match self {
            Lhs::F32(lhs) => [lhs.rows(), lhs.cols()],
            Lhs::Bf16(lhs) => [lhs.rows(), lhs.cols()],
        }
    }
}

/// `dst = lhs × rhs`, `dst` row-major, in the precision `lhs` was made for.
pub fn matmul_lhs(dst: &mut [f32], lhs: Lhs, rhs: MatrixRef) {
    match lhs {
        Lhs::F32(lhs) => product(dst, lhs, rhs, false, Precision::F32),
        Lhs::Bf16(lhs) => bf16::matmul_packed(dst, lhs, rhs),
    }
}

/// Bands of a product ([`matmul_lhs_bands`]) and products made by parts of their rows are a
/// multiple of this many rows: bf16 products sum whole blocks of 16 rows on AMX tiles and
/// the rest with AVX-512, so a block must never straddle a band's edge for a band's rows
/// to be the whole product's, bit for bit.
pub const BAND_ROWS_MULTIPLE: usize = 16;

/// `lhs × rhs` a band of rows at a time, in the precision `lhs` was made for: calls
/// `band(rows, values)` with each band's rows (row-major, `rhs.cols()` values each) in
/// order, made in `buffer`. In bf16 the bands are `band_rows` rows (a multiple of
/// [`BAND_ROWS_MULTIPLE`]) and the product never exists whole: a consumer that sums each
/// band away (a transposed convolution's col2im) reads it from cache. In f32 the whole
/// product is one band: the `gemm` crate would pack `rhs` again for every band, which cost
/// more than the bands saved. Each value is the same, bit for bit, as [`matmul_lhs`]'s.
pub fn matmul_lhs_bands(
    lhs: Lhs,
    rhs: MatrixRef,
    band_rows: usize,
    buffer: &mut Vec<f32>,
    mut band: impl FnMut(Range<usize>, &[f32]),
) {
    assert!(
        band_rows > 0 && band_rows.is_multiple_of(BAND_ROWS_MULTIPLE),
        "bands of {band_rows} rows"
    );
    match lhs {
        Lhs::F32(lhs) => {
            let (m, n) = (lhs.rows(), rhs.cols());
            if buffer.len() < m * n {
                buffer.resize(m * n, 0.0);
            }
            let values = &mut buffer[..m * n];
            gemm_f32(values, lhs, rhs, false);
            band(0..m, values);
        }
        Lhs::Bf16(lhs) => bf16::matmul_packed_bands(lhs, rhs, band_rows, buffer, band),
    }
}

/// `dst = lhs × rhs`, `dst` row-major.
pub fn matmul(dst: &mut [f32], lhs: MatrixRef, rhs: MatrixRef, precision: Precision) {
    product(dst, lhs, rhs, false, precision);
}

/// `dst += lhs × rhs`, `dst` row-major.
pub fn matmul_add(dst: &mut [f32], lhs: MatrixRef, rhs: MatrixRef, precision: Precision) {
    product(dst, lhs, rhs, true, precision);
}

fn product(dst: &mut [f32], lhs: MatrixRef, rhs: MatrixRef, accumulate: bool, p: Precision) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert_eq!(rhs.rows, k, "inner dimensions");
    assert!(dst.len() >= m * n, "product of {m}×{n} into {}", dst.len());
    match p {
        Precision::F32 => gemm_f32(&mut dst[..m * n], lhs, rhs, accumulate),
        Precision::Bf16 => bf16::matmul(&mut dst[..m * n], lhs, rhs, accumulate),
    }
}

fn gemm_f32(dst: &mut [f32], lhs: MatrixRef, rhs: MatrixRef, accumulate: bool) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    // Every element either operand addresses lies within its slice: the strides and sizes
    // were checked against the slice lengths in `MatrixRef::row_major` (rows · cols values)
    // and kept by `columns` (which drops as many values from the front as from each row's
    // reach) and `transposed`, and `dst` in `product`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Bands of a product are its rows, bit for bit, in order, in f32 and in bf16 where the
    /// CPU has it.
    #[test]
    fn products_in_bands_are_the_whole_products_rows() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        // The seed's and the paper family's transposed convolutions, and edge sizes.
        for (m, k, n, band_rows) in [
            (1600, 128, 245, 128),
            (800, 64, 392, 80),
            (25, 32, 392, 16),
            (13, 7, 5, 16),
            (3200, 512, 256, 128),
            (100, 64, 64, 32),
        ] {
            let a: Vec<f32> = (0..m * k).map(|_| rng.random_range(-1.0..1.0)).collect();
            let b: Vec<f32> = (0..k * n).map(|_| rng.random_range(-1.0..1.0)).collect();
            let (lhs, rhs) = (
                MatrixRef::row_major(&a, m, k),
                MatrixRef::row_major(&b, k, n),
            );
            let packed = bf16::available().then(|| bf16::PackedLhs::new(lhs));
            if packed.is_none() {
                eprintln!("SKIPPED bf16 bands of {m}×{k}×{n}: this CPU has no AVX512-BF16");
            }
            let lhs_kinds = [Some(Lhs::F32(lhs)), packed.as_ref().map(Lhs::Bf16)];
            for lhs in lhs_kinds.into_iter().flatten() {
                let mut whole = vec![f32::NAN; m * n];
                matmul_lhs(&mut whole, lhs, rhs);
                let (mut banded, mut buffer, mut next) = (vec![f32::NAN; m * n], vec![], 0);
                matmul_lhs_bands(lhs, rhs, band_rows, &mut buffer, |rows, band| {
                    assert_eq!(rows.start, next, "bands in order");
                    let most = if let Lhs::F32(_) = lhs { m } else { band_rows };
                    assert!(rows.len() <= most, "a band of {} rows", rows.len());
                    next = rows.end;
                    banded[rows.start * n..rows.end * n].copy_from_slice(band);
                });
                assert_eq!(next, m, "{m}×{k}×{n}: every row in a band");
                let same = whole
                    .iter()
                    .zip(&banded)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(
                    same,
                    "{m}×{k}×{n} ({lhs:?}): bands differ from the whole product"
                );
            }
        }
    }
}
