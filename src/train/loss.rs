//! The adversarial losses, as small named pieces the training step composes: each gives D's
//! loss from its logits on a real and a generated batch, and G's from D's logits on G's
//! images. ACGAN's class loss ([`class_cross_entropy`]) is added to both when D has a
//! classifier head.

use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::{Int, Tensor};
use serde::{Deserialize, Serialize};

/// Which adversarial loss a run trains with (`--loss`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Loss {
    /// The seed's, and the DCGAN paper's: sigmoid cross-entropy for D; for G the
    /// non-saturating `−log D(G(z))` (Goodfellow et al. 2014, §3).
    #[default]
    NonSaturating,
    /// The original minimax game: D as above, G minimises `log(1 − D(G(z)))`, whose
    /// gradient vanishes while D rejects G's images (kept for teaching).
    Minimax,
    /// Least squares (also `lsgan`; LSGAN, Mao et al. 2017, a = 0, b = c = 1): D pushes its
    /// output to 1 on real and 0 on generated images, G its output on generated ones to 1;
    /// halved squares.
    #[value(alias = "lsgan")]
    LeastSquares,
    /// Hinge (Lim & Ye 2017; Miyato et al. 2018): D `max(0, 1 − D(x)) + max(0, 1 + D(G(z)))`,
    /// G `−D(G(z))`.
    Hinge,
    /// The Wasserstein GAN with weight clipping (also `wgan`; Arjovsky et al. 2017): the critic D
    /// minimises `D(G(z)) − D(x)`, G `−D(G(z))`, and D's weights are clipped to
    /// `[−c, c]` after each of its steps (`--weight-clip`); the paper trains D five steps per
    /// G step (`--d-steps 5`). WGAN-GP's gradient penalty needs a second backward pass that
    /// burn does not offer (see `tests/losses.rs`).
    #[value(alias = "wgan")]
    Wasserstein,
}

impl Loss {
    /// The name on the command line and in `config.toml`.
    pub fn name(self) -> &'static str {
        match self {
            Loss::NonSaturating => "non-saturating",
            Loss::Minimax => "minimax",
            Loss::LeastSquares => "least-squares",
            Loss::Hinge => "hinge",
            Loss::Wasserstein => "wasserstein",
        }
    }

    /// True for the losses on D's probability σ(logit), whose D loss falls to 0 when D
    /// wins; false for those whose D loss has no floor at 0 (Wasserstein) or that are
    /// margins (hinge, least squares).
    pub fn is_cross_entropy(self) -> bool {
        matches!(self, Loss::NonSaturating | Loss::Minimax)
    }

    /// D's loss from its logits on a real batch and on a generated one, each averaged over
    /// its batch.
    ///
    /// # Shapes
    /// - real, fake: `[batch, 1]`
    /// - output: `[1]`
    pub fn discriminator(self, real: Tensor<2>, fake: Tensor<2>) -> Tensor<1> {
        match self {
            Loss::NonSaturating | Loss::Minimax => {
                sigmoid_cross_entropy(real, 1.0) + sigmoid_cross_entropy(fake, 0.0)
            }
            Loss::LeastSquares => {
                let real = real.sub_scalar(1.0);
                (real.clone() * real).mean().mul_scalar(0.5)
                    + (fake.clone() * fake).mean().mul_scalar(0.5)
            }
            Loss::Hinge => {
                relu(real.neg().add_scalar(1.0)).mean() + relu(fake.add_scalar(1.0)).mean()
            }
            Loss::Wasserstein => fake.mean() - real.mean(),
        }
    }

    /// G's loss from D's logits on G's images, averaged over the batch.
    ///
    /// # Shapes
    /// - fake: `[batch, 1]`
    /// - output: `[1]`
    pub fn generator(self, fake: Tensor<2>) -> Tensor<1> {
        match self {
            Loss::NonSaturating => sigmoid_cross_entropy(fake, 1.0),
            Loss::Minimax => sigmoid_cross_entropy(fake, 0.0).neg(),
            Loss::LeastSquares => {
                let fake = fake.sub_scalar(1.0);
                (fake.clone() * fake).mean().mul_scalar(0.5)
            }
            Loss::Hinge | Loss::Wasserstein => fake.mean().neg(),
        }
    }
}

