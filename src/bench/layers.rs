//! `dcgan bench --layers`: where one training iteration spends its time, layer by layer.
//!
//! Each layer of the seed model or of the paper family's runs on its own, on random input of the shape it sees in
//! training: the forward pass on the autodiff device (as in training, with the tape), then
//! the backward pass of `sum(output * r)` for a random `r`, which computes the same
//! gradients the real loss would send through the layer (weights, and the input where an
//! earlier layer needs it). The optimiser steps and the data pipeline are timed the same
//! way. A layer's figures include its BatchNorm and activation when it has them, as the
//! network applies them together.

use std::time::Instant;

use crate::model::tanh;
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Distribution, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::Timing;
use crate::data::{Batcher, Dataset};
use crate::model::batch_norm::normalize_and_activate;
use crate::model::{self, leaky_relu, paper, seed, tf_conv2d};
use crate::train::{Recipe, RunState, TrainConfig};

/// D's LeakyReLU slope, as in the model.
const LEAK: f64 = 0.2;

/// Timings of one part of the iteration.
#[derive(Debug, Clone, Serialize)]
pub struct PartTiming {
    /// What was timed, e.g. `G deconv1 128→64 7→14 + BN + ReLU`.
    pub name: String,
    /// How many times one training iteration runs it (D runs twice in the D step and once
    /// in the G step).
    pub per_iteration: usize,
    /// The forward pass (or the whole operation for the optimiser and data parts).
    pub forward: Timing,
    /// The backward pass; absent for parts without one.
    pub backward: Option<Timing>,
    /// The arithmetic of one forward and one backward pass, in FLOPs (a multiply-add
    /// counts two): the products of the convolution or the dense layer, not BatchNorm's or
    /// the activation's few; absent for the parts that are not layers.
    pub flops: Option<(f64, f64)>,
}

impl PartTiming {
    /// Median milliseconds this part costs one training iteration.
    pub fn ms_per_iteration(&self) -> f64 {
        let backward = self.backward.as_ref().map_or(0.0, |t| t.median_ms);
        (self.forward.median_ms + backward) * self.per_iteration as f64
    }
}

/// A layer under test: its input shape, whether that input needs a gradient, how many
/// times an iteration runs it, and the forward function.
struct Layer<'a> {
    name: String,
    input: [usize; 4],
    input_grad: bool,
    /// The layer's weights learn here (not in the G step's D, whose weights are constant).
    weight_grad: bool,
    /// Multiply-adds of the forward pass's product.
    macs: usize,
    per_iteration: usize,
    forward: Box<dyn Fn(Tensor<4>) -> Tensor<4> + 'a>,
}

