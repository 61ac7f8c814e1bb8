//! The Fréchet distance between two Gaussians fitted to feature sets (FID, here on the
//! evaluation classifier's features), in f64.

use nalgebra::{DMatrix, DVector, SymmetricEigen};

/// A Gaussian fitted to a set of feature vectors.
#[derive(Debug, Clone)]
pub struct Gaussian {
    /// The mean.
    pub mean: DVector<f64>,
    /// The covariance, with the unbiased `n - 1` normalisation (NumPy's `np.cov`, as
    /// pytorch-fid uses).
    pub cov: DMatrix<f64>,
}

impl Gaussian {
    /// Fits the mean and covariance of the rows of `x` (`[n, d]`, `n >= 2`).
    pub fn fit(x: &DMatrix<f64>) -> Self {
        let n = x.nrows();
        assert!(n >= 2, "a covariance needs at least two samples");
        let mean = x.row_mean().transpose();
        let mut centred = x.clone();
        for mut row in centred.row_iter_mut() {
            row -= mean.transpose();
        }
        let cov = centred.transpose() * &centred / (n - 1) as f64;
        Gaussian { mean, cov }
    }
}

/// `‖μa − μb‖² + tr Σa + tr Σb − 2 tr (Σa Σb)^½`.
///
/// `tr (Σa Σb)^½` is computed as `tr (Σa^½ Σb Σa^½)^½`: the two matrices are similar, and the
/// second is symmetric positive semi-definite, so two symmetric eigendecompositions give it
/// stably (no complex parts, unlike the general matrix square root `scipy.linalg.sqrtm`
/// that pytorch-fid uses; on 2048-d Inception features the two agree to 1e-7 relative), the
/// second without eigenvectors. Eigenvalues that round to below zero count as zero. About
/// 17 s for 2048 dimensions on one core of an AMD EPYC (Zen 4), against scipy's 15.
pub fn frechet_distance(a: &Gaussian, b: &Gaussian) -> f64 {
    let diff = &a.mean - &b.mean;
    let root_a = psd_sqrt(&a.cov);
    let middle = &root_a * &b.cov * &root_a;
    let trace_sqrt: f64 = symmetrised(middle)
        .symmetric_eigenvalues()
        .iter()
        .map(|&l| l.max(0.0).sqrt())
        .sum();
    let fd = diff.norm_squared() + a.cov.trace() + b.cov.trace() - 2.0 * trace_sqrt;
    // Rounding can leave a distance of two equal sets a hair below zero.
    fd.max(0.0)
}

/// The symmetric square root of a symmetric positive semi-definite matrix.
fn psd_sqrt(m: &DMatrix<f64>) -> DMatrix<f64> {
    let eigen = SymmetricEigen::new(symmetrised(m.clone()));
    let roots = eigen.eigenvalues.map(|l| l.max(0.0).sqrt());
    &eigen.eigenvectors * DMatrix::from_diagonal(&roots) * eigen.eigenvectors.transpose()
}

/// `(m + mᵀ) / 2`: removes the rounding asymmetry of a product before an eigensolver that
/// assumes symmetry.
fn symmetrised(m: DMatrix<f64>) -> DMatrix<f64> {
    (&m + m.transpose()) * 0.5
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(rows: usize, cols: usize, rng: &mut ChaCha8Rng) -> DMatrix<f64> {
        DMatrix::from_fn(rows, cols, |_, _| rng.random_range(-1.0..1.0))
    }

    #[test]
    fn a_set_is_at_distance_zero_from_itself() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        // Correlated, rank-deficient features, like ReLU activations with dead units.
        let mut x = random(500, 20, &mut rng);
        x.column_mut(3).fill(0.0);
        let copy = x.column(0) * 2.0;
        x.set_column(5, &copy);
        let g = Gaussian::fit(&x);
        let fd = frechet_distance(&g, &g);
        assert!(fd.abs() < 1e-9 * g.cov.trace(), "{fd}");
    }

    #[test]
    fn matches_the_closed_form_for_gaussians_with_shared_eigenvectors() {
        // Σa = Q diag(α) Qᵀ, Σb = Q diag(β) Qᵀ: the distance is
        // ‖μa − μb‖² + Σ (√αi − √βi)².
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let d = 8;
        let q = random(d, d, &mut rng).qr().q();
        let alpha: Vec<f64> = (0..d).map(|_| rng.random_range(0.1..3.0)).collect();
        let beta: Vec<f64> = (0..d).map(|_| rng.random_range(0.1..3.0)).collect();
        let cov =
            |l: &[f64]| &q * DMatrix::from_diagonal(&DVector::from_row_slice(l)) * q.transpose();
        let a = Gaussian {
            mean: DVector::from_fn(d, |_, _| rng.random_range(-1.0..1.0)),
            cov: cov(&alpha),
        };
        let b = Gaussian {
            mean: DVector::from_fn(d, |_, _| rng.random_range(-1.0..1.0)),
            cov: cov(&beta),
        };
        let expected = (&a.mean - &b.mean).norm_squared()
            + alpha
                .iter()
                .zip(&beta)
                .map(|(x, y)| (x.sqrt() - y.sqrt()).powi(2))
                .sum::<f64>();
        let fd = frechet_distance(&a, &b);
        assert!(
            (fd - expected).abs() < 1e-9 * expected,
            "{fd} vs {expected}"
        );
    }

    #[test]
    fn agrees_with_the_eigenvalues_of_the_covariance_product() {
        // A direct computation: tr (Σa Σb)^½ is the sum of the square roots of the
        // eigenvalues of the (non-symmetric) product, which are real and non-negative.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let a = Gaussian::fit(&random(300, 16, &mut rng));
        let mut y = random(400, 16, &mut rng);
        y.column_mut(2).scale_mut(3.0);
        y.add_scalar_mut(0.5);
        let b = Gaussian::fit(&y);
        let product = &a.cov * &b.cov;
        let trace_sqrt: f64 = product
            .complex_eigenvalues()
            .iter()
            .map(|l| l.re.max(0.0).sqrt())
            .sum();
        let direct =
            (&a.mean - &b.mean).norm_squared() + a.cov.trace() + b.cov.trace() - 2.0 * trace_sqrt;
        let fd = frechet_distance(&a, &b);
        assert!((fd - direct).abs() < 1e-8 * direct, "{fd} vs {direct}");
        assert!(fd > 0.1, "different sets are apart: {fd}");
    }
}
