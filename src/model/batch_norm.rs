//! BatchNorm as dcgan's networks use it: TensorFlow's settings for the seed, PyTorch's for
//! the DCGAN paper's family, fused with the activation that follows it on the CPU, and the
//! moving averages' bookkeeping (fixed ids, pending updates, the correction for their start).

use burn::module::{ParamId, RunningState};
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::tensor::activation::{leaky_relu, relu};
use burn::tensor::{Device, Tensor};

use crate::kernels::ops as kernels;

/// TF's moving-average momentum, 0.99: `moving = 0.99 * moving + 0.01 * batch`.
pub const TF_MOMENTUM: f64 = 0.99;
/// TF's epsilon, 1e-3 (burn's default is 1e-5).
pub const TF_EPSILON: f64 = 1e-3;

/// PyTorch's `BatchNorm2d` momentum, 0.1, in burn's sense (the weight of the new batch),
/// which the DCGAN paper's family uses as pytorch/examples does.
pub const TORCH_MOMENTUM: f64 = 0.1;
/// PyTorch's epsilon, 1e-5.
pub const TORCH_EPSILON: f64 = 1e-5;

/// A BatchNorm over `features` channels: γ = 1, β = 0, moving mean 0 and moving variance 1,
/// `momentum` the weight of each new batch in the moving averages (burn's and PyTorch's
/// sense; TF's is one minus it). The moving statistics get the ids `id` and `id + 1` (see
/// [`number_params`](super::init::number_params) for why ids are fixed).
pub fn batch_norm(
    features: usize,
    momentum: f64,
    epsilon: f64,
    id: u64,
    device: &Device,
) -> BatchNorm {
    let mut bn = BatchNormConfig::new(features)
        .with_momentum(momentum)
        .with_epsilon(epsilon)
        .init(device);
    bn.running_mean = RunningState::with_id(ParamId::from(id), bn.running_mean.value());
    bn.running_var = RunningState::with_id(ParamId::from(id + 1), bn.running_var.value());
    bn
}

/// A BatchNorm with TF's settings, as the seed's layers have it (see [`batch_norm`]).
pub fn tf_batch_norm(features: usize, id: u64, device: &Device) -> BatchNorm {
    batch_norm(features, 1.0 - TF_MOMENTUM, TF_EPSILON, id, device)
}

/// The moving mean and variance of `bn`, with any pending update applied.
pub fn moving_statistics(bn: &BatchNorm) -> [Tensor<1>; 2] {
    [bn.running_mean.value_sync(), bn.running_var.value_sync()]
}

/// Applies once more the update that took `bn`'s moving statistics from `before` to their
/// current values, as a second forward pass on the same batch would: with burn's momentum
/// μ, `m1 = (1 - μ) m0 + μ b` gives `m2 = (1 - μ) m1 + μ b = m1 + (1 - μ) (m1 - m0)`.
pub fn repeat_update(bn: &BatchNorm, before: [Tensor<1>; 2]) {
    let [mean_before, var_before] = before;
    let [mean, var] = moving_statistics(bn);
    let keep = 1.0 - bn.momentum;
    let again = |now: Tensor<1>, then: Tensor<1>| now.clone() + (now - then).mul_scalar(keep);
    bn.running_mean.update(again(mean, mean_before));
    bn.running_var.update(again(var, var_before));
}

/// `bn` then a leaky ReLU of slope `leak` (0: a ReLU), as the seed's layers apply them.
///
/// On the CPU backend both run as one of dcgan's kernels: in training (an autodiff device
/// and a BatchNorm that trains) with batch statistics, the moving averages advancing
/// exactly as burn's BatchNorm advances them, and otherwise with the moving averages, as
/// burn's does. Elsewhere burn's layers run.
pub fn normalize_and_activate(bn: &BatchNorm, x: Tensor<4>, leak: f64) -> Tensor<4> {
    let device = x.device();
    if !kernels::supported(&x) {
        let y = bn.forward(x);
        return if leak == 0.0 {
            relu(y)
        } else {
            leaky_relu(y, leak)
        };
    }
    if !(device.is_autodiff() && bn.training.is_enabled()) {
        let stats = [
            bn.gamma.val(),
            bn.beta.val(),
            bn.running_mean.value().to_device(&device),
            bn.running_var.value().to_device(&device),
        ];
        return kernels::batch_norm_act_inference(x, stats, bn.epsilon, leak);
    }
    let (output, mean, variance) =
        kernels::batch_norm_act(x, bn.gamma.val(), bn.beta.val(), bn.epsilon, leak);
    let advance = |state: &RunningState<Tensor<1>>, batch: Tensor<1>| {
        let moved = state
            .value_sync()
            .to_device(&device)
            .mul_scalar(1.0 - bn.momentum)
            .add(batch.mul_scalar(bn.momentum));
        state.update(moved.detach());
    };
    advance(&bn.running_mean, mean);
    advance(&bn.running_var, variance);
    output
}

