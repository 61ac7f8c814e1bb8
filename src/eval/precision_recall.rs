//! Improved precision and recall (Kynkäänniemi et al., 2019): each set's manifold is the
//! union of balls around its samples, each reaching its k-th nearest neighbour in the set.
//! Precision is the share of generated samples inside the real manifold (are they
//! realistic?); recall the share of real samples inside the generated one (is the variety
//! covered?).

use nalgebra::DMatrix;
use rayon::prelude::*;

/// Rows per block of the distance computations (a block of distances is `BLOCK × n`).
const BLOCK: usize = 512;

/// Precision and recall, both in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PrecisionRecall {
    /// Share of generated samples within the real manifold.
    pub precision: f64,
    /// Share of real samples within the generated manifold.
    pub recall: f64,
}

/// Precision and recall of `fake` against `real` (rows are feature vectors) with the k-th
/// nearest neighbour radii (the paper uses k = 3).
pub fn precision_recall(real: &DMatrix<f64>, fake: &DMatrix<f64>, k: usize) -> PrecisionRecall {
    let real_radii = knn_radii(real, k);
    let fake_radii = knn_radii(fake, k);
    PrecisionRecall {
        precision: coverage(fake, real, &real_radii),
        recall: coverage(real, fake, &fake_radii),
    }
}

/// Squared Euclidean distances between the rows `rows` of `x` and every row of `y`.
fn squared_distances(
    x: &DMatrix<f64>,
    rows: std::ops::Range<usize>,
    y: &DMatrix<f64>,
) -> DMatrix<f64> {
    let block = x.rows(rows.start, rows.len());
    let x_norms: Vec<f64> = block.row_iter().map(|r| r.norm_squared()).collect();
    let y_norms: Vec<f64> = y.row_iter().map(|r| r.norm_squared()).collect();
    let mut d = block * y.transpose() * -2.0;
    for (i, mut row) in d.row_iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (*v + x_norms[i] + y_norms[j]).max(0.0);
        }
    }
    d
}

fn blocks(n: usize) -> Vec<std::ops::Range<usize>> {
    (0..n)
        .step_by(BLOCK)
        .map(|s| s..(s + BLOCK).min(n))
        .collect()
}

/// The squared distance from each row of `x` to its k-th nearest other row.
fn knn_radii(x: &DMatrix<f64>, k: usize) -> Vec<f64> {
    assert!(x.nrows() > k, "need more than k = {k} samples");
    blocks(x.nrows())
        .into_par_iter()
        .flat_map_iter(|rows| {
            let d = squared_distances(x, rows, x);
            (0..d.nrows())
                .map(|i| {
                    let mut row: Vec<f64> = d.row(i).iter().copied().collect();
                    // Index k: the sample itself is at distance zero, index 0.
                    *row.select_nth_unstable_by(k, f64::total_cmp).1
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The share of rows of `x` within the radius of at least one row of `y`.
fn coverage(x: &DMatrix<f64>, y: &DMatrix<f64>, y_radii: &[f64]) -> f64 {
    let inside: usize = blocks(x.nrows())
        .into_par_iter()
        .map(|rows| {
            let d = squared_distances(x, rows, y);
            d.row_iter()
                .filter(|row| row.iter().zip(y_radii).any(|(dist, r)| dist <= r))
                .count()
        })
        .sum();
    inside as f64 / x.nrows() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn radii_are_the_kth_neighbour_distances() {
        // Points on a line at 0, 1, 3, 7: the 2nd neighbour of 0 is 3 (squared 9).
        let x = DMatrix::from_column_slice(4, 1, &[0.0, 1.0, 3.0, 7.0]);
        assert_eq!(knn_radii(&x, 2), vec![9.0, 4.0, 9.0, 36.0]);
    }

    #[test]
    fn a_set_covers_itself_and_a_collapsed_set_has_low_recall() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let real = DMatrix::from_fn(700, 2, |_, _| rng.random_range(-1.0..1.0));
        let same = precision_recall(&real, &real, 3);
        assert_eq!((same.precision, same.recall), (1.0, 1.0));
        // Generated samples all in one small square: realistic (inside), but little variety.
        let collapsed = DMatrix::from_fn(700, 2, |_, _| rng.random_range(0.0..0.3));
        let pr = precision_recall(&real, &collapsed, 3);
        assert!(pr.precision > 0.9 && pr.recall < 0.1, "{pr:?}");
        // Far away: neither.
        let far = collapsed.add_scalar(10.0);
        let pr = precision_recall(&real, &far, 3);
        assert_eq!((pr.precision, pr.recall), (0.0, 0.0));
    }
}
