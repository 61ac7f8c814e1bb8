//! The Inception Score analogue: `exp E_x KL(p(y|x) ‖ p(y))` with the evaluation
//! classifier's softmax, mean and standard deviation over splits (torch-fidelity's ISC).

use nalgebra::DMatrix;

/// Mean and population standard deviation of the per-split scores.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct InceptionScore {
    /// Mean over splits.
    pub mean: f64,
    /// Standard deviation over splits.
    pub std: f64,
}

/// The score of class probabilities `probs` (`[n, classes]`, rows summing to 1) over
/// `splits` consecutive equal splits (a remainder is left out). 1 is the floor (every
/// sample the same class distribution); the number of classes is the ceiling.
pub fn inception_score(probs: &DMatrix<f64>, splits: usize) -> InceptionScore {
    let size = probs.nrows() / splits;
    assert!(size >= 1, "fewer samples than splits");
    let scores: Vec<f64> = (0..splits)
        .map(|s| {
            let part = probs.rows(s * size, size);
            let marginal = part.row_mean();
            let kl: f64 = part
                .row_iter()
                .map(|p| {
                    p.iter()
                        .zip(marginal.iter())
                        .filter(|(pi, _)| **pi > 0.0)
                        .map(|(pi, mi)| pi * (pi.ln() - mi.ln()))
                        .sum::<f64>()
                })
                .sum::<f64>()
                / size as f64;
            kl.exp()
        })
        .collect();
    let (mean, std) = super::mean_and_std(&scores);
    InceptionScore { mean, std }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confident_balanced_predictions_score_the_class_count_and_one_class_scores_one() {
        let classes = 10;
        let n = 1000;
        let one_hot = DMatrix::from_fn(n, classes, |i, j| if i % classes == j { 1.0 } else { 0.0 });
        let is = inception_score(&one_hot, 10);
        assert!((is.mean - 10.0).abs() < 1e-9 && is.std < 1e-9, "{is:?}");
        let collapsed = DMatrix::from_fn(n, classes, |_, j| if j == 3 { 1.0 } else { 0.0 });
        assert!((inception_score(&collapsed, 10).mean - 1.0).abs() < 1e-12);
        let uniform = DMatrix::from_element(n, classes, 0.1);
        assert!((inception_score(&uniform, 10).mean - 1.0).abs() < 1e-12);
    }
}
