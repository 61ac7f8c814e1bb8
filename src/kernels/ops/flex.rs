//! [`CpuKernelOps`] on the `flex` backend: tensors in, dcgan's kernels on their values,
//! tensors out.

use std::borrow::Cow;

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::tensor::{DType, TensorData};

use super::{CpuKernelOps, batch_norm_shape, elementwise};
use crate::kernels::conv::{self, ConvGeometry};
use crate::kernels::{batch_norm, precision};

/// A flex tensor's dimensions and its values in row-major order.
pub(super) fn values(tensor: &FlexTensor) -> (Vec<usize>, Cow<'_, [f32]>) {
    assert_eq!(
        tensor.dtype(),
        DType::F32,
        "dcgan's kernels take f32 tensors"
    );
    let dims = tensor.layout().shape().to_vec();
    let len: usize = dims.iter().product();
    let layout = tensor.layout();
    let values = if layout.is_contiguous() && layout.start_offset() == 0 {
        Cow::Borrowed(&tensor.storage::<f32>()[..len])
    } else {
        Cow::Owned(tensor.to_contiguous().storage::<f32>()[..len].to_vec())
    };
    (dims, values)
}

pub(super) fn flex_tensor(values: Vec<f32>, dims: [usize; 4]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, dims))
}

pub(super) fn flex_vector(values: Vec<f32>) -> FlexTensor {
    let len = values.len();
    FlexTensor::from_data(TensorData::new(values, [len]))
}

/// The geometry of a strided convolution from its input's and weight's dimensions.
pub(super) fn conv_geometry(x: &[usize], weight: &[usize], stride: usize) -> ConvGeometry {
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
pub(super) fn transposed_geometry(x: &[usize], weight: &[usize], stride: usize) -> ConvGeometry {
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

pub(super) fn out_dims(g: &ConvGeometry) -> [usize; 4] {
    [g.batch, g.channels_out, g.height_out(), g.width_out()]
}

pub(super) fn in_dims(g: &ConvGeometry) -> [usize; 4] {
    [g.batch, g.channels_in, g.height_in, g.width_in]
}

impl CpuKernelOps for Flex {
    fn tf_conv2d(x: FlexTensor, weight: FlexTensor, bias: FlexTensor, stride: usize) -> FlexTensor {
        let (x_dims, x) = values(&x);
        let (w_dims, w) = values(&weight);
        let (_, b) = values(&bias);
        let g = conv_geometry(&x_dims, &w_dims, stride);
        flex_tensor(
            conv::forward(&g, &x, &w, &b, precision::current()),
            out_dims(&g),
        )
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
        flex_tensor(
            conv::input_grad(&g, &x, &w, Some(&b), precision::current()),
            in_dims(&g),
        )
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
        let out = elementwise(&x, &[], move |v, _| if v > 0.0 { v } else { v * slope });
        FlexTensor::from_data(TensorData::new(out, dims))
    }

    fn tf_tanh(x: FlexTensor) -> FlexTensor {
        let (dims, x) = values(&x);
        let out = elementwise(&x, &[], |v, _| v.tanh());
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
