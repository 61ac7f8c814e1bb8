//! One training iteration of the seed: a discriminator step, then a generator step.

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Int, Tensor};

use super::augment::{BatchAugment, IterationAugment};
use super::inspect::{self, NamedValues};
use super::loss::{Loss, class_cross_entropy};
use super::{Gan, clip, distributed};
use crate::model::spectral_norm::SpectralNorm;
use crate::model::{Discriminator, Generator, Judgement};

/// Losses and discriminator outputs of one iteration, for the logs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepLosses {
    /// D's loss (the seed's: cross-entropy on real images, label 1, plus on generated
    /// ones, label 0).
    pub loss_d: f32,
    /// G's loss (the seed's: the non-saturating cross-entropy of D on generated images
    /// against label 1).
    pub loss_g: f32,
    /// Mean of D(x), D's probability that the real images are real, in the D step.
    pub d_real: f32,
    /// Mean of D(G(z)), D's probability that the generated images are real, in the D step.
    pub d_fake: f32,
}

/// What a discriminator step computed, besides the new discriminator.
pub struct DiscriminatorStep {
    /// D's loss.
    pub loss: Tensor<1>,
    /// D's logits on the generated batch (detached): G's loss on them stands for G's in
    /// an iteration without a G step.
    pub fake_logits: Tensor<2>,
    /// Mean of sigmoid(D(x)) over the real batch.
    pub d_real: Tensor<1>,
    /// Mean of sigmoid(D(G(z))) over the generated batch.
    pub d_fake: Tensor<1>,
}

/// How one iteration trains: the loss, each network's learning rate, and the critic's
/// weight clipping.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepSettings {
    /// The adversarial loss.
    pub loss: Loss,
    /// D's learning rate.
    pub lr_d: f64,
    /// G's learning rate.
    pub lr_g: f64,
    /// Clamp D's parameters to `[−c, c]` after its step (the Wasserstein loss's).
    pub weight_clip: Option<f64>,
}

impl StepSettings {
    /// The seed's loss with one learning rate for both networks.
    pub fn with_lr(lr: f64) -> Self {
        StepSettings {
            loss: Loss::default(),
            lr_d: lr,
            lr_g: lr,
            weight_clip: None,
        }
    }
}

/// ACGAN's class loss of `judgement` against `labels`, when D has a classifier head.
fn class_loss(judgement: &Judgement, labels: &Option<Tensor<1, Int>>) -> Option<Tensor<1>> {
    let class_logits = judgement.class_logits.clone()?;
    let labels = labels.clone().expect("class logits come with labels");
    Some(class_cross_entropy(class_logits, labels))
}

/// Updates the discriminator on a batch of real images and a batch of generated ones with
/// `loss`, calling D separately on each as the seed does. Returns D, its loss and its mean
/// outputs.
///
/// For a conditional GAN, `labels` are the classes of the real images, and the generated
/// ones were drawn for the same classes; an ACGAN discriminator also learns to name both
/// batches' classes. `fake` carries no gradient to G (detach it first). With `gradients`,
/// D's gradients are copied there (named `D/…`) for the logs.
pub fn discriminator_step(
    (discriminator, spectral_norm): (Discriminator, Option<&mut SpectralNorm>),
    optimizer: &mut ModuleOptimizer,
    (real, fake): (Tensor<4>, Tensor<4>),
    labels: Option<Tensor<1, Int>>,
    (loss, lr): (Loss, f64),
    gradients: Option<&mut Vec<NamedValues>>,
) -> (Discriminator, DiscriminatorStep) {
    // With spectral normalisation D judges with its weights divided by their σ (one power
    // iteration further); the gradients reach its own weights through that division.
    let judge = match spectral_norm {
        Some(norm) => norm.normalize(&discriminator, true),
        None => discriminator.clone(),
    };
    let on_real = judge.forward(real, labels.clone());
    let on_fake = judge.forward(fake, labels.clone());
    let d_real = sigmoid(on_real.logits.clone().detach()).mean();
    let d_fake = sigmoid(on_fake.logits.clone().detach()).mean();
    let classes = [class_loss(&on_real, &labels), class_loss(&on_fake, &labels)];
    let fake_logits = on_fake.logits.clone().detach();
    let mut loss = loss.discriminator(on_real.logits, on_fake.logits);
    for class in classes.into_iter().flatten() {
        loss = loss + class;
    }
    let grads = GradientsParams::from_grads(loss.backward(), &discriminator);
    let grads = distributed::average_gradients(grads, &discriminator);
    if let Some(out) = gradients {
        *out = inspect::gradients(&discriminator, &grads, "D");
    }
    let discriminator = optimizer.step(lr, discriminator, grads);
    let step = DiscriminatorStep {
        loss: loss.detach(),
        fake_logits,
        d_real,
        d_fake,
    };
    (discriminator, step)
}

