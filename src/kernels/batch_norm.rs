//! Training-mode BatchNorm fused with the (leaky) ReLU after it, forward and backward, on
//! plain `f32` slices in NCHW order.
//!
//! burn's CPU BatchNorm makes about a dozen passes over the activations (transposes, means,
//! broadcasts), and the activation after it two more each way; these kernels make two in
//! each direction. Sums are accumulated in f64.
//!
//! In a run on several processes each holds a slice of the batch, and the statistics are
//! the whole batch's (synchronised BatchNorm): the per-channel sums of the forward pass (of
//! the values, then of the squares about the mean) and the two of the backward pass are
//! added over the processes ([`World::sum_f64`]), unless the run asked for each
//! process's own ([`set_local`], `--local-batch-norm`).

use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use super::simd;
use crate::processes::{World, world};

static LOCAL: AtomicBool = AtomicBool::new(false);

/// With `local`, training-mode BatchNorm takes its statistics over this process's slice of
/// the batch alone, in a run on several processes; by default, over the whole batch.
pub fn set_local(local: bool) {
    LOCAL.store(local, Ordering::Relaxed);
}

/// The processes whose slices make the batch the statistics are taken over: `None` when
/// this process's slice is the batch.
fn shared() -> Option<&'static World> {
    let world = world();
    (world.size() > 1 && !LOCAL.load(Ordering::Relaxed)).then_some(world)
}

/// Shape and settings of one fused BatchNorm + activation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchNormShape {
    /// Images.
    pub batch: usize,
    /// Channels, each normalised on its own.
    pub channels: usize,
    /// Positions per channel and image (height × width).
    pub positions: usize,
    /// Added to the variance before its square root.
    pub epsilon: f64,
    /// Slope of the activation below zero: 0 for ReLU, 0.2 for D's LeakyReLU.
    pub leak: f64,
}

impl BatchNormShape {
    fn len(&self) -> usize {
        self.batch * self.channels * self.positions
    }

    /// Values per channel, over `processes` equal slices of the batch.
    #[inline(always)]
    fn count(&self, processes: usize) -> f64 {
        (self.batch * self.positions * processes) as f64
    }

    /// The `positions`-long planes of channel `c`, one per image.
    #[inline(always)]
    fn planes<'a>(&self, values: &'a [f32], c: usize) -> impl Iterator<Item = &'a [f32]> {
        let (p, channels) = (self.positions, self.channels);
        (0..self.batch).map(move |b| &values[(b * channels + c) * p..][..p])
    }

    /// The leak as f32, to copy into a local before a loop: read through `&self` inside
    /// one, it is reloaded and converted for every element, and the loop does not vectorise.
    #[inline(always)]
    fn leak(&self) -> f32 {
        self.leak as f32
    }
}

/// The activation: `y`, or `leak · y` below zero.
#[inline(always)]
fn activate(y: f32, leak: f32) -> f32 {
    if y > 0.0 { y } else { y * leak }
}

/// The activation's slope at `y`.
#[inline(always)]
fn slope(y: f32, leak: f32) -> f32 {
    if y > 0.0 { 1.0 } else { leak }
}

/// Lanes of the partial sums below: independent f32 accumulators the compiler keeps in one
/// SIMD register, instead of one f64 chain that waits for each addition.
const LANES: usize = 8;

/// `Σ f(v)` over one plane: f32 partial sums in [`LANES`] lanes (a few hundred terms each at
/// most), added in f64.
#[inline(always)]
pub(super) fn lane_sum(values: &[f32], f: impl Fn(f32) -> f32) -> f64 {
    lane_sum2(values, values, |v, _| f(v))
}

