//! The kernels of [`super::conv`] as burn operations on the `flex` backend, with their
//! backward passes for autodiff, and the tensor functions the model calls.

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::{DType, Device, Tensor, TensorData};

use super::batch_norm::{self, BatchNormShape};
use super::conv::{self, ConvGeometry};

/// TF 'SAME' convolutions as backend operations.
#[backend_extension(Flex, Autodiff)]
pub trait TfConvBackend: Backend {
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

/// A TF 'SAME' convolution (see [`TfConvBackend::tf_conv2d`]); only where [`supported`].
pub fn conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>, stride: usize) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as TfConvBackend>::tf_conv2d(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        stride,
    ))
}

/// A TF 'SAME' transposed convolution (see [`TfConvBackend::tf_conv_transpose2d`]); only
/// where [`supported`].
pub fn conv_transpose2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Tensor<1>,
    stride: usize,
) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as TfConvBackend>::tf_conv_transpose2d(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        stride,
    ))
}

/// Training-mode BatchNorm and activation (see [`TfConvBackend::tf_batch_norm_act`]);
/// only where [`supported`]. Returns the output, the batch mean and the biased variance.
pub fn batch_norm_act(
    x: Tensor<4>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
    leak: f64,
) -> (Tensor<4>, Tensor<1>, Tensor<1>) {
    let (out, mean, variance) = <Dispatch as TfConvBackend>::tf_batch_norm_act(
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
/// [`TfConvBackend::tf_batch_norm_act_inference`]); only where [`supported`].
pub fn batch_norm_act_inference(
    x: Tensor<4>,
    [gamma, beta, mean, variance]: [Tensor<1>; 4],
    epsilon: f64,
    leak: f64,
) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as TfConvBackend>::tf_batch_norm_act_inference(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        mean.into_dispatch(),
        variance.into_dispatch(),
        epsilon,
        leak,
    ))
}

/// A leaky ReLU in one pass each way (see [`TfConvBackend::tf_leaky_relu`]); only where
/// [`supported`].
pub fn leaky_relu(x: Tensor<4>, slope: f64) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as TfConvBackend>::tf_leaky_relu(
        x.into_dispatch(),
        slope,
    ))
}

/// The shape of a fused BatchNorm from its input's dimensions.
fn batch_norm_shape(dims: &[usize], epsilon: f64, leak: f64) -> BatchNormShape {
    BatchNormShape {
        batch: dims[0],
        channels: dims[1],
        positions: dims[2..].iter().product(),
        epsilon,
        leak,
    }
}

/// A flex tensor's dimensions and its values in row-major order.
fn values(tensor: &FlexTensor) -> (Vec<usize>, std::borrow::Cow<'_, [f32]>) {
    assert_eq!(
        tensor.dtype(),
        DType::F32,
        "dcgan's kernels take f32 tensors"
    );
    let dims = tensor.layout().shape().to_vec();
    let len: usize = dims.iter().product();
    let layout = tensor.layout();
    let values = if layout.is_contiguous() && layout.start_offset() == 0 {
        std::borrow::Cow::Borrowed(&tensor.storage::<f32>()[..len])
    } else {
        std::borrow::Cow::Owned(tensor.to_contiguous().storage::<f32>()[..len].to_vec())
    };
    (dims, values)
}

fn flex_tensor(values: Vec<f32>, dims: [usize; 4]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, dims))
}

fn flex_vector(values: Vec<f32>) -> FlexTensor {
    let len = values.len();
    FlexTensor::from_data(TensorData::new(values, [len]))
}

/// The geometry of a strided convolution from its input's and weight's dimensions.
fn conv_geometry(x: &[usize], weight: &[usize], stride: usize) -> ConvGeometry {
    assert_eq!(
        x[1], weight[1],
        "input channels of the input and the weight"
    );
    assert_eq!(weight[2], weight[3], "a square kernel");
    ConvGeometry {
        batch: x[0],
        channels_in: x[1],
        height_in: x[2],
        width_in: x[3],
        channels_out: weight[0],
        kernel: weight[2],
        stride,
    }
}