/// The seed model's layers as a training iteration meets them: G once (its images serve
/// both steps), D on real and fake images in the D step (weight gradients; input gradients
/// from the second layer on), and D once more in the G step, with constant weights (input
/// gradients only). `frozen` is `d` with its parameters taken as constants.
fn seed_layers<'a>(
    g: &'a seed::Generator,
    d: &'a seed::Discriminator,
    frozen: &'a seed::Discriminator,
    batch: usize,
) -> Vec<Layer<'a>> {
    let mut layers = vec![
        Layer {
            name: "G fc 100→6272 + BN + ReLU".into(),
            input: [batch, 100, 1, 1],
            input_grad: false,
            weight_grad: true,
            macs: batch * 100 * 6272,
            per_iteration: 1,
            forward: Box::new(move |x: Tensor<4>| {
                let x =
                    g.fc.forward(x.flatten::<2>(1, 3))
                        .reshape([batch, 128, 7, 7]);
                normalize_and_activate(&g.bn0, x, 0.0)
            }),
        },
        Layer {
            name: "G deconv1 128→64 7→14 + BN + ReLU".into(),
            input: [batch, 128, 7, 7],
            input_grad: true,
            weight_grad: true,
            macs: batch * 7 * 7 * 128 * 64 * 25,
            per_iteration: 1,
            forward: Box::new(move |x| normalize_and_activate(&g.bn1, g.deconv1.forward(x), 0.0)),
        },
        Layer {
            name: "G deconv2 64→32 14→28 + BN + ReLU".into(),
            input: [batch, 64, 14, 14],
            input_grad: true,
            weight_grad: true,
            macs: batch * 14 * 14 * 64 * 32 * 25,
            per_iteration: 1,
            forward: Box::new(move |x| normalize_and_activate(&g.bn2, g.deconv2.forward(x), 0.0)),
        },
        Layer {
            name: "G deconv3 32→1 28→28 + tanh".into(),
            input: [batch, 32, 28, 28],
            input_grad: true,
            weight_grad: true,
            macs: batch * 28 * 28 * 32 * 25,
            per_iteration: 1,
            forward: Box::new(move |x| tanh(g.deconv3.forward(x))),
        },
    ];
    for (d, step, per_iteration, first_input_grad, weight_grad) in [
        (d, "D step", 2, false, true),
        (frozen, "G step", 1, true, false),
    ] {
        layers.extend([
            Layer {
                name: format!("D conv1 1→32 28→14 + LReLU, {step}"),
                input: [batch, 1, 28, 28],
                input_grad: first_input_grad,
                weight_grad,
                macs: batch * 14 * 14 * 32 * 25,
                per_iteration,
                forward: Box::new(move |x| leaky_relu(tf_conv2d(&d.conv1, x), LEAK)),
            },
            Layer {
                name: format!("D conv2 32→64 14→7 + BN + LReLU, {step}"),
                input: [batch, 32, 14, 14],
                input_grad: true,
                weight_grad,
                macs: batch * 7 * 7 * 64 * 32 * 25,
                per_iteration,
                forward: Box::new(move |x| {
                    normalize_and_activate(&d.bn2, tf_conv2d(&d.conv2, x), LEAK)
                }),
            },
            Layer {
                name: format!("D conv3 64→128 7→4 + BN + LReLU, {step}"),
                input: [batch, 64, 7, 7],
                input_grad: true,
                weight_grad,
                macs: batch * 4 * 4 * 128 * 64 * 25,
                per_iteration,
                forward: Box::new(move |x| {
                    normalize_and_activate(&d.bn3, tf_conv2d(&d.conv3, x), LEAK)
                }),
            },
            Layer {
                name: format!("D fc 2048→1, {step}"),
                input: [batch, 128, 4, 4],
                input_grad: true,
                weight_grad,
                macs: batch * 2048,
                per_iteration,
                forward: Box::new(move |x| {
                    d.fc.forward(x.flatten::<2>(1, 3)).reshape([batch, 1, 1, 1])
                }),
            },
        ]);
    }
    layers
}

/// The paper family's layers as a training iteration meets them (see [`seed_layers`]):
/// G's dense start and its stride-2 transposed convolutions, D's stride-2 convolutions and
/// its dense end, each with its BatchNorm and activation.
fn paper_layers<'a>(
    g: &'a paper::Generator,
    d: &'a paper::Discriminator,
    frozen: &'a paper::Discriminator,
    batch: usize,
) -> Vec<Layer<'a>> {
    let k = 4 * 4; // every convolution's kernel
    let nz = g.noise_dim();
    let start = g.start.weight.dims()[1];
    let c0 = start / 16;
    let mut layers = vec![Layer {
        name: format!("G start {nz}→{c0}×4×4 + BN + ReLU"),
        input: [batch, nz, 1, 1],
        input_grad: false,
        weight_grad: true,
        macs: batch * nz * start,
        per_iteration: 1,
        forward: Box::new(move |x: Tensor<4>| {
            let x = g
                .start
                .forward(x.flatten::<2>(1, 3))
                .reshape([batch, c0, 4, 4]);
            normalize_and_activate(&g.start_norm, x, 0.0)
        }),
    }];
    let mut side = 4;
    for (i, up) in g.ups.iter().enumerate() {
        let [c_in, c_out, _, _] = up.conv.weight.dims();
        let norm = g.norms.get(i);
        let after = if norm.is_some() { "BN + ReLU" } else { "tanh" };
        layers.push(Layer {
            name: format!("G up{} {c_in}→{c_out} {side}→{} + {after}", i + 1, 2 * side),
            input: [batch, c_in, side, side],
            input_grad: true,
            weight_grad: true,
            macs: batch * side * side * c_in * c_out * k,
            per_iteration: 1,
            forward: Box::new(move |x| match norm {
                Some(bn) => normalize_and_activate(bn, up.forward(x), 0.0),
                None => tanh(up.forward(x)),
            }),
        });
        side *= 2;
    }
    for (d, step, per_iteration, first_input_grad, weight_grad) in [
        (d, "D step", 2, false, true),
        (frozen, "G step", 1, true, false),
    ] {
        let mut side = side;
        for (i, conv) in d.convs.iter().enumerate() {
            let [c_out, c_in, _, _] = conv.weight.dims();
            let norm = i.checked_sub(1).map(|n| &d.norms[n]);
            let bn = if norm.is_some() { " + BN" } else { "" };
            layers.push(Layer {
                name: format!(
                    "D conv{} {c_in}→{c_out} {side}→{}{bn} + LReLU, {step}",
                    i + 1,
                    side / 2
                ),
                input: [batch, c_in, side, side],
                input_grad: i > 0 || first_input_grad,
                weight_grad,
                macs: batch * (side / 2) * (side / 2) * c_out * c_in * k,
                per_iteration,
                forward: Box::new(move |x| match norm {
                    Some(bn) => normalize_and_activate(bn, tf_conv2d(conv, x), LEAK),
                    None => leaky_relu(tf_conv2d(conv, x), LEAK),
                }),
            });
            side /= 2;
        }
        let flat = d.features_len();
        let c = flat / 16;
        layers.push(Layer {
            name: format!("D end {flat}→1, {step}"),
            input: [batch, c, 4, 4],
            input_grad: true,
            weight_grad,
            macs: batch * flat,
            per_iteration,
            forward: Box::new(move |x| d.score(x.flatten::<2>(1, 3)).reshape([batch, 1, 1, 1])),
        });
    }
    layers
}

