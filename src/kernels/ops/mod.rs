//! dcgan's kernels as burn operations on the `flex` backend (`flex.rs`), with handwritten
//! backward passes for autodiff (`autodiff.rs`), and the tensor functions the model calls.

mod autodiff;
mod flex;
#[cfg(test)]
mod tests;

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, backend_extension};
use burn::tensor::{DType, Device, Tensor};

use super::batch_norm::BatchNormShape;

/// dcgan's kernels as backend operations: TF 'SAME' convolutions and transposed
/// convolutions, BatchNorm fused with its activation, and the leaky ReLU. Implemented for
/// `flex` and `Autodiff<flex>`; the model calls them only where [`supported`] says so.
#[backend_extension(Flex, Autodiff)]
pub trait CpuKernelOps: Backend {
    /// A strided convolution: `x` `[batch, c_in, h, w]`, `weight` `[c_out, c_in, k, k]`,
    /// `bias` `[c_out]` to `[batch, c_out, ceil(h / stride), ceil(w / stride)]`.
    fn tf_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: usize,
    ) -> FloatTensor<Self>;

    /// A transposed convolution: `x` `[batch, c_in, h, w]`, `weight` `[c_in, c_out, k, k]`,
    /// `bias` `[c_out]` to `[batch, c_out, h * stride, w * stride]`.
    fn tf_conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: usize,
    ) -> FloatTensor<Self>;

    /// Training-mode BatchNorm of `x` `[batch, channels, h, w]` with batch statistics,
    /// followed by a leaky ReLU of slope `leak` (0: ReLU). Returns the output, and each
    /// channel's batch mean and biased variance for the moving averages (constants).
    fn tf_batch_norm_act(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        leak: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// A leaky ReLU: `x`, or `slope · x` below zero.
    fn tf_leaky_relu(x: FloatTensor<Self>, slope: f64) -> FloatTensor<Self>;

    /// `tanh(x)`, on all threads; the same values as burn's (`f32::tanh` each way, its
    /// gradient `g · (1 − y²)`).
    fn tf_tanh(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// BatchNorm of `x` `[batch, channels, h, w]` with given statistics (the moving
    /// averages), followed by a leaky ReLU of slope `leak` (0: ReLU).
    #[allow(clippy::too_many_arguments)]
    fn tf_batch_norm_act_inference(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        leak: f64,
    ) -> FloatTensor<Self>;
}

/// True when [`conv2d`] and [`conv_transpose2d`] run on `x`: f32 tensors on the `flex`
/// backend, with or without autodiff.
pub fn supported(x: &Tensor<4>) -> bool {
    x.dtype() == DType::F32 && x.device().without_autodiff() == Device::flex()
}

/// A TF 'SAME' convolution (see [`CpuKernelOps::tf_conv2d`]); only where [`supported`].
pub fn conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>, stride: usize) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as CpuKernelOps>::tf_conv2d(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        stride,
    ))
}

/// A TF 'SAME' transposed convolution (see [`CpuKernelOps::tf_conv_transpose2d`]); only
/// where [`supported`].
pub fn conv_transpose2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Tensor<1>,
    stride: usize,
) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as CpuKernelOps>::tf_conv_transpose2d(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        stride,
    ))
}

/// Training-mode BatchNorm and activation (see [`CpuKernelOps::tf_batch_norm_act`]);
/// only where [`supported`]. Returns the output, the batch mean and the biased variance.
pub fn batch_norm_act(
    x: Tensor<4>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
    leak: f64,
) -> (Tensor<4>, Tensor<1>, Tensor<1>) {
    let (out, mean, variance) = <Dispatch as CpuKernelOps>::tf_batch_norm_act(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        epsilon,
        leak,
    );
    (
        Tensor::from_dispatch(out),
        Tensor::from_dispatch(mean),
        Tensor::from_dispatch(variance),
    )
}

/// BatchNorm with the given statistics and activation (see
/// [`CpuKernelOps::tf_batch_norm_act_inference`]); only where [`supported`].
pub fn batch_norm_act_inference(
    x: Tensor<4>,
    [gamma, beta, mean, variance]: [Tensor<1>; 4],
    epsilon: f64,
    leak: f64,
) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as CpuKernelOps>::tf_batch_norm_act_inference(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        mean.into_dispatch(),
        variance.into_dispatch(),
        epsilon,
        leak,
    ))
}

/// A leaky ReLU in one pass each way (see [`CpuKernelOps::tf_leaky_relu`]); only where
/// [`supported`].
pub fn leaky_relu(x: Tensor<4>, slope: f64) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as CpuKernelOps>::tf_leaky_relu(
        x.into_dispatch(),
        slope,
    ))
}

/// `tanh` on all threads (see [`CpuKernelOps::tf_tanh`]); only where [`supported`].
pub fn tanh(x: Tensor<4>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as CpuKernelOps>::tf_tanh(x.into_dispatch()))
}

/// Values of an elementwise operation each thread takes at a time.
const ELEMENTWISE_BLOCK: usize = 1 << 14;

super::simd::multiversion! {
    /// `out[i] = f(a[i], b[i])` on all threads (`b` may be empty, then `f` sees zeros),
    /// compiled for the CPU's SIMD level: the activations of a batch are megabytes, and
    /// burn's CPU backend (and these kernels before) ran them on one thread while the other
    /// waited.
    ///
    /// `f` should hold its constants by value (a `move` closure): one read through a
    /// reference is made again for every value, and the loop is not vectorised (a leaky
    /// ReLU's backward pass took 2.5 times as long as on one thread that way).
    pub(super) fn elementwise[F: Fn(f32, f32) -> f32 + Sync](
        a: &[f32],
        b: &[f32],
        f: F,
    ) -> Vec<f32> {
        assert!(b.is_empty() || b.len() == a.len(), "elementwise operands");
        super::buffer::filled_by_chunks(a.len(), ELEMENTWISE_BLOCK, |block, out| {
            let at = block * ELEMENTWISE_BLOCK;
            let a = &a[at..][..out.len()];
            match b.is_empty() {
                true => out.iter_mut().zip(a).for_each(|(o, &a)| *o = f(a, 0.0)),
                false => {
                    let b = &b[at..][..out.len()];
                    for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
                        *o = f(a, b);
                    }
                }
            }
        })
    }
}

/// The shape of a fused BatchNorm from its input's dimensions.
pub(super) fn batch_norm_shape(dims: &[usize], epsilon: f64, leak: f64) -> BatchNormShape {
    BatchNormShape {
        batch: dims[0],
        channels: dims[1],
        positions: dims[2..].iter().product(),
        epsilon,
        leak,
    }
}