/// The geometry of the strided convolution whose input gradient a transposed convolution
/// of `x` (the small map) with `weight` `[c_in, c_out, k, k]` is.
fn transposed_geometry(x: &[usize], weight: &[usize], stride: usize) -> ConvGeometry {
    assert_eq!(
        x[1], weight[0],
        "input channels of the input and the weight"
    );
    assert_eq!(weight[2], weight[3], "a square kernel");
    ConvGeometry {
        batch: x[0],
        channels_in: weight[1],
        height_in: x[2] * stride,
        width_in: x[3] * stride,
        channels_out: weight[0],
        kernel: weight[2],
        stride,
    }
}

fn out_dims(g: &ConvGeometry) -> [usize; 4] {
    [g.batch, g.channels_out, g.height_out(), g.width_out()]
}

fn in_dims(g: &ConvGeometry) -> [usize; 4] {
    [g.batch, g.channels_in, g.height_in, g.width_in]
}

impl TfConvBackend for Flex {
    fn tf_conv2d(x: FlexTensor, weight: FlexTensor, bias: FlexTensor, stride: usize) -> FlexTensor {
        let (x_dims, x) = values(&x);
        let (w_dims, w) = values(&weight);
        let (_, b) = values(&bias);
        let g = conv_geometry(&x_dims, &w_dims, stride);
        flex_tensor(conv::forward(&g, &x, &w, &b), out_dims(&g))
    }

    fn tf_conv_transpose2d(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        stride: usize,
    ) -> FlexTensor {
        let (x_dims, x) = values(&x);
        let (w_dims, w) = values(&weight);
        let (_, b) = values(&bias);
        let g = transposed_geometry(&x_dims, &w_dims, stride);
        let mut out = conv::input_grad(&g, &x, &w);
        conv::add_channel_bias(&mut out, g.batch, &b);
        flex_tensor(out, in_dims(&g))
    }

    fn tf_batch_norm_act(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
        leak: f64,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let (dims, x) = values(&x);
        let (_, gamma) = values(&gamma);
        let (_, beta) = values(&beta);
        let shape = batch_norm_shape(&dims, epsilon, leak);
        let out = batch_norm::forward_train(&shape, &x, &gamma, &beta);
        let dims = [dims[0], dims[1], dims[2], dims[3]];
        (
            flex_tensor(out.output, dims),
            flex_vector(out.mean),
            flex_vector(out.variance),
        )
    }

    fn tf_leaky_relu(x: FlexTensor, slope: f64) -> FlexTensor {
        let (dims, x) = values(&x);
        let slope = slope as f32;
        let out = x
            .iter()
            .map(|&v| if v > 0.0 { v } else { v * slope })
            .collect();
        FlexTensor::from_data(TensorData::new(out, dims))
    }

    fn tf_batch_norm_act_inference(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        mean: FlexTensor,
        variance: FlexTensor,
        epsilon: f64,
        leak: f64,
    ) -> FlexTensor {
        let (dims, x) = values(&x);
        let stats = [&gamma, &beta, &mean, &variance].map(|t| values(t).1);
        let shape = batch_norm_shape(&dims, epsilon, leak);
        let out = batch_norm::forward_inference(&shape, &x, stats.each_ref().map(|v| &v[..]));
        flex_tensor(out, [dims[0], dims[1], dims[2], dims[3]])
    }
}

/// The backward pass of [`TfConvBackend::tf_leaky_relu`]: the output keeps the input's
/// sign, so it tells the slope.
#[derive(Debug)]
struct LeakyReluBackward;

