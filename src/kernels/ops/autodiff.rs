//! [`CpuKernelOps`] on `Autodiff<Flex>`: each operation records its backward pass, which
//! calls dcgan's kernels for the gradients.

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::TensorData;

use super::flex::{
    conv_geometry, flex_tensor, flex_vector, in_dims, out_dims, transposed_geometry, values,
};
use super::{CpuKernelOps, batch_norm_shape, elementwise};
use crate::kernels::batch_norm;
use crate::kernels::{conv, precision};

/// The backward pass of [`CpuKernelOps::tf_leaky_relu`]: the output keeps the input's
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
        let grad_x = elementwise(
            &output,
            &grad,
            move |y, g| if y > 0.0 { g } else { g * slope },
        );
        grads.register::<Flex>(
            node.id,
            FlexTensor::from_data(TensorData::new(grad_x, dims)),
        );
    }
}

/// The backward pass of [`CpuKernelOps::tf_tanh`] from its output `y`: `g · (1 − y²)`,
/// computed as burn's is.
#[derive(Debug)]
struct TanhBackward;

impl Backward<Flex, 1> for TanhBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let Some(node) = node_x else { return };
        let (dims, output) = values(&ops.state);
        let (_, grad) = values(&grad);
        let grad_x = elementwise(&output, &grad, |y, g| g * (1.0 - y * y));
        grads.register::<Flex>(
            node.id,
            FlexTensor::from_data(TensorData::new(grad_x, dims)),
        );
    }
}

/// The backward pass of [`CpuKernelOps::tf_batch_norm_act`] (with `training`: the batch
/// statistics depend on the input) and of [`CpuKernelOps::tf_batch_norm_act_inference`]
/// (the statistics are constants): gradients for the input, γ and β.
#[derive(Debug)]
struct BatchNormActBackward {
    training: bool,
}

/// Checkpoints of the input, γ and β, the statistics, ε and the leak.
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
        let stats = [&gamma, &beta, &mean, &variance].map(|t| values(t).1);
        let stats = stats.each_ref().map(|v| &v[..]);
        let (_, grad) = values(&grad);
        let shape = batch_norm_shape(&dims, epsilon, leak);
        let (grad_x, grad_gamma, grad_beta) = match self.training {
            true => batch_norm::backward_train(&shape, &x, stats, &grad),
            false => batch_norm::backward_inference(&shape, &x, stats, &grad),
        };
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

/// The backward pass of [`CpuKernelOps::tf_conv2d`] and, with `transposed`, of
/// [`CpuKernelOps::tf_conv_transpose2d`]: the transposed convolution is the input gradient
/// of a strided one, so its own input gradient is that convolution's forward pass and its
/// weight gradient that convolution's weight gradient with input and output swapped.
#[derive(Debug)]
struct ConvBackward {
    transposed: bool,
}

impl Backward<Flex, 3> for ConvBackward {
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
        let transposed = self.transposed;
        let precision = precision::current();
        let g = match transposed {
            true => transposed_geometry(&x_dims, &w_dims, stride),
            false => conv_geometry(&x_dims, &w_dims, stride),
        };
        if let Some(node) = node_x {
            let grad_x = match transposed {
                true => {
                    let no_bias = vec![0.0f32; g.channels_out];
                    flex_tensor(
                        conv::forward(&g, &grad, &w, &no_bias, precision),
                        out_dims(&g),
                    )
                }
                false => flex_tensor(
                    conv::input_grad(&g, &grad, &w, None, precision),
                    in_dims(&g),
                ),
            };
            grads.register::<Flex>(node.id, grad_x);
        }
        if let Some(node) = node_weight {
            let grad_w = match transposed {
                true => conv::weight_grad(&g, &grad, &x, precision),
                false => conv::weight_grad(&g, &x, &grad, precision),
            };
            let dims = [w_dims[0], w_dims[1], w_dims[2], w_dims[3]];
            grads.register::<Flex>(node.id, flex_tensor(grad_w, dims));
        }
        if let Some(node) = node_bias {
            let channels = if transposed {
                g.channels_in
            } else {
                g.channels_out
            };
            let grad_b = conv::channel_sums(&grad, g.batch, channels);
            grads.register::<Flex>(node.id, flex_vector(grad_b));
        }
    }
}

/// Runs a (transposed) convolution on flex and records its backward pass when any input
/// is tracked.
fn record_conv<C: CheckpointStrategy>(
    transposed: bool,
    [x, weight, bias]: [FloatTensor<Autodiff<Flex, C>>; 3],
    stride: usize,
) -> FloatTensor<Autodiff<Flex, C>> {
    let forward = match transposed {
        true => <Flex as CpuKernelOps>::tf_conv_transpose2d,
        false => <Flex as CpuKernelOps>::tf_conv2d,
    };
    let backward = ConvBackward { transposed };
    match backward
        .prepare::<C>([x.node(), weight.node(), bias.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let state = (prep.checkpoint(&x), prep.checkpoint(&weight), stride);
            let out = forward(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                stride,
            );
            prep.finish(state, out)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(
            x.into_primitive(),
            weight.into_primitive(),
            bias.into_primitive(),
            stride,
        )),
    }
}

impl<C: CheckpointStrategy> CpuKernelOps for Autodiff<Flex, C> {
    fn tf_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: usize,
    ) -> FloatTensor<Self> {
        record_conv::<C>(false, [x, weight, bias], stride)
    }

    fn tf_conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: usize,
    ) -> FloatTensor<Self> {
        record_conv::<C>(true, [x, weight, bias], stride)
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
        let backward = BatchNormActBackward { training: true };
        match backward
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

    fn tf_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match TanhBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let out = Flex::tf_tanh(x.into_primitive());
                prep.finish(out.clone(), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::tf_tanh(x.into_primitive())),
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
        let backward = BatchNormActBackward { training: false };
        match backward
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