/// `Σ f(a, b)` over two planes of the same length, as [`lane_sum`].
#[inline(always)]
fn lane_sum2(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f64 {
    let mut lanes = [0.0f32; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f64 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(&a, &b)| f64::from(f(a, b)))
        .sum();
    for (a, b) in a_chunks.zip(b_chunks) {
        for lane in 0..LANES {
            lanes[lane] += f(a[lane], b[lane]);
        }
    }
    lanes.iter().map(|&v| f64::from(v)).sum::<f64>() + tail
}

/// What the forward pass returns: the activations and the batch statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNormOutput {
    /// `act(γ (x − mean) / √(var + ε) + β)`, the input's shape.
    pub output: Vec<f32>,
    /// Mean of each channel.
    pub mean: Vec<f32>,
    /// Biased variance of each channel (divided by the count, as TF's moving average takes it).
    pub variance: Vec<f32>,
}

simd::multiversion! {
    /// The forward pass with batch statistics.
    ///
    /// # Shapes
    /// - x: `[batch, channels, positions]`
    /// - gamma, beta: `[channels]`
    pub fn forward_train(
        shape: &BatchNormShape,
        x: &[f32],
        gamma: &[f32],
        beta: &[f32],
    ) -> BatchNormOutput {
        assert_eq!(x.len(), shape.len(), "batch norm input size");
        let shared = shared();
        let count = shape.count(shared.map_or(1, World::size));
        // Two passes (the mean, then squares about it) keep the variance exact when the mean is
        // large against the spread.
        let mut sums: Vec<f64> = (0..shape.channels)
            .into_par_iter()
            .map(|c| shape.planes(x, c).map(|p| lane_sum(p, |v| v)).sum())
            .collect();
        if let Some(world) = shared {
            world.sum_f64(&mut sums);
        }
        let mean: Vec<f32> = sums.iter().map(|&sum| (sum / count) as f32).collect();
        let mut squares: Vec<f64> = (0..shape.channels)
            .into_par_iter()
            .map(|c| {
                let m = mean[c];
                shape
                    .planes(x, c)
                    .map(|p| lane_sum(p, |v| (v - m) * (v - m)))
                    .sum()
            })
            .collect();
        if let Some(world) = shared {
            world.sum_f64(&mut squares);
        }
        let variance: Vec<f32> = squares.iter().map(|&sq| (sq / count) as f32).collect();
        BatchNormOutput {
            output: normalize(shape, x, [gamma, beta, &mean, &variance]),
            mean,
            variance,
        }
    }
}

/// `γ / √(var + ε)` and `β − mean · γ / √(var + ε)`: the output before the activation is
/// `x · scale + shift`.
#[inline(always)]
fn scale_and_shift(
    shape: &BatchNormShape,
    gamma: f32,
    beta: f32,
    mean: f32,
    var: f32,
) -> (f32, f32) {
    let inv_std = 1.0 / (f64::from(var) + shape.epsilon).sqrt();
    let scale = f64::from(gamma) * inv_std;
    (
        scale as f32,
        (f64::from(beta) - f64::from(mean) * scale) as f32,
    )
}