/// Updates the generator so that D scores its images `fake` (G's output, with its autodiff
/// graph) as real, by `loss`'s measure, and for ACGAN as of the class asked for (`labels`).
/// Only G's parameters change: D's are taken as constants, so its weight gradients are
/// never computed (its BatchNorm layers still use batch statistics and advance their moving
/// averages, as in the seed). With `gradients`, G's gradients are copied there (named
/// `G/…`) for the logs.
pub fn generator_step(
    generator: Generator,
    (discriminator, spectral_norm): (&Discriminator, Option<&mut SpectralNorm>),
    optimizer: &mut ModuleOptimizer,
    (fake, labels): (Tensor<4>, Option<Tensor<1, Int>>),
    (loss, lr): (Loss, f64),
    gradients: Option<&mut Vec<NamedValues>>,
) -> (Generator, Tensor<1>) {
    let frozen = discriminator.clone().no_grad();
    let frozen = match spectral_norm {
        Some(norm) => norm.normalize(&frozen, false),
        None => frozen,
    };
    let judgement = frozen.forward(fake, labels.clone());
    let class = class_loss(&judgement, &labels);
    let mut loss = loss.generator(judgement.logits);
    if let Some(class) = class {
        loss = loss + class;
    }
    let grads = GradientsParams::from_grads(loss.backward(), &generator);
    let grads = distributed::average_gradients(grads, &generator);
    if let Some(out) = gradients {
        *out = inspect::gradients(&generator, &grads, "G");
    }
    let generator = optimizer.step(lr, generator, grads);
    (generator, loss.detach())
}

/// Both networks' gradients in one iteration, by parameter name.
#[derive(Debug, Default)]
pub struct Gradients {
    /// D's, from the D step.
    pub discriminator: Vec<NamedValues>,
    /// G's, from the G step.
    pub generator: Vec<NamedValues>,
}

