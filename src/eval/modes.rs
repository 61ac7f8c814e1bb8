//! Mode coverage: which classes the generator draws, by the classifier's predictions.

use nalgebra::DMatrix;

/// A class is present when it gets at least this share of a uniform class's count: a few
/// stray samples do not make a mode.
pub const PRESENT_SHARE: f64 = 0.1;

/// The class histogram of a sample and how it compares with the real one.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ModeCoverage {
    /// Samples predicted in each class.
    pub histogram: Vec<usize>,
    /// Classes with at least [`PRESENT_SHARE`] of `n / classes` samples.
    pub classes_present: usize,
    /// KL(generated ‖ real) of the two predicted-class distributions, in nats; 0 when the
    /// generator draws each class as often as the real data holds it.
    pub kl_to_real: f64,
}

/// The predicted class (argmax) of each row of `probs`.
pub fn predictions(probs: &DMatrix<f64>) -> Vec<usize> {
    probs.row_iter().map(|r| r.transpose().argmax().0).collect()
}

/// Counts of each class among `predicted`.
pub fn histogram(predicted: &[usize], classes: usize) -> Vec<usize> {
    let mut counts = vec![0; classes];
    for &c in predicted {
        counts[c] += 1;
    }
    counts
}

/// Mode coverage of the generated samples' class probabilities against the real ones'.
pub fn mode_coverage(real_probs: &DMatrix<f64>, fake_probs: &DMatrix<f64>) -> ModeCoverage {
    let classes = fake_probs.ncols();
    let fake = histogram(&predictions(fake_probs), classes);
    let real = histogram(&predictions(real_probs), classes);
    let n_fake = fake_probs.nrows() as f64;
    let n_real = real_probs.nrows() as f64;
    let threshold = PRESENT_SHARE * n_fake / classes as f64;
    let kl_to_real = fake
        .iter()
        .zip(&real)
        .filter(|(f, _)| **f > 0)
        .map(|(&f, &r)| {
            let p = f as f64 / n_fake;
            // A class the real data never shows: a tiny floor keeps the divergence finite.
            let q = (r as f64 / n_real).max(1e-12);
            p * (p / q).ln()
        })
        .sum();
    ModeCoverage {
        classes_present: fake.iter().filter(|&&c| c as f64 >= threshold).count(),
        histogram: fake,
        kl_to_real,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_hot(classes: &[usize]) -> DMatrix<f64> {
        DMatrix::from_fn(
            classes.len(),
            10,
            |i, j| if classes[i] == j { 0.9 } else { 0.01 },
        )
    }

    #[test]
    fn counts_classes_and_measures_imbalance() {
        let real: Vec<usize> = (0..1000).map(|i| i % 10).collect();
        let same = mode_coverage(&one_hot(&real), &one_hot(&real));
        assert_eq!(same.histogram, vec![100; 10]);
        assert_eq!((same.classes_present, same.kl_to_real), (10, 0.0));

        // Only ones, plus three stray sevens: one class present, KL = ln 10 nearly.
        let mut fake = vec![1; 997];
        fake.extend([7, 7, 7]);
        let collapsed = mode_coverage(&one_hot(&real), &one_hot(&fake));
        assert_eq!(collapsed.classes_present, 1);
        assert!(
            (collapsed.kl_to_real - 10f64.ln()).abs() < 0.05,
            "{collapsed:?}"
        );
    }
}