/// Corrects `bn`'s moving averages, after `updates` updates from their start (mean 0,
/// variance 1), for that start: each becomes the average of the batch statistics it has
/// seen, with the same weights but summing to one, `(m − dᵗ·m₀) / (1 − dᵗ)` for the
/// decay d (TF's momentum, 0.99). TensorFlow's `zero_debias_moving_mean` does this for
/// the mean; the variance, which starts at 1, needs the same correction. After a few
/// hundred updates dᵗ is negligible and nothing changes; after 100 steps (200 updates)
/// it is 0.13, enough to turn the seed's first samples black uncorrected.
///
/// After an update, the result has moving averages of its own and `bn` is left as it
/// was; with no update there is nothing to correct and the result is `bn`'s clone.
pub fn debiased(bn: &BatchNorm, updates: u64) -> BatchNorm {
    let mut out = bn.clone();
    if updates == 0 {
        return out;
    }
    let start_weight = (1.0 - bn.momentum).powf(updates as f64);
    let [mean, var] = moving_statistics(bn);
    let seen = 1.0 - start_weight;
    out.running_mean = RunningState::new(mean.div_scalar(seen));
    out.running_var =
        RunningState::new(var.sub_scalar(start_weight).div_scalar(seen).clamp_min(0.0));
    out
}

/// Gives `bn` the moving statistics of `from` (current, pending update applied), keeping
/// `bn`'s own ids (burn's states take a value only as an update, applied here at once).
pub fn copy_moving_statistics(bn: &BatchNorm, from: &BatchNorm) {
    let [mean, var] = moving_statistics(from);
    bn.running_mean.update(mean);
    bn.running_var.update(var);
    sync(bn);
}

/// Applies the moving statistics' pending update.
///
/// burn keeps the latest update of a BatchNorm's moving averages pending, per thread,
/// until the layer's next forward pass; a record taken in between would hold values one
/// step old, and a run resumed from it would drift from an uninterrupted one.
pub fn sync(bn: &BatchNorm) {
    bn.running_mean.value_sync();
    bn.running_var.value_sync();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(t: Tensor<1>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn debiased_averages_of_a_steady_batch_are_its_statistics() {
        let device = Device::flex();
        let mut bn = tf_batch_norm(3, 1, &device);
        let (mean, var) = ([0.5f32, -2.0, 3.0], [0.25f32, 4.0, 1.0]);
        // 200 updates with the same batch statistics, from mean 0 and variance 1.
        let start = TF_MOMENTUM.powi(200) as f32;
        let moved = |batch: [f32; 3], init: f32| {
            let v: Vec<f32> = batch
                .iter()
                .map(|b| start * init + (1.0 - start) * b)
                .collect();
            Tensor::<1>::from_floats(v.as_slice(), &device)
        };
        bn.running_mean = RunningState::new(moved(mean, 0.0));
        bn.running_var = RunningState::new(moved(var, 1.0));
        let before = values(bn.running_var.value());
        let out = debiased(&bn, 200);
        for (got, want) in values(out.running_mean.value()).iter().zip(mean) {
            assert!((got - want).abs() < 1e-5, "mean {got} for {want}");
        }
        for (got, want) in values(out.running_var.value()).iter().zip(var) {
            assert!((got - want).abs() < 1e-5, "variance {got} for {want}");
        }
        assert_eq!(
            values(bn.running_var.value()),
            before,
            "bn itself unchanged"
        );
        // Before any update there is nothing to correct.
        assert_eq!(values(debiased(&bn, 0).running_var.value()), before);
    }
}
