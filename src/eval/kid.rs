//! The kernel Inception distance analogue (KID): the unbiased estimate of the squared
//! maximum mean discrepancy with the cubic polynomial kernel `k(x, y) = (x·y / d + 1)³`,
//! averaged over random subsets, as torch-fidelity computes it.

use nalgebra::DMatrix;
use rand::Rng;
use rand::seq::index::sample;
use rayon::prelude::*;

/// The mean and standard deviation of the per-subset estimates.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Kid {
    /// Mean over subsets.
    pub mean: f64,
    /// Population standard deviation over subsets (NumPy's `np.std`).
    pub std: f64,
}

/// KID of `real` and `fake` (rows are feature vectors) over `subsets` random subsets of
/// `subset_size` rows of each, drawn without replacement; the size shrinks to the smaller
/// set when needed. torch-fidelity's defaults are 100 subsets of 1000.
pub fn kid(
    real: &DMatrix<f64>,
    fake: &DMatrix<f64>,
    subsets: usize,
    subset_size: usize,
    rng: &mut impl Rng,
) -> Kid {
    let m = subset_size.min(real.nrows()).min(fake.nrows());
    assert!(m >= 2, "KID needs at least two samples per set");
    // The draws come first, in order, so the result does not depend on thread scheduling.
    let draws: Vec<(Vec<usize>, Vec<usize>)> = (0..subsets)
        .map(|_| {
            let r = sample(rng, real.nrows(), m).into_vec();
            let f = sample(rng, fake.nrows(), m).into_vec();
            (r, f)
        })
        .collect();
    let estimates: Vec<f64> = draws
        .par_iter()
        .map(|(r, f)| mmd2_unbiased(&real.select_rows(r), &fake.select_rows(f)))
        .collect();
    let (mean, std) = super::mean_and_std(&estimates);
    Kid { mean, std }
}

/// The cubic polynomial kernel matrix of the rows of `x` and `y`.
fn kernel(x: &DMatrix<f64>, y: &DMatrix<f64>) -> DMatrix<f64> {
    let d = x.ncols() as f64;
    (x * y.transpose()).map(|v| (v / d + 1.0).powi(3))
}

/// Unbiased MMD² of two equal-sized samples: the within-set kernel means leave out the
/// diagonal.
pub fn mmd2_unbiased(x: &DMatrix<f64>, y: &DMatrix<f64>) -> f64 {
    let m = x.nrows() as f64;
    let off_diagonal = |k: DMatrix<f64>| k.sum() - k.trace();
    let within = off_diagonal(kernel(x, x)) + off_diagonal(kernel(y, y));
    within / (m * (m - 1.0)) - 2.0 * kernel(x, y).sum() / (m * m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn random(rows: usize, cols: usize, shift: f64, rng: &mut ChaCha8Rng) -> DMatrix<f64> {
        DMatrix::from_fn(rows, cols, |_, _| rng.random_range(-1.0..1.0) + shift)
    }

    #[test]
    fn identical_sets_score_near_zero_and_shifted_ones_do_not() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let x = random(600, 16, 0.0, &mut rng);
        let same = kid(&x, &x, 20, 200, &mut rng);
        // Two independent subsets of one set: an unbiased estimate of zero.
        assert!(same.mean.abs() < 3.0 * same.std.max(1e-4), "{same:?}");
        let y = random(600, 16, 0.0, &mut rng);
        let fresh = kid(&x, &y, 20, 200, &mut rng);
        let shifted = kid(&x, &random(600, 16, 0.5, &mut rng), 20, 200, &mut rng);
        assert!(
            shifted.mean > 10.0 * fresh.mean.abs().max(1e-4),
            "{shifted:?} vs {fresh:?}"
        );
    }

    #[test]
    fn mmd_matches_a_direct_double_sum() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let x = random(7, 3, 0.0, &mut rng);
        let y = random(7, 3, 0.3, &mut rng);
        let k = |a: &DMatrix<f64>, i: usize, b: &DMatrix<f64>, j: usize| {
            (a.row(i).dot(&b.row(j)) / 3.0 + 1.0).powi(3)
        };
        let (mut xx, mut yy, mut xy) = (0.0, 0.0, 0.0);
        for i in 0..7 {
            for j in 0..7 {
                if i != j {
                    xx += k(&x, i, &x, j);
                    yy += k(&y, i, &y, j);
                }
                xy += k(&x, i, &y, j);
            }
        }
        let direct = (xx + yy) / 42.0 - 2.0 * xy / 49.0;
        assert!((mmd2_unbiased(&x, &y) - direct).abs() < 1e-12);
    }
}
