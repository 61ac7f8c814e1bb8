//! Per-class accuracy of a conditional generator: the share of the images asked for class
//! k that the evaluation classifier puts in class k.

use nalgebra::DMatrix;
use serde::Serialize;

use super::modes::predictions;

/// How often a conditional generator draws the class it is asked for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassAccuracy {
    /// Per class: the share of its images classified as it.
    pub per_class: Vec<f64>,
    /// Over all images.
    pub overall: f64,
}

/// The class a conditional generator is asked for in image `index` of an evaluation: the
/// classes in turn, so each gets the same number of images (±1).
pub fn asked_class(index: usize, classes: usize) -> usize {
    index % classes
}

/// Per-class accuracy of images whose class probabilities are `probs` (one row per image,
/// image `i` asked for [`asked_class`]`(i, classes)`).
pub fn class_accuracy(probs: &DMatrix<f64>) -> ClassAccuracy {
    let classes = probs.ncols();
    let (mut right, mut asked) = (vec![0usize; classes], vec![0usize; classes]);
    for (i, predicted) in predictions(probs).into_iter().enumerate() {
        let class = asked_class(i, classes);
        asked[class] += 1;
        right[class] += usize::from(predicted == class);
    }
    let per_class = right
        .iter()
        .zip(&asked)
        .map(|(&r, &a)| if a == 0 { 0.0 } else { r as f64 / a as f64 })
        .collect();
    let total: usize = asked.iter().sum();
    ClassAccuracy {
        per_class,
        overall: right.iter().sum::<usize>() as f64 / total.max(1) as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_image_against_the_class_it_was_asked_for() {
        // Six images, classes 0, 1, 2, 0, 1, 2 asked; predicted 0, 1, 0, 0, 2, 2.
        let predicted = [0usize, 1, 0, 0, 2, 2];
        let mut probs = DMatrix::zeros(6, 3);
        for (i, &p) in predicted.iter().enumerate() {
            probs[(i, p)] = 0.9;
        }
        let accuracy = class_accuracy(&probs);
        assert_eq!(accuracy.per_class, [1.0, 0.5, 0.5]);
        assert!((accuracy.overall - 4.0 / 6.0).abs() < 1e-12);
    }
}