/// One iteration of the seed: a D step, then a G step on the same noise (the seed feeds the
/// same `Z` to both), with `settings`' loss and learning rates (in a run on several
/// processes, on this process's slice of the batch, each step's gradients and the figures
/// averaged over the processes); without `train_g` (the
/// iterations between G's steps with `--d-steps`), the D step alone, and the G loss
/// reported is G's loss on D's judgement of that step. For a conditional GAN,
/// `labels` are the real batch's classes, and G draws its images for the same classes.
/// Returns the updated networks, both losses and D's mean outputs, and with `inspect` the
/// gradients of both networks (a copy to the CPU; for the logs, now and then).
///
/// G is unchanged between the two steps, so its images are generated once and serve both:
/// detached for the D step, with their graph for the G step (see
/// [`Generator::forward_for_iteration`] for its BatchNorm moving averages).
pub fn train_iteration(
    gan: Gan,
    (real, labels): (Tensor<4>, Option<Tensor<1, Int>>),
    (noise, augment): (Tensor<2>, Option<IterationAugment>),
    settings: StepSettings,
    (train_g, inspect): (bool, bool),
) -> (Gan, StepLosses, Option<Gradients>) {
    let Gan {
        generator,
        discriminator,
        mut optim_g,
        mut optim_d,
        ema,
        mut spectral_norm,
    } = gan;
    let mut gradients = inspect.then(Gradients::default);
    let fake = generator.forward_for_iteration(noise, labels.clone());
    // DiffAugment: what D sees, real and generated, in both steps, is augmented.
    let seen = |images: Tensor<4>, draw: fn(&IterationAugment) -> &BatchAugment| match &augment {
        Some(augment) => draw(augment).apply(images),
        None => images,
    };
    let (discriminator, d_step) = discriminator_step(
        (discriminator, spectral_norm.as_mut()),
        &mut optim_d,
        (
            seen(real, |a| &a.real),
            seen(fake.clone().detach(), |a| &a.fake_d),
        ),
        labels.clone(),
        (settings.loss, settings.lr_d),
        gradients.as_mut().map(|g| &mut g.discriminator),
    );
    let discriminator = match settings.weight_clip {
        Some(limit) => clip::clip_weights(discriminator, limit),
        None => discriminator,
    };
    let (generator, loss_g) = if train_g {
        generator_step(
            generator,
            (&discriminator, spectral_norm.as_mut()),
            &mut optim_g,
            (seen(fake, |a| &a.fake_g), labels),
            (settings.loss, settings.lr_g),
            gradients.as_mut().map(|g| &mut g.generator),
        )
    } else {
        (
            generator,
            settings.loss.generator(d_step.fake_logits.clone()),
        )
    };
    let gan = Gan {
        generator,
        discriminator,
        optim_g,
        optim_d,
        ema,
        spectral_norm,
    };
    // One read-back for the four figures: each read waits for the device.
    let mut figures = Tensor::cat(vec![d_step.loss, loss_g, d_step.d_real, d_step.d_fake], 0)
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 figures");
    distributed::average_figures(&mut figures);
    let losses = StepLosses {
        loss_d: figures[0],
        loss_g: figures[1],
        d_real: figures[2],
        d_fake: figures[3],
    };
    (gan, losses, gradients)
}

/// Reads a one-element tensor back to the CPU.
pub fn scalar(loss: Tensor<1>) -> f32 {
    loss.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 loss")[0]
}