impl Backward<Flex, 1> for LeakyReluBackward {
    type State = (FlexTensor, f64);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let Some(node) = node_x else { return };
        let (output, slope) = ops.state;
        let (dims, output) = values(&output);
        let (_, grad) = values(&grad);
        let slope = slope as f32;
        let grad_x = output
            .iter()
            .zip(grad.iter())
            .map(|(&y, &g)| if y > 0.0 { g } else { g * slope })
            .collect();
        grads.register::<Flex>(
            node.id,
            FlexTensor::from_data(TensorData::new(grad_x, dims)),
        );
    }
}

/// The backward pass of [`TfConvBackend::tf_batch_norm_act_inference`]: gradients for the
/// input, γ and β; the statistics are constants.
#[derive(Debug)]
struct BatchNormActInferenceBackward;

/// Checkpoints of the input, γ and β, the statistics, ε and the leak.
type BatchNormInferenceState = (NodeId, NodeId, NodeId, FlexTensor, FlexTensor, f64, f64);

impl Backward<Flex, 3> for BatchNormActInferenceBackward {
    type State = BatchNormInferenceState;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x_state, gamma_state, beta_state, mean, variance, epsilon, leak) = ops.state;
        let x = checkpointer.retrieve_node_output::<FlexTensor>(x_state);
        let gamma = checkpointer.retrieve_node_output::<FlexTensor>(gamma_state);
        let beta = checkpointer.retrieve_node_output::<FlexTensor>(beta_state);
        let (dims, x) = values(&x);
        let stats = [&gamma, &beta, &mean, &variance].map(|t| values(t).1);
        let (_, grad) = values(&grad);
        let shape = batch_norm_shape(&dims, epsilon, leak);
        let (grad_x, grad_gamma, grad_beta) =
            batch_norm::backward_inference(&shape, &x, stats.each_ref().map(|v| &v[..]), &grad);
        if let Some(node) = node_x {
            let dims = [dims[0], dims[1], dims[2], dims[3]];
            grads.register::<Flex>(node.id, flex_tensor(grad_x, dims));
        }
        if let Some(node) = node_gamma {
            grads.register::<Flex>(node.id, flex_vector(grad_gamma));
        }
        if let Some(node) = node_beta {
            grads.register::<Flex>(node.id, flex_vector(grad_beta));
        }
    }
}

/// The backward pass of [`TfConvBackend::tf_batch_norm_act`].
#[derive(Debug)]
struct BatchNormActBackward;

/// Checkpoints of the input, γ and β, the batch statistics, ε and the leak.
type BatchNormState = (NodeId, NodeId, NodeId, FlexTensor, FlexTensor, f64, f64);

impl Backward<Flex, 3> for BatchNormActBackward {
    type State = BatchNormState;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x_state, gamma_state, beta_state, mean, variance, epsilon, leak) = ops.state;
        let x = checkpointer.retrieve_node_output::<FlexTensor>(x_state);
        let gamma = checkpointer.retrieve_node_output::<FlexTensor>(gamma_state);
        let beta = checkpointer.retrieve_node_output::<FlexTensor>(beta_state);
        let (dims, x) = values(&x);
        let (_, gamma) = values(&gamma);
        let (_, beta) = values(&beta);
        let (_, mean) = values(&mean);
        let (_, variance) = values(&variance);
        let (_, grad) = values(&grad);
        let shape = batch_norm_shape(&dims, epsilon, leak);
        let (grad_x, grad_gamma, grad_beta) =
            batch_norm::backward_train(&shape, &x, &gamma, &beta, &mean, &variance, &grad);
        if let Some(node) = node_x {
            let dims = [dims[0], dims[1], dims[2], dims[3]];
            grads.register::<Flex>(node.id, flex_tensor(grad_x, dims));
        }
        if let Some(node) = node_gamma {
            grads.register::<Flex>(node.id, flex_vector(grad_gamma));
        }
        if let Some(node) = node_beta {
            grads.register::<Flex>(node.id, flex_vector(grad_beta));
        }
    }
}

/// The backward pass of [`TfConvBackend::tf_conv2d`].
#[derive(Debug)]
struct Conv2dBackward;