simd::multiversion! {
    /// The gradients of [`forward_train`] with respect to `x`, `gamma` and `beta`, given the
    /// gradient of its output and the statistics it returned.
    pub fn backward_train(
        shape: &BatchNormShape,
        x: &[f32],
        statistics: [&[f32]; 4],
        grad_output: &[f32],
    ) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let [gamma, beta, mean, variance] = statistics;
        assert_eq!(x.len(), shape.len(), "batch norm input size");
        assert_eq!(
            grad_output.len(),
            shape.len(),
            "batch norm output gradient size"
        );
        let inv_std: Vec<f64> = variance
            .iter()
            .map(|&v| 1.0 / (f64::from(v) + shape.epsilon).sqrt())
            .collect();
        // Per channel: Σ g and Σ g·x̂, with g the gradient before the activation.
        let (grad_beta, grad_gamma): (Vec<f64>, Vec<f64>) = (0..shape.channels)
            .into_par_iter()
            .map(|c| {
                let (scale, shift) =
                    scale_and_shift(shape, gamma[c], beta[c], mean[c], variance[c]);
                let (mu, inv, leak) = (mean[c], inv_std[c] as f32, shape.leak());
                let (mut sum, mut sum_normalized) = (0.0f64, 0.0f64);
                for (x, g) in shape.planes(x, c).zip(shape.planes(grad_output, c)) {
                    sum += lane_sum2(x, g, |x, g| g * slope(x * scale + shift, leak));
                    sum_normalized += lane_sum2(x, g, |x, g| {
                        g * slope(x * scale + shift, leak) * (x - mu) * inv
                    });
                }
                (sum, sum_normalized)
            })
            .unzip();
        // The input's gradient takes the means of both sums over the whole batch; γ's and β's
        // are this process's, which the gradients' average over the processes completes.
        let shared = shared();
        let count = shape.count(shared.map_or(1, World::size));
        let whole = shared.map(|world| {
            let mut both = [&grad_beta[..], &grad_gamma[..]].concat();
            world.sum_f64(&mut both);
            both
        });
        let (sum_g, sum_gx) = match &whole {
            Some(both) => both.split_at(shape.channels),
            None => (&grad_beta[..], &grad_gamma[..]),
        };
        let p = shape.positions;
        let grad_x = super::buffer::filled_by_chunks(x.len(), p, |plane, out| {
            let (x, g) = (&x[plane * p..][..p], &grad_output[plane * p..][..p]);
            let c = plane % shape.channels;
            let (scale, shift) =
                scale_and_shift(shape, gamma[c], beta[c], mean[c], variance[c]);
            let mean_g = (sum_g[c] / count) as f32;
            let mean_gx = (sum_gx[c] / count) as f32;
            let (mu, inv, leak) = (mean[c], inv_std[c] as f32, shape.leak());
            for ((out, &x), &g) in out.iter_mut().zip(x).zip(g) {
                let g = g * slope(x * scale + shift, leak);
                let normalized = (x - mu) * inv;
                *out = scale * (g - mean_g - normalized * mean_gx);
            }
        });
        let to_f32 = |v: Vec<f64>| v.into_iter().map(|v| v as f32).collect();
        (grad_x, to_f32(grad_gamma), to_f32(grad_beta))
    }
}

/// The forward pass with given statistics (the moving averages, at inference):
/// `act(γ (x − mean) / √(var + ε) + β)`.
///
/// # Shapes
/// - x: `[batch, channels, positions]`
/// - gamma, beta, mean, variance: `[channels]`
pub fn forward_inference(
    shape: &BatchNormShape,
    x: &[f32],
    [gamma, beta, mean, variance]: [&[f32]; 4],
) -> Vec<f32> {
    assert_eq!(x.len(), shape.len(), "batch norm input size");
    normalize(shape, x, [gamma, beta, mean, variance])
}

simd::multiversion! {
    /// `act(γ (x − mean) / √(var + ε) + β)` for every value, with the statistics given.
    fn normalize(
        shape: &BatchNormShape,
        x: &[f32],
        statistics: [&[f32]; 4],
    ) -> Vec<f32> {
        let [gamma, beta, mean, variance] = statistics;
        let p = shape.positions;
        super::buffer::filled_by_chunks(x.len(), p, |plane, out| {
            let x = &x[plane * p..][..p];
            let c = plane % shape.channels;
            let (scale, shift) =
                scale_and_shift(shape, gamma[c], beta[c], mean[c], variance[c]);
            let leak = shape.leak();
            for (out, &x) in out.iter_mut().zip(x) {
                *out = activate(x * scale + shift, leak);
            }
        })
    }
}