/// True when every parameter of `module` is finite.
pub fn all_finite<M: Module>(module: &M) -> bool {
    struct Finite(bool);
    impl burn::module::ModuleVisitor for Finite {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            if self.0 {
                let t = param.val();
                self.0 = t.is_finite().all().into_scalar();
            }
        }
    }
    let mut check = Finite(true);
    module.visit(&mut check);
    check.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::loss::Loss;
    use burn::tensor::{Device, TensorData};

    fn setup() -> (Device, Generator, Discriminator, Tensor<4>, Tensor<2>) {
        use crate::model::Architecture;
        use crate::picture::uniform_noise;
        use rand::SeedableRng;
        let device = Device::flex().autodiff();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let arch = Architecture::seed(100);
        let g = arch.generator(&mut rng, &device);
        let d = arch.discriminator(&mut rng, &device);
        // "Real" images: a bright square on black, unlike anything G draws at first.
        let mut square = vec![-1.0f32; 28 * 28];
        for y in 8..20 {
            for x in 8..20 {
                square[y * 28 + x] = 1.0;
            }
        }
        let real = Tensor::from_data(TensorData::new(square.repeat(16), [16, 1, 28, 28]), &device);
        let noise = uniform_noise(16, 100, &mut rng).to_tensor(&device);
        (device, g, d, real, noise)
    }

    /// With every loss, D steps on a fixed batch lower D's loss and tell real from fake.
    #[test]
    fn discriminator_steps_lower_its_loss_on_a_fixed_batch() {
        use clap::ValueEnum;
        for &loss in Loss::value_variants() {
            let (_, g, mut d, real, noise) = setup();
            let mut optim = crate::optim::adam(&crate::optim::AdamSettings::default());
            let mut losses = Vec::new();
            let mut scores = Vec::new();
            for _ in 0..8 {
                let fake = g.forward(noise.clone(), None).detach();
                let (next, step) = discriminator_step(
                    (d, None),
                    &mut optim,
                    (real.clone(), fake),
                    None,
                    (loss, 2e-4),
                    None,
                );
                d = next;
                losses.push(scalar(step.loss));
                scores.push((scalar(step.d_real), scalar(step.d_fake)));
            }
            let name = loss.name();
            assert!(
                losses[7] < 0.7 * losses[0],
                "{name}: D's loss went {losses:?}"
            );
            // D learns to tell them apart: D(x) rises above D(G(z)).
            let (real, fake) = scores[7];
            assert!(
                real > fake && (0.0..=1.0).contains(&real),
                "{name}: D(x) {real}, D(G(z)) {fake}"
            );
        }
    }

    /// With every loss, G steps against a fixed D lower G's loss.
    #[test]
    fn generator_steps_lower_its_loss_against_a_fixed_discriminator() {
        use clap::ValueEnum;
        for &loss in Loss::value_variants() {
            let (_, mut g, d, _, noise) = setup();
            let mut optim = crate::optim::adam(&crate::optim::AdamSettings::default());
            let mut losses = Vec::new();
            for _ in 0..8 {
                let fake = g.forward(noise.clone(), None);
                let (next, value) =
                    generator_step(g, (&d, None), &mut optim, (fake, None), (loss, 2e-4), None);
                g = next;
                losses.push(scalar(value));
            }
            assert!(
                losses[7] < losses[0],
                "{}: G's loss went {losses:?}",
                loss.name()
            );
            assert!(all_finite(&g));
        }
    }

    /// The largest magnitude of any parameter of `module`.
    fn largest<M: Module>(module: &M) -> f32 {
        struct Largest(f32);
        impl burn::module::ModuleVisitor for Largest {
            fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
                let max = param.val().abs().max().into_scalar();
                self.0 = self.0.max(max);
            }
        }
        let mut largest = Largest(0.0);
        module.visit(&mut largest);
        largest.0
    }

    /// The Wasserstein loss clips D after its step; an iteration without a G step (as
    /// `--d-steps` makes them) leaves G as it was.
    #[test]
    fn the_wasserstein_critic_is_clipped_and_d_only_iterations_keep_g() {
        use rand::SeedableRng;
        let (device, _, _, real, noise) = setup();
        let recipe = crate::train::Recipe {
            loss: Loss::Wasserstein,
            weight_clip: 0.01,
            ..crate::train::Recipe::default()
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let arch = recipe.architecture().unwrap();
        let gan = Gan::new(&recipe, &arch, &mut rng, &device);
        assert!(largest(&gan.discriminator) > 0.01);
        let before = gan.generator.clone();
        let settings = recipe.step_settings();
        let (gan, losses, _) = train_iteration(
            gan,
            (real.clone(), None),
            (noise.clone(), None),
            settings,
            (false, false),
        );
        assert!(largest(&gan.discriminator) <= 0.01);
        assert!(losses.loss_g.is_finite());
        // G's weights (its BatchNorm moving statistics advance in every iteration).
        let weights = |g: &Generator| {
            let mut all = inspect::parameters(g, "G");
            all.retain(|(name, _)| !name.contains("running"));
            all
        };
        assert!(
            weights(&gan.generator) == weights(&before),
            "G kept its weights"
        );
        let (gan, _, _) =
            train_iteration(gan, (real, None), (noise, None), settings, (true, false));
        assert!(weights(&gan.generator) != weights(&before), "G stepped");
    }
}
