//! The mean and covariance of feature vectors, accumulated batch by batch in f64: what FID
//! needs of a set, in memory that does not grow with the set (a 2048² matrix, 32 MB).

use nalgebra::{DMatrix, DVector};

use super::frechet::Gaussian;

/// Running sums of feature vectors and of their outer products.
///
/// The sums are of `x − s`, where the shift `s` is the first batch's mean: with it the
/// covariance `(Σ(x−s)(x−s)ᵀ − n·d·dᵀ) / (n − 1)`, `d` the mean of `x − s`, loses no digits
/// to cancellation however far the features sit from zero.
#[derive(Debug, Clone)]
pub struct Moments {
    dim: usize,
    count: usize,
    shift: Vec<f64>,
    sum: Vec<f64>,
    /// `Σ (x − s)(x − s)ᵀ`, row-major `[dim, dim]`.
    products: Vec<f64>,
}

impl Moments {
    /// No vectors yet, of length `dim`.
    pub fn new(dim: usize) -> Moments {
        Moments {
            dim,
            count: 0,
            shift: Vec::new(),
            sum: vec![0.0; dim],
            products: vec![0.0; dim * dim],
        }
    }

    /// Adds the rows of `rows` (`[n, dim]`, row-major).
    ///
    /// # Panics
    /// If `rows` is not a whole number of vectors.
    pub fn add(&mut self, rows: &[f32]) {
        let d = self.dim;
        assert_eq!(rows.len() % d, 0, "rows of {d} values");
        let n = rows.len() / d;
        if n == 0 {
            return;
        }
        if self.shift.is_empty() {
            self.shift = vec![0.0; d];
            for row in rows.chunks_exact(d) {
                for (s, &x) in self.shift.iter_mut().zip(row) {
                    *s += f64::from(x);
                }
            }
            self.shift.iter_mut().for_each(|s| *s /= n as f64);
        }
        let centred: Vec<f64> = rows
            .chunks_exact(d)
            .flat_map(|row| row.iter().zip(&self.shift).map(|(&x, s)| f64::from(x) - s))
            .collect();
        for row in centred.chunks_exact(d) {
            for (s, x) in self.sum.iter_mut().zip(row) {
                *s += x;
            }
        }
        // products += centredᵀ · centred: [d, n] · [n, d].
        // SAFETY: the pointers and strides describe `centred` ([n, d] row-major, read as its
        // transpose and as itself) and `products` ([d, d] row-major), all in bounds.
        unsafe {
            gemm::gemm(
                d,
                d,
                n,
                self.products.as_mut_ptr(),
                1,
                d as isize,
                true,
                centred.as_ptr(),
                d as isize,
                1,
                centred.as_ptr(),
                1,
                d as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(0),
            );
        }
        self.count += n;
    }

    /// Vectors added.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Their length.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The mean and the unbiased covariance (`np.cov`'s `n − 1`), as pytorch-fid computes
    /// them.
    ///
    /// # Panics
    /// With fewer than two vectors.
    pub fn gaussian(&self) -> Gaussian {
        let n = self.count;
        assert!(n >= 2, "a covariance needs at least two vectors");
        let d = self.dim;
        let delta: Vec<f64> = self.sum.iter().map(|s| s / n as f64).collect();
        let mean = DVector::from_iterator(d, self.shift.iter().zip(&delta).map(|(s, m)| s + m));
        let cov = DMatrix::from_fn(d, d, |i, j| {
            (self.products[i * d + j] - n as f64 * delta[i] * delta[j]) / (n - 1) as f64
        });
        Gaussian { mean, cov }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn batch_by_batch_equals_the_whole_set_at_once() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let (n, d) = (203, 7);
        // Features far from zero, where a naive Σxxᵀ − nμμᵀ would lose digits.
        let rows: Vec<f32> = (0..n * d)
            .map(|i| 1000.0 + (i % d) as f32 + rng.random_range(-1.0..1.0))
            .collect();
        let whole = Gaussian::fit(&DMatrix::from_fn(n, d, |i, j| f64::from(rows[i * d + j])));
        let mut moments = Moments::new(d);
        for batch in rows.chunks(d * 50) {
            moments.add(batch);
        }
        let streamed = moments.gaussian();
        assert_eq!(moments.count(), n);
        assert!((&streamed.mean - &whole.mean).amax() < 1e-9);
        let scale = whole.cov.amax();
        assert!(
            (&streamed.cov - &whole.cov).amax() < 1e-9 * scale,
            "{}",
            scale
        );
    }
}