/// The gradients of [`forward_inference`] with respect to `x`, `gamma` and `beta` (the
/// statistics are constants there).
pub fn backward_inference(
    shape: &BatchNormShape,
    x: &[f32],
    [gamma, beta, mean, variance]: [&[f32]; 4],
    grad_output: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    assert_eq!(x.len(), shape.len(), "batch norm input size");
    assert_eq!(
        grad_output.len(),
        shape.len(),
        "batch norm output gradient size"
    );
    let mut grad_x = super::buffer::zeroed(x.len());
    let (mut grad_gamma, mut grad_beta) =
        (vec![0.0f64; shape.channels], vec![0.0f64; shape.channels]);
    for (plane, ((out, x), g)) in grad_x
        .chunks_mut(shape.positions)
        .zip(x.chunks(shape.positions))
        .zip(grad_output.chunks(shape.positions))
        .enumerate()
    {
        let c = plane % shape.channels;
        let (scale, shift) = scale_and_shift(shape, gamma[c], beta[c], mean[c], variance[c]);
        let inv_std = 1.0 / (f64::from(variance[c]) + shape.epsilon).sqrt();
        let leak = shape.leak();
        for ((out, &x), &g) in out.iter_mut().zip(x).zip(g) {
            let g = g * slope(x * scale + shift, leak);
            *out = g * scale;
            grad_beta[c] += f64::from(g);
            grad_gamma[c] += f64::from(g) * (f64::from(x) - f64::from(mean[c])) * inv_std;
        }
    }
    let to_f32 = |v: Vec<f64>| v.into_iter().map(|v| v as f32).collect();
    (grad_x, to_f32(grad_gamma), to_f32(grad_beta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The loss `Σ r · forward(x)`, in f64 from the definition.
    fn loss(shape: &BatchNormShape, x: &[f64], gamma: &[f64], beta: &[f64], r: &[f64]) -> f64 {
        let mut total = 0.0;
        for c in 0..shape.channels {
            let idx: Vec<usize> = (0..shape.batch)
                .flat_map(|b| {
                    (0..shape.positions)
                        .map(move |p| (b * shape.channels + c) * shape.positions + p)
                })
                .collect();
            let mean = idx.iter().map(|&i| x[i]).sum::<f64>() / idx.len() as f64;
            let var = idx.iter().map(|&i| (x[i] - mean).powi(2)).sum::<f64>() / idx.len() as f64;
            for &i in &idx {
                let y = gamma[c] * (x[i] - mean) / (var + shape.epsilon).sqrt() + beta[c];
                total += r[i] * if y > 0.0 { y } else { y * shape.leak };
            }
        }
        total
    }

    #[test]
    fn forward_and_backward_match_the_definition() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for leak in [0.0, 0.2] {
            let shape = BatchNormShape {
                batch: 3,
                channels: 2,
                positions: 5,
                epsilon: 1e-3,
                leak,
            };
            let mut random = |n: usize, lo: f32, hi: f32| -> Vec<f32> {
                (0..n).map(|_| rng.random_range(lo..hi)).collect()
            };
            let x = random(shape.len(), -2.0, 3.0);
            let gamma = random(2, 0.5, 1.5);
            let beta = random(2, -0.3, 0.3);
            let r = random(shape.len(), -1.0, 1.0);
            let out = forward_train(&shape, &x, &gamma, &beta);
            let f64s = |v: &[f32]| v.iter().map(|&v| f64::from(v)).collect::<Vec<_>>();
            let (x64, g64, b64, r64) = (f64s(&x), f64s(&gamma), f64s(&beta), f64s(&r));

            let want = loss(&shape, &x64, &g64, &b64, &r64);
            let got: f64 = out
                .output
                .iter()
                .zip(&r64)
                .map(|(&y, r)| f64::from(y) * r)
                .sum();
            assert!(
                (got - want).abs() < 1e-4 * want.abs().max(1.0),
                "{got} vs {want}"
            );

            let (gx, gg, gb) =
                backward_train(&shape, &x, [&gamma, &beta, &out.mean, &out.variance], &r);
            // Central differences of the f64 loss.
            let h = 1e-6;
            let numeric = |i: usize, which: u8| {
                let (mut xp, mut gp, mut bp) = (x64.clone(), g64.clone(), b64.clone());
                let (mut xm, mut gm, mut bm) = (x64.clone(), g64.clone(), b64.clone());
                match which {
                    0 => (xp[i] += h, xm[i] -= h),
                    1 => (gp[i] += h, gm[i] -= h),
                    _ => (bp[i] += h, bm[i] -= h),
                };
                (loss(&shape, &xp, &gp, &bp, &r64) - loss(&shape, &xm, &gm, &bm, &r64)) / (2.0 * h)
            };
            for (i, &g) in gx.iter().enumerate() {
                let want = numeric(i, 0);
                assert!(
                    (f64::from(g) - want).abs() < 1e-3,
                    "dx[{i}] {g} vs {want} (leak {leak})"
                );
            }
            for c in 0..2 {
                let (want_g, want_b) = (numeric(c, 1), numeric(c, 2));
                assert!(
                    (f64::from(gg[c]) - want_g).abs() < 1e-3,
                    "dγ[{c}] {} vs {want_g}",
                    gg[c]
                );
                assert!(
                    (f64::from(gb[c]) - want_b).abs() < 1e-3,
                    "dβ[{c}] {} vs {want_b}",
                    gb[c]
                );
            }
        }
    }

    #[test]
    fn inference_forward_and_backward_match_the_definition() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let shape = BatchNormShape {
            batch: 2,
            channels: 3,
            positions: 4,
            epsilon: 1e-3,
            leak: 0.2,
        };
        let mut random = |n: usize, lo: f32, hi: f32| -> Vec<f32> {
            (0..n).map(|_| rng.random_range(lo..hi)).collect()
        };
        let x = random(shape.len(), -2.0, 2.0);
        let [gamma, beta, mean] = [
            random(3, 0.5, 1.5),
            random(3, -0.5, 0.5),
            random(3, -0.5, 0.5),
        ];
        let variance = random(3, 0.5, 2.0);
        let r = random(shape.len(), -1.0, 1.0);
        let stats = [&gamma[..], &beta, &mean, &variance];
        // Σ r · act(γ (x − m) / √(v + ε) + β) in f64, as a function of x, γ and β.
        let loss = |x: &[f64], gamma: &[f64], beta: &[f64]| -> f64 {
            (0..shape.len())
                .map(|i| {
                    let c = i / shape.positions % shape.channels;
                    let inv = 1.0 / (f64::from(variance[c]) + shape.epsilon).sqrt();
                    let y = gamma[c] * (x[i] - f64::from(mean[c])) * inv + beta[c];
                    f64::from(r[i]) * if y > 0.0 { y } else { 0.2 * y }
                })
                .sum()
        };
        let f64s = |v: &[f32]| v.iter().map(|&v| f64::from(v)).collect::<Vec<_>>();
        let (x64, g64, b64) = (f64s(&x), f64s(&gamma), f64s(&beta));
        let out = forward_inference(&shape, &x, stats);
        let got: f64 = out
            .iter()
            .zip(&r)
            .map(|(&y, &r)| f64::from(y) * f64::from(r))
            .sum();
        let want = loss(&x64, &g64, &b64);
        assert!(
            (got - want).abs() < 1e-4 * want.abs().max(1.0),
            "{got} vs {want}"
        );

        let (gx, gg, gb) = backward_inference(&shape, &x, stats, &r);
        let h = 1e-6;
        let bump = |v: &[f64], i: usize, by: f64| {
            let mut v = v.to_vec();
            v[i] += by;
            v
        };
        for (i, &g) in gx.iter().enumerate() {
            let want = (loss(&bump(&x64, i, h), &g64, &b64) - loss(&bump(&x64, i, -h), &g64, &b64))
                / (2.0 * h);
            assert!((f64::from(g) - want).abs() < 1e-3, "dx[{i}] {g} vs {want}");
        }
        for c in 0..3 {
            let want_g = (loss(&x64, &bump(&g64, c, h), &b64)
                - loss(&x64, &bump(&g64, c, -h), &b64))
                / (2.0 * h);
            let want_b = (loss(&x64, &g64, &bump(&b64, c, h))
                - loss(&x64, &g64, &bump(&b64, c, -h)))
                / (2.0 * h);
            assert!(
                (f64::from(gg[c]) - want_g).abs() < 1e-3,
                "dγ[{c}] {} vs {want_g}",
                gg[c]
            );
            assert!(
                (f64::from(gb[c]) - want_b).abs() < 1e-3,
                "dβ[{c}] {} vs {want_b}",
                gb[c]
            );
        }
    }
}