/// TF's `sigmoid_cross_entropy_with_logits` against a constant label, averaged over the
/// batch, in its stable form `max(x, 0) - x·z + log(1 + exp(-|x|))`.
///
/// # Shapes
/// - logits: `[batch, 1]`
/// - output: `[1]`
pub fn sigmoid_cross_entropy(logits: Tensor<2>, label: f32) -> Tensor<1> {
    let softplus_tail = logits.clone().abs().neg().exp().log1p();
    let loss = relu(logits.clone()) - logits.mul_scalar(label) + softplus_tail;
    loss.mean()
}

/// ACGAN's class loss: the softmax cross-entropy of class logits against the labels,
/// averaged over the batch (Odena et al. 2017, `L_C`; both networks minimise it).
///
/// # Shapes
/// - class_logits: `[batch, classes]`
/// - labels: `[batch]`, each below `classes`
/// - output: `[1]`
pub fn class_cross_entropy(class_logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    let [_, classes] = class_logits.dims();
    let picked =
        log_softmax(class_logits, 1) * crate::model::conditioning::one_hot(labels, classes);
    picked.sum_dim(1).mean().neg()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn logits(values: &[f32]) -> Tensor<2> {
        let data = TensorData::new(values.to_vec(), [values.len(), 1]);
        Tensor::from_data(data, &Device::flex())
    }

    fn value(t: Tensor<1>) -> f32 {
        t.into_data().try_to_vec::<f32>().unwrap()[0]
    }

    fn mean(values: impl Iterator<Item = f32>) -> f32 {
        let v: Vec<f32> = values.collect();
        v.iter().sum::<f32>() / v.len() as f32
    }

    #[test]
    fn cross_entropy_matches_the_formula_and_is_stable() {
        let x = logits(&[0.0, 2.0, -3.0, 200.0]);
        let ones = value(sigmoid_cross_entropy(x.clone(), 1.0));
        let zeros = value(sigmoid_cross_entropy(x, 0.0));
        let sp = |x: f32| (1.0 + x.exp()).ln();
        // -log σ(x) = softplus(-x); -log(1 - σ(x)) = softplus(x); softplus(-200) ≈ 0.
        let expected_ones = (sp(0.0) + sp(-2.0) + sp(3.0) + 0.0) / 4.0;
        let expected_zeros = (sp(0.0) + sp(2.0) + sp(-3.0) + 200.0) / 4.0;
        assert!(
            (ones - expected_ones).abs() < 1e-5,
            "{ones} vs {expected_ones}"
        );
        assert!(
            (zeros - expected_zeros).abs() < 1e-4,
            "{zeros} vs {expected_zeros}"
        );
    }

    /// Each loss against its formula written out on plain numbers.
    #[test]
    fn every_loss_is_its_formula() {
        let (real, fake) = ([0.5f32, 2.0, -1.0], [-0.5f32, 1.5, -2.5]);
        let sp = |x: f32| (1.0 + x.exp()).ln();
        let cross_entropy_d =
            mean(real.iter().map(|&x| sp(-x))) + mean(fake.iter().map(|&x| sp(x)));
        let cases = [
            (
                Loss::NonSaturating,
                cross_entropy_d,
                mean(fake.iter().map(|&x| sp(-x))),
            ),
            (
                Loss::Minimax,
                cross_entropy_d,
                -mean(fake.iter().map(|&x| sp(x))),
            ),
            (
                Loss::LeastSquares,
                0.5 * mean(real.iter().map(|&x| (x - 1.0).powi(2)))
                    + 0.5 * mean(fake.iter().map(|&x| x * x)),
                0.5 * mean(fake.iter().map(|&x| (x - 1.0).powi(2))),
            ),
            (
                Loss::Hinge,
                mean(real.iter().map(|&x| (1.0 - x).max(0.0)))
                    + mean(fake.iter().map(|&x| (1.0 + x).max(0.0))),
                -mean(fake.iter().copied()),
            ),
            (
                Loss::Wasserstein,
                mean(fake.iter().copied()) - mean(real.iter().copied()),
                -mean(fake.iter().copied()),
            ),
        ];
        for (loss, want_d, want_g) in cases {
            let d = value(loss.discriminator(logits(&real), logits(&fake)));
            let g = value(loss.generator(logits(&fake)));
            assert!(
                (d - want_d).abs() < 1e-5,
                "{}: D {d} vs {want_d}",
                loss.name()
            );
            assert!(
                (g - want_g).abs() < 1e-5,
                "{}: G {g} vs {want_g}",
                loss.name()
            );
        }
    }

    /// ACGAN's class loss against `-log softmax` written out: logits (1, 2, 3) and (0, 0, 0)
    /// with labels 2 and 0.
    #[test]
    fn class_cross_entropy_is_the_mean_negative_log_softmax_of_the_label() {
        let device = Device::flex();
        let class_logits = Tensor::from_data(
            TensorData::new(vec![1.0f32, 2.0, 3.0, 0.0, 0.0, 0.0], [2, 3]),
            &device,
        );
        let labels = Tensor::from_data(TensorData::new(vec![2i64, 0], [2]), &device);
        let got = value(class_cross_entropy(class_logits, labels));
        let log_sum = (1f32.exp() + 2f32.exp() + 3f32.exp()).ln();
        let want = ((log_sum - 3.0) + 3f32.ln()) / 2.0;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }

    /// The gradient penalty of `f(x) = w·Σx²` at `x = (1, −2)`: `‖∂f/∂x‖² = Σ(2wx)²`,
    /// computed with burn's autodiff, and whether burn tracks it for a second backward pass.
    fn gradient_penalty(w: f32) -> (f32, bool) {
        let device = Device::flex().autodiff();
        let w: Tensor<2> =
            Tensor::from_data(TensorData::new(vec![w], [1, 1]), &device).require_grad();
        let x: Tensor<2> =
            Tensor::from_data(TensorData::new(vec![1.0f32, -2.0], [1, 2]), &device).require_grad();
        let f = (w * x.clone() * x.clone()).sum();
        let grads = f.backward();
        let dx = x.grad(&grads).expect("x's gradient");
        let penalty = (dx.clone() * dx).sum();
        let tracked = penalty.is_tracked();
        (value(penalty), tracked)
    }

    /// WGAN-GP's penalty needs the gradient, with respect to D's weights, of a loss on D's
    /// input gradients. Central differences of the penalty computed with burn show that
    /// gradient is there (`dp/dw = 8w·Σx² = 28` at w = 0.7), but burn 0.22 returns input
    /// gradients without an autodiff graph, so a backward pass through the penalty cannot
    /// reach the weights; hence the Wasserstein loss with weight clipping in its place. If
    /// burn starts tracking gradients, this test fails and WGAN-GP can be built.
    #[test]
    fn burn_cannot_differentiate_the_gradient_penalty() {
        let (at, tracked) = gradient_penalty(0.7);
        assert!((at - 4.0 * 0.49 * 5.0).abs() < 1e-4, "penalty {at}");
        let h = 1e-2;
        let central = (gradient_penalty(0.7 + h).0 - gradient_penalty(0.7 - h).0) / (2.0 * h);
        assert!(
            (central - 28.0).abs() < 1e-2,
            "central difference {central}"
        );
        assert!(
            !tracked,
            "burn now tracks input gradients: WGAN-GP's penalty can be differentiated"
        );
    }

    #[test]
    fn names_are_the_command_lines_and_the_config_files() {
        use clap::ValueEnum;
        for loss in Loss::value_variants() {
            let flag = loss.to_possible_value().unwrap();
            assert_eq!(flag.get_name(), loss.name());
            let toml =
                toml::to_string(&std::collections::BTreeMap::from([("loss", loss)])).unwrap();
            assert_eq!(toml.trim(), format!("loss = \"{}\"", loss.name()));
        }
    }
}