/// Profiles every part of a training iteration of the networks `recipe` describes (its
/// batch size, image size, channels and widths) on `device` (an autodiff device), `iters`
/// timed runs after `warmup` untimed ones each.
pub fn profile(
    recipe: Recipe,
    iters: usize,
    warmup: usize,
    device: &Device,
) -> anyhow::Result<Vec<PartTiming>> {
    let arch = recipe.architecture()?;
    let batch = recipe.batch_size;
    let config = TrainConfig {
        recipe,
        ..TrainConfig::default()
    };
    let (_, gan) = RunState::start(config.clone(), device);
    let mut parts = Vec::new();
    let frozen = gan.discriminator.net.clone().no_grad();
    let layers = match (&gan.generator.net, &gan.discriminator.net, &frozen) {
        (
            model::GeneratorNet::Seed(g),
            model::DiscriminatorNet::Seed(d),
            model::DiscriminatorNet::Seed(frozen),
        ) => seed_layers(g, d, frozen, batch),
        (
            model::GeneratorNet::Paper(g),
            model::DiscriminatorNet::Paper(d),
            model::DiscriminatorNet::Paper(frozen),
        ) => paper_layers(g, d, frozen, batch),
        _ => unreachable!("G and D are of one family"),
    };
    for layer in layers {
        parts.push(time_layer(&layer, iters, warmup, device));
    }

    let lr = config.recipe.optimizer.lr;
    let (mut g, mut d) = (gan.generator, gan.discriminator);
    let (mut optim_g, mut optim_d) = (gan.optim_g, gan.optim_d);
    let (mut g_ms, mut d_ms) = (Vec::new(), Vec::new());
    for i in 0..warmup + iters {
        let shape = [batch, arch.noise_dim];
        let noise = Tensor::<2>::random(shape, Distribution::Uniform(-1.0, 1.0), device);
        let loss = d.forward(g.forward(noise, None), None).logits.mean();
        let mut grads = loss.backward();
        let grads_g = GradientsParams::from_module(&mut grads, &g);
        let grads_d = GradientsParams::from_module(&mut grads, &d);
        // On a GPU the backward pass is still queued: it must not count as G's step.
        sync(device);
        let start = Instant::now();
        g = optim_g.step(lr, g, grads_g);
        sync(device);
        let g_time = start.elapsed();
        let start = Instant::now();
        d = optim_d.step(lr, d, grads_d);
        sync(device);
        let d_time = start.elapsed();
        if i >= warmup {
            g_ms.push(g_time.as_secs_f64() * 1e3);
            d_ms.push(d_time.as_secs_f64() * 1e3);
        }
    }
    for (name, ms) in [("Adam step, G", g_ms), ("Adam step, D", d_ms)] {
        parts.push(PartTiming {
            name: name.into(),
            per_iteration: 1,
            forward: Timing::of(ms),
            backward: None,
            flops: None,
        });
    }
    parts.push(time_batching(
        [batch, arch.channels, arch.image_size, arch.image_size],
        iters,
        warmup,
        &device.clone().without_autodiff(),
    ));
    Ok(parts)
}

