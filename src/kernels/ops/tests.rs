//! Each operation against burn's own, forward and through autodiff.

use super::*;
use burn::module::Param;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2dConfig, ConvTranspose2dConfig};
use burn::tensor::Distribution;

use crate::geometry::tf_same_padding;
use crate::model::TfConvTranspose2d;

/// Every input here is drawn from U(-1, 1) (and the weights are smaller), so each output is
/// a sum of terms of size at most about 1, and a float sum's rounding error is relative to its
/// terms, not to the sum: a bias gradient is a sum of up to 2048 such terms that nearly
/// cancel (0.01 from terms of size 1), and the two paths add them in different orders (which
/// differ again between CPUs: off by 1.0e-5 on an AMD EPYC). So the tolerance is relative to
/// the larger of the result's scale and 1; a wrong or missing term is off by far more.
fn assert_close(got: Tensor<4>, want: Tensor<4>, what: &str) {
    assert_eq!(got.dims(), want.dims(), "{what}: shape");
    let scale: f32 = want.clone().abs().max().into_scalar();
    let diff: f32 = (got - want).abs().max().into_scalar();
    assert!(
        diff <= 1e-4 * scale.max(1.0),
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

/// `(batch, channels of the large map, its side, channels of the small map, stride,
/// kernel)`: the seed's 5×5 layer shapes, smaller batches, an odd size, and the DCGAN paper
/// family's 4×4 stride-2 layers in grey and colour (3 channels at 64×64, as its first D
/// layer and last G layer have them).
const SHAPES: [(usize, usize, usize, usize, usize, usize); 9] = [
    (3, 1, 28, 4, 2, 5),
    (2, 3, 14, 5, 2, 5),
    (5, 4, 7, 3, 2, 5),
    (2, 3, 28, 2, 1, 5),
    (2, 2, 9, 3, 2, 5),
    (2, 3, 64, 4, 2, 4),
    (3, 1, 32, 4, 2, 4),
    (2, 8, 16, 16, 2, 4),
    (2, 4, 8, 8, 2, 4),
];

#[test]
fn conv2d_matches_burns_forward_and_gradients() {
    let device = Device::flex().autodiff();
    for (batch, c_in, size, c_out, stride, kernel) in SHAPES {
        let mut conv = Conv2dConfig::new([c_in, c_out], [kernel, kernel])
            .with_stride([stride, stride])
            .init(&device);
        let (before, after) = tf_same_padding(size, kernel, stride);
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
        for ((ours, theirs), what) in ours.into_iter().zip(theirs).zip(["y", "dx", "dw", "db"]) {
            assert_close(
                ours,
                theirs,
                &format!("{what} of conv {c_in}→{c_out} {size} k{kernel} s{stride}"),
            );
        }
    }
}

#[test]
fn conv_transpose2d_matches_burns_forward_and_gradients() {
    let device = Device::flex().autodiff();
    for (batch, c_out, size, c_in, stride, kernel) in SHAPES {
        let mut conv = ConvTranspose2dConfig::new([c_in, c_out], [kernel, kernel])
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
        for ((ours, theirs), what) in ours.into_iter().zip(theirs).zip(["y", "dx", "dw", "db"]) {
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

/// The elementwise kernels share their values among threads in blocks: shapes of a few
/// blocks and a partial one.
const ELEMENTWISE_DIMS: [usize; 4] = [5, 8, 30, 31];

#[test]
fn tanh_is_burns_bit_for_bit() {
    let device = Device::flex().autodiff();
    let x = random::<4>(ELEMENTWISE_DIMS, &device).mul_scalar(3.0);
    let r = random::<4>(ELEMENTWISE_DIMS, &device);
    let run = |ours: bool| {
        let x = Tensor::from_data(x.to_data(), &device).require_grad();
        let y = if ours {
            tanh(x.clone())
        } else {
            burn::tensor::activation::tanh(x.clone())
        };
        let grads = (y.clone() * r.clone()).sum().backward();
        [y.inner(), x.grad(&grads).expect("dx")]
    };
    for ((ours, theirs), what) in run(true).into_iter().zip(run(false)).zip(["y", "dx"]) {
        assert_eq!(ours.to_data(), theirs.to_data(), "tanh {what}");
    }
    // Without autodiff too.
    let plain = random::<4>([2, 3, 4, 5], &Device::flex());
    assert_eq!(
        tanh(plain.clone()).to_data(),
        burn::tensor::activation::tanh(plain).to_data()
    );
}

#[test]
fn leaky_relu_matches_burns() {
    let device = Device::flex().autodiff();
    let x = random::<4>(ELEMENTWISE_DIMS, &device);
    let r = random::<4>(ELEMENTWISE_DIMS, &device);
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