impl Backward<Flex, 3> for Conv2dBackward {
    type State = (NodeId, NodeId, usize);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x_state, weight_state, stride) = ops.state;
        let x = checkpointer.retrieve_node_output::<FlexTensor>(x_state);
        let weight = checkpointer.retrieve_node_output::<FlexTensor>(weight_state);
        let (x_dims, x) = values(&x);
        let (w_dims, w) = values(&weight);
        let (_, grad) = values(&grad);
        let g = conv_geometry(&x_dims, &w_dims, stride);
        if let Some(node) = node_x {
            let grad_x = conv::input_grad(&g, &grad, &w);
            grads.register::<Flex>(node.id, flex_tensor(grad_x, in_dims(&g)));
        }
        if let Some(node) = node_weight {
            let grad_w = conv::weight_grad(&g, &x, &grad);
            grads.register::<Flex>(
                node.id,
                flex_tensor(grad_w, [w_dims[0], w_dims[1], w_dims[2], w_dims[3]]),
            );
        }
        if let Some(node) = node_bias {
            let grad_b = conv::channel_sums(&grad, g.batch, g.channels_out);
            grads.register::<Flex>(node.id, flex_vector(grad_b));
        }
    }
}

/// The backward pass of [`TfConvBackend::tf_conv_transpose2d`]: the transposed
/// convolution is the input gradient of a strided one, so its own input gradient is that
/// convolution's forward pass and its weight gradient that convolution's weight gradient
/// with the roles of input and output swapped.
#[derive(Debug)]
struct ConvTranspose2dBackward;

impl Backward<Flex, 3> for ConvTranspose2dBackward {
    type State = (NodeId, NodeId, usize);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x_state, weight_state, stride) = ops.state;
        let x = checkpointer.retrieve_node_output::<FlexTensor>(x_state);
        let weight = checkpointer.retrieve_node_output::<FlexTensor>(weight_state);
        let (x_dims, x) = values(&x);
        let (w_dims, w) = values(&weight);
        let (_, grad) = values(&grad);
        let g = transposed_geometry(&x_dims, &w_dims, stride);
        if let Some(node) = node_x {
            let zero_bias = vec![0.0f32; g.channels_out];
            let grad_x = conv::forward(&g, &grad, &w, &zero_bias);
            grads.register::<Flex>(node.id, flex_tensor(grad_x, out_dims(&g)));
        }
        if let Some(node) = node_weight {
            let grad_w = conv::weight_grad(&g, &grad, &x);
            grads.register::<Flex>(
                node.id,
                flex_tensor(grad_w, [w_dims[0], w_dims[1], w_dims[2], w_dims[3]]),
            );
        }
        if let Some(node) = node_bias {
            let grad_b = conv::channel_sums(&grad, g.batch, g.channels_in);
            grads.register::<Flex>(node.id, flex_vector(grad_b));
        }
    }
}

