//! The agreement of another backend with the CPU backend on the seed model: shared by the
//! tests of the GPU paths (tests/wgpu.rs on lavapipe, tests/cubecl_cpu.rs on CubeCL's CPU
//! backend).

// Each test file uses the part it needs.
#![allow(dead_code)]

use burn::tensor::{Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use dcgan::picture::{Noise, uniform_noise};
use dcgan::train::step::train_iteration;
use dcgan::train::{Recipe, RunState, TrainConfig};

/// Outputs and losses of the two backends agree to this share of their scale: they add in
/// other orders (and lavapipe's `exp` and `log` are not the CPU's), nothing more.
pub const AGREE: f32 = 1e-4;

pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

/// The largest difference of `a` and `b`, relative to the larger of `b`'s scale and 1.
pub fn off(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

/// A seeded run's configuration (batch 8), its noise and a batch of random "real" images.
fn inputs() -> (TrainConfig, Noise, burn::tensor::TensorData) {
    let config = TrainConfig {
        recipe: Recipe {
            batch_size: 8,
            seed: 3,
            ..Recipe::default()
        },
        ..TrainConfig::default()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let noise = uniform_noise(8, 100, &mut rng);
    let pixels: Vec<f32> = (0..8 * 28 * 28)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    (
        config,
        noise,
        burn::tensor::TensorData::new(pixels, [8, 1, 28, 28]),
    )
}

/// From the same seeded weights and inputs (batch 8), G's images and D's logits of real
/// images on `other` and on the CPU backend agree to [`AGREE`] of their size.
pub fn forward_passes_agree(other: Device, name: &str) {
    let (config, noise, real) = inputs();
    let [cpu, theirs] = [Device::flex(), other].map(|device| {
        let (state, gan) = RunState::start(config.clone(), &device);
        let images = values(
            state
                .inference_generator(&gan)
                .forward(noise.to_tensor(&device), None),
        );
        let logits = values(
            gan.discriminator
                .forward(Tensor::from_data(real.clone(), &device), None)
                .logits,
        );
        (images, logits)
    });
    let (images, logits) = (off(&theirs.0, &cpu.0), off(&theirs.1, &cpu.1));
    eprintln!("{name} against the CPU: images {images:e}, logits {logits:e}");
    assert!(images <= AGREE, "G's images differ by {images:e}");
    assert!(logits <= AGREE, "D's logits differ by {logits:e}");
}

/// From the same seeded weights and inputs (batch 8): G's images, D's logits, and one whole
/// training iteration (D's step, then G's) on `other` and on the CPU backend agree: the
/// losses and D's outputs to [`AGREE`] of their size, every gradient tensor of both networks
/// to [`AGREE`] of its own scale, and the weights after Adam's first step but for rare sign
/// flips of near-zero gradients. `name` names `other` in the figures printed.
pub fn agrees_with_the_cpu(other: Device, name: &str) {
    let (config, noise, real) = inputs();
    let lr = config.recipe.step_settings().lr_g as f32;
    let devices = [Device::flex().autodiff(), other.autodiff()];
    let runs: Vec<_> = devices
        .iter()
        .map(|device| {
            let plain = device.clone().without_autodiff();
            let (state, gan) = RunState::start(config.clone(), device);
            // Inference: G's images and D's logits of real images.
            let g = state.inference_generator(&gan);
            let images = values(g.forward(noise.to_tensor(&plain), None));
            let d = gan.discriminator.clone();
            let logits = values(
                d.forward(Tensor::from_data(real.clone(), device), None)
                    .logits,
            );
            // A whole iteration: D's step, then G's, with both networks' gradients.
            let (gan, step, gradients) = train_iteration(
                gan,
                (Tensor::from_data(real.clone(), device), None),
                (noise.to_tensor(device), None),
                state.config.recipe.step_settings(),
                (true, true),
            );
            let losses = vec![step.loss_d, step.loss_g, step.d_real, step.d_fake];
            let gradients = gradients.expect("inspected");
            let gradients: Vec<_> = gradients
                .generator
                .into_iter()
                .chain(gradients.discriminator)
                .collect();
            let weights = dcgan::weights::generator_tensors(&state.inference_generator(&gan));
            (images, logits, losses, gradients, weights)
        })
        .collect();
    let (cpu, wgpu) = (&runs[0], &runs[1]);
    let images = off(&wgpu.0, &cpu.0);
    let logits = off(&wgpu.1, &cpu.1);
    let losses = off(&wgpu.2, &cpu.2);
    eprintln!("{name} against the CPU: images {images:e}, logits {logits:e}, losses {losses:e}");
    assert!(images <= AGREE, "G's images differ by {images:e}");
    assert!(logits <= AGREE, "D's logits differ by {logits:e}");
    assert!(
        losses <= AGREE,
        "losses differ by {losses:e}: {:?} vs {:?}",
        wgpu.2,
        cpu.2
    );
    // Every gradient tensor of both networks, each relative to its own scale.
    assert_eq!(wgpu.3.len(), cpu.3.len());
    // A convolution's bias just before BatchNorm gets no gradient in exact arithmetic
    // (BatchNorm takes each channel's mean out): both backends must give only rounding noise there, a millionth of the
    // network's largest gradient. Every other tensor agrees to its own scale.
    let largest = |prefix: &str| {
        cpu.3
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .flat_map(|(_, v)| v)
            .fold(0.0f32, |m, v| m.max(v.abs()))
    };
    let scale = |v: &[f32]| v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let mut worst = (0.0f32, String::new());
    for (i, ((name, ours), (_, theirs))) in wgpu.3.iter().zip(&cpu.3).enumerate() {
        let before_batch_norm = name.contains("conv")
            && name.ends_with(".bias")
            && cpu
                .3
                .get(i + 1)
                .is_some_and(|(next, _)| next.contains("/bn"));
        if before_batch_norm {
            let noise = 1e-6 * largest(&name[..1]);
            assert!(
                scale(ours) <= noise && scale(theirs) <= noise,
                "{name}: {:e} and {:e}, not rounding noise",
                scale(ours),
                scale(theirs)
            );
            continue;
        }
        let apart = ours
            .iter()
            .zip(theirs)
            .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()))
            / scale(theirs).max(f32::MIN_POSITIVE);
        if apart > worst.0 {
            worst = (apart, name.clone());
        }
    }
    eprintln!("gradients: worst {:e} ({})", worst.0, worst.1);
    assert!(
        worst.0 <= AGREE,
        "gradient {} differs by {:e}",
        worst.1,
        worst.0
    );
    // The updated weights: Adam's first step moves each weight by lr × g / (|g| + ε), so
    // by ±lr, except a gradient near zero whose sign the two roundings disagree on, which
    // moves the other way: such weights are 2 × lr apart, and they must be rare.
    let (mut flipped, mut total) = (0usize, 0usize);
    for ((name, _, ours), (_, _, theirs)) in wgpu.4.iter().zip(&cpu.4) {
        for (a, b) in ours.iter().zip(theirs) {
            let apart = (a - b).abs();
            assert!(apart <= 2.0 * lr * 1.001, "{name}: {a} vs {b}");
            flipped += usize::from(apart > 1e-6);
            total += 1;
        }
    }
    eprintln!("updated weights: {flipped} of {total} apart by more than 1e-6");
    assert!(
        flipped * 1000 <= total,
        "{flipped} of {total} weights moved differently"
    );
}