/// Times one layer's forward and backward passes.
fn time_layer(layer: &Layer, iters: usize, warmup: usize, device: &Device) -> PartTiming {
    let (mut forward_ms, mut backward_ms) = (Vec::new(), Vec::new());
    for i in 0..warmup + iters {
        let mut x = Tensor::<4>::random(layer.input, Distribution::Uniform(-1.0, 1.0), device);
        if layer.input_grad {
            x = x.require_grad();
        }
        sync(device);
        let start = Instant::now();
        let y = (layer.forward)(x);
        sync(device);
        let forward = start.elapsed();
        let r = Tensor::<4>::random(y.dims(), Distribution::Uniform(-1.0, 1.0), device);
        let loss = (y * r).sum();
        sync(device);
        let start = Instant::now();
        let grads = loss.backward();
        sync(device);
        let backward = start.elapsed();
        drop(grads);
        if i >= warmup {
            forward_ms.push(forward.as_secs_f64() * 1e3);
            backward_ms.push(backward.as_secs_f64() * 1e3);
        }
    }
    // The backward pass repeats the product once for the weights' gradient and once for
    // the input's, where each is wanted.
    let forward = 2.0 * layer.macs as f64;
    let backward =
        forward * (usize::from(layer.weight_grad) + usize::from(layer.input_grad)) as f64;
    PartTiming {
        name: layer.name.clone(),
        per_iteration: layer.per_iteration,
        forward: Timing::of(forward_ms),
        backward: Some(Timing::of(backward_ms)),
        flops: Some((forward, backward)),
    }
}

/// Times building one shuffled batch of `[batch, channels, side, side]` images from a data
/// set of 60000 28×28 images, or of as many larger ones as fit in about 47 MB.
fn time_batching(
    [batch, channels, side, _]: [usize; 4],
    iters: usize,
    warmup: usize,
    device: &Device,
) -> PartTiming {
    let image = channels * side * side;
    let len = (60_000 * 28 * 28 / image).max(batch);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let dataset = Dataset {
        len,
        channels,
        height: side,
        width: side,
        pixels: (0..len * image)
            .map(|i| (i * 31 % 256) as u8)
            .collect::<Vec<u8>>()
            .into(),
        labels: (0..len).map(|i| (i % 10) as u8).collect(),
        classes: Vec::new(),
    };
    let mut batcher = Batcher::new(&dataset, batch);
    batcher.shuffle(&mut rng);
    let mut ms = Vec::new();
    for i in 0..warmup + iters {
        let start = Instant::now();
        let images = batcher.batch(i % batcher.batches_per_epoch(), device);
        sync(device);
        if i >= warmup {
            ms.push(start.elapsed().as_secs_f64() * 1e3);
        }
        drop(images);
    }
    PartTiming {
        name: "data: one shuffled batch".into(),
        per_iteration: 1,
        forward: Timing::of(ms),
        backward: None,
        flops: None,
    }
}

/// Waits for the device's queued work (a no-op on the eager CPU backend).
fn sync(device: &Device) {
    // An error here would surface again at the next read; timing goes on regardless.
    let _ = device.sync();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both families are profiled layer by layer, each layer with the arithmetic of its
    /// product: the paper family at 16×16 has G's start and two transposed convolutions, D's
    /// two convolutions and its end, in the D step and the G step.
    #[test]
    fn both_families_are_profiled_with_their_flops() {
        let device = Device::flex().autodiff();
        let paper = Recipe {
            batch_size: 2,
            image_size: Some(16),
            channels: Some(3),
            g_width: Some(8),
            d_width: Some(8),
            ..Recipe::default()
        };
        let parts = profile(paper, 1, 0, &device).unwrap();
        let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names.len(), 3 + 2 * 3 + 3, "{names:?}");
        assert_eq!(names[1], "G up1 16→8 4→8 + BN + ReLU");
        assert_eq!(names[2], "G up2 8→3 8→16 + tanh");
        assert_eq!(names[3], "D conv1 3→8 16→8 + LReLU, D step");
        // G's first transposed convolution: 2 × batch × 4×4 inputs × 16 × 8 channels × 16.
        let (forward, backward) = parts[1].flops.unwrap();
        assert_eq!(forward, 2.0 * (2 * 16 * 16 * 8 * 16) as f64);
        assert_eq!(backward, 2.0 * forward, "weights' and input's gradients");
        // D's first layer in the D step needs no input gradient; in the G step, no weights'.
        assert_eq!(parts[3].flops.unwrap().1, parts[3].flops.unwrap().0);
        assert_eq!(parts[6].flops.unwrap().1, parts[6].flops.unwrap().0);
        assert!(parts.iter().all(|p| p.forward.median_ms > 0.0));
        let seed = profile(Recipe::default(), 1, 0, &device).unwrap();
        assert_eq!(seed[1].name, "G deconv1 128→64 7→14 + BN + ReLU");
        assert!(seed.iter().filter(|p| p.flops.is_some()).count() == 12);
    }
}