impl<C: CheckpointStrategy> TfConvBackend for Autodiff<Flex, C> {
    fn tf_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: usize,
    ) -> FloatTensor<Self> {
        match Conv2dBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&x), prep.checkpoint(&weight), stride);
                let out = Flex::tf_conv2d(
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                    stride,
                );
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::tf_conv2d(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                stride,
            )),
        }
    }

    fn tf_conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: usize,
    ) -> FloatTensor<Self> {
        match ConvTranspose2dBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&x), prep.checkpoint(&weight), stride);
                let out = Flex::tf_conv_transpose2d(
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                    stride,
                );
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::tf_conv_transpose2d(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                stride,
            )),
        }
    }

    fn tf_batch_norm_act(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        leak: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        // The statistics leave as constants: the moving averages take no gradient.
        let constant = <FloatTensor<Self>>::new;
        match BatchNormActBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let (x_state, gamma_state, beta_state) = (
                    prep.checkpoint(&x),
                    prep.checkpoint(&gamma),
                    prep.checkpoint(&beta),
                );
                let (out, mean, variance) = Flex::tf_batch_norm_act(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    epsilon,
                    leak,
                );
                let state = (
                    x_state,
                    gamma_state,
                    beta_state,
                    mean.clone(),
                    variance.clone(),
                    epsilon,
                    leak,
                );
                (prep.finish(state, out), constant(mean), constant(variance))
            }
            OpsKind::UnTracked(prep) => {
                let (out, mean, variance) = Flex::tf_batch_norm_act(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    epsilon,
                    leak,
                );
                (prep.finish(out), constant(mean), constant(variance))
            }
        }
    }

    fn tf_leaky_relu(x: FloatTensor<Self>, slope: f64) -> FloatTensor<Self> {
        match LeakyReluBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let out = Flex::tf_leaky_relu(x.into_primitive(), slope);
                prep.finish((out.clone(), slope), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::tf_leaky_relu(x.into_primitive(), slope)),
        }
    }

    fn tf_batch_norm_act_inference(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        leak: f64,
    ) -> FloatTensor<Self> {
        let (mean, variance) = (mean.into_primitive(), variance.into_primitive());
        match BatchNormActInferenceBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let (x_state, gamma_state, beta_state) = (
                    prep.checkpoint(&x),
                    prep.checkpoint(&gamma),
                    prep.checkpoint(&beta),
                );
                let out = Flex::tf_batch_norm_act_inference(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    mean.clone(),
                    variance.clone(),
                    epsilon,
                    leak,
                );
                let state = (
                    x_state,
                    gamma_state,
                    beta_state,
                    mean,
                    variance,
                    epsilon,
                    leak,
                );
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::tf_batch_norm_act_inference(
                x.into_primitive(),
                gamma.into_primitive(),
                beta.into_primitive(),
                mean,
                variance,
                epsilon,
                leak,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::{Conv2dConfig, ConvTranspose2dConfig};
    use burn::tensor::Distribution;

    use crate::model::{TfConvTranspose2d, tf_same_padding};

    fn assert_close(got: Tensor<4>, want: Tensor<4>, what: &str) {
        assert_eq!(got.dims(), want.dims(), "{what}: shape");
        let scale: f32 = want.clone().abs().max().into_scalar();
        let diff: f32 = (got - want).abs().max().into_scalar();
        assert!(
            diff <= 1e-4 * scale.max(1e-6),
            "{what}: off by {diff} (scale {scale})"
        );
    }

    fn random<const D: usize>(dims: [usize; D], device: &Device) -> Tensor<D> {
        Tensor::random(dims, Distribution::Uniform(-1.0, 1.0), device)
    }

    /// Runs `forward` on a copy of `x` that needs a gradient and back-propagates
    /// `sum(output * r)`: the output and the gradients of the input, weight and bias.
    fn output_and_gradients(
        forward: impl Fn(Tensor<4>) -> Tensor<4>,
        x: &Tensor<4>,
        r: &Tensor<4>,
        weight: &Param<Tensor<4>>,
        bias: &Param<Tensor<1>>,
    ) -> [Tensor<4>; 4] {
        let x = Tensor::from_data(x.to_data(), &x.device()).require_grad();
        let y = forward(x.clone());
        let grads = (y.clone() * r.clone()).sum().backward();
        let grad = |t: Option<Tensor<4>>| t.expect("a gradient");
        let bias_grad = bias.grad(&grads).expect("a bias gradient");
        let bias_len = bias_grad.dims()[0];
        [
            y.inner(),
            grad(x.grad(&grads)),
            grad(weight.grad(&grads)),
            bias_grad.reshape([1, bias_len, 1, 1]),
        ]
    }

    /// The seed's layer shapes, smaller batches, and an odd size.
    const SHAPES: [(usize, usize, usize, usize, usize); 5] = [
        (3, 1, 28, 4, 2),
        (2, 3, 14, 5, 2),
        (5, 4, 7, 3, 2),
        (2, 3, 28, 2, 1),
        (2, 2, 9, 3, 2),
    ];

    #[test]
    fn conv2d_matches_burns_forward_and_gradients() {
        let device = Device::flex().autodiff();
        for (batch, c_in, size, c_out, stride) in SHAPES {
            let mut conv = Conv2dConfig::new([c_in, c_out], [5, 5])
                .with_stride([stride, stride])
                .init(&device);
            let (before, after) = tf_same_padding(size, 5, stride);
            conv.padding = PaddingConfig2d::Explicit(before, before, after, after);
            conv.bias = Some(Param::from_tensor(random([c_out], &device)));
            let x = random([batch, c_in, size, size], &device);
            let out = size.div_ceil(stride);
            let r = random([batch, c_out, out, out], &device);
            let bias = conv.bias.as_ref().unwrap();
            let theirs = output_and_gradients(|x| conv.forward(x), &x, &r, &conv.weight, bias);
            let ours = output_and_gradients(
                |x| conv2d(x, conv.weight.val(), bias.val(), stride),
                &x,
                &r,
                &conv.weight,
                bias,
            );
            for ((ours, theirs), what) in ours.into_iter().zip(theirs).zip(["y", "dx", "dw", "db"])
            {
                assert_close(
                    ours,
                    theirs,
                    &format!("{what} of conv {c_in}→{c_out} {size} s{stride}"),
                );
            }
        }
    }

    #[test]
    fn conv_transpose2d_matches_burns_forward_and_gradients() {
        let device = Device::flex().autodiff();
        for (batch, c_out, size, c_in, stride) in SHAPES {
            let mut conv = ConvTranspose2dConfig::new([c_in, c_out], [5, 5])
                .with_stride([stride, stride])
                .init(&device);
            conv.bias = Some(Param::from_tensor(random([c_out], &device)));
            let layer = TfConvTranspose2d::new(conv);
            let small = size.div_ceil(stride);
            let x = random([batch, c_in, small, small], &device);
            let r = random([batch, c_out, small * stride, small * stride], &device);
            let conv = &layer.conv;
            let bias = conv.bias.as_ref().unwrap();
            // burn's transposed convolution, cropped as TF's: the model's path elsewhere.
            let reference = |x: Tensor<4>| {
                let out = conv.forward(x);
                let [b, c, _, _] = out.dims();
                out.slice([0..b, 0..c, 0..small * stride, 0..small * stride])
            };
            let theirs = output_and_gradients(reference, &x, &r, &conv.weight, bias);
            let ours = output_and_gradients(
                |x| conv_transpose2d(x, conv.weight.val(), bias.val(), stride),
                &x,
                &r,
                &conv.weight,
                bias,
            );
            for ((ours, theirs), what) in ours.into_iter().zip(theirs).zip(["y", "dx", "dw", "db"])
            {
                assert_close(
                    ours,
                    theirs,
                    &format!("{what} of deconv {c_in}→{c_out} {small} s{stride}"),
                );
            }
        }
    }

    #[test]
    fn batch_norm_act_matches_burns_batch_norm_and_activation() {
        let device = Device::flex().autodiff();
        for (dims, leak) in [
            ([4, 3, 5, 5], 0.0),
            ([3, 6, 7, 7], 0.2),
            ([100, 2, 1, 1], 0.0),
        ] {
            let x = random(dims, &device).mul_scalar(2.0).add_scalar(0.5);
            let gamma = Param::from_tensor(random([dims[1]], &device).add_scalar(1.0));
            let beta = Param::from_tensor(random([dims[1]], &device));
            let r = random(dims, &device);
            let run = |fused: bool| {
                let x = Tensor::from_data(x.to_data(), &device).require_grad();
                let (y, mean, variance) = if fused {
                    batch_norm_act(x.clone(), gamma.val(), beta.val(), 1e-3, leak)
                } else {
                    let out = burn::tensor::module::batch_norm_train(
                        x.clone(),
                        gamma.val(),
                        beta.val(),
                        1e-3,
                    );
                    let y = burn::tensor::activation::leaky_relu(out.output, leak);
                    (y, out.mean, out.variance)
                };
                let grads = (y.clone() * r.clone()).sum().backward();
                let as4 = |t: Tensor<1>| t.reshape([1, dims[1], 1, 1]);
                [
                    y.inner(),
                    x.grad(&grads).expect("dx"),
                    as4(gamma.grad(&grads).expect("dγ")),
                    as4(beta.grad(&grads).expect("dβ")),
                    as4(mean.inner()),
                    as4(variance.inner()),
                ]
            };
            let (ours, theirs) = (run(true), run(false));
            let names = ["y", "dx", "dγ", "dβ", "mean", "variance"];
            for ((ours, theirs), what) in ours.into_iter().zip(theirs).zip(names) {
                assert_close(
                    ours,
                    theirs,
                    &format!("{what} of batch norm {dims:?}, leak {leak}"),
                );
            }
        }
    }

    #[test]
    fn inference_batch_norm_act_matches_burns() {
        for device in [Device::flex(), Device::flex().autodiff()] {
            let dims = [3, 4, 6, 6];
            let x = random(dims, &device).mul_scalar(2.0);
            let stat = |shift: f64| random::<1>([4], &device).add_scalar(shift);
            let [gamma, beta, mean, variance] = [stat(1.0), stat(0.0), stat(0.0), stat(1.5)];
            let stats = [gamma.clone(), beta.clone(), mean.clone(), variance.clone()];
            let ours = batch_norm_act_inference(x.clone(), stats, 1e-3, 0.2);
            let y = burn::tensor::module::batch_norm(x, gamma, beta, mean, variance, 1e-3);
            let theirs = burn::tensor::activation::leaky_relu(y, 0.2);
            assert_close(ours, theirs, "inference batch norm");
        }
        // With autodiff: the input's gradient is the slope times γ / √(v + ε).
        let device = Device::flex().autodiff();
        let x = random::<4>([2, 1, 3, 3], &device).require_grad();
        let ones = |v: f64| Tensor::<1>::ones([1], &device).mul_scalar(v);
        let stats = [ones(2.0), ones(0.0), ones(0.0), ones(4.0 - 1e-3)];
        let y = batch_norm_act_inference(x.clone(), stats, 1e-3, 0.2);
        let grads = y.sum().backward();
        let slope = x
            .clone()
            .inner()
            .greater_elem(0.0)
            .float()
            .mul_scalar(0.8)
            .add_scalar(0.2);
        assert_close(
            x.grad(&grads).unwrap(),
            slope.mul_scalar(1.0),
            "inference dx",
        );
    }

    #[test]
    fn leaky_relu_matches_burns() {
        let device = Device::flex().autodiff();
        let x = random::<4>([3, 4, 5, 5], &device);
        let r = random::<4>([3, 4, 5, 5], &device);
        let run = |ours: bool| {
            let x = Tensor::from_data(x.to_data(), &device).require_grad();
            let y = if ours {
                leaky_relu(x.clone(), 0.2)
            } else {
                burn::tensor::activation::leaky_relu(x.clone(), 0.2)
            };
            let grads = (y.clone() * r.clone()).sum().backward();
            [y.inner(), x.grad(&grads).expect("dx")]
        };
        for ((ours, theirs), what) in run(true).into_iter().zip(run(false)).zip(["y", "dx"]) {
            assert_close(ours, theirs, what);
        }
    }

    #[test]
    fn runs_only_on_flex_f32() {
        let device = Device::flex();
        assert!(supported(&random([1, 1, 4, 4], &device)));
        assert!(supported(&random([1, 1, 4, 4], &device.clone().autodiff())));
        let half = random::<4>([1, 1, 4, 4], &device).cast(DType::F16);
        assert!(!supported(&half));
    }
}
