//! Convolution layers with TensorFlow's 'SAME' padding ([`crate::geometry`]), run by dcgan's
//! kernels on the CPU and by burn's layers elsewhere.

use burn::module::{Module, Param};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::tensor::Tensor;

use crate::geometry::tf_same_padding;
use crate::kernels::ops as kernels;

/// A transposed convolution with TF 'SAME' semantics: `in * stride` outputs per axis.
///
/// TF defines it as the gradient of a 'SAME' convolution on the output size, which pads
/// `before` and `after` asymmetrically. burn's transposed convolution crops its padding
/// symmetrically, so this crops `before` on both sides and then drops the extra
/// `after - before` rows and columns at the end.
#[derive(Module, Debug)]
pub struct TfConvTranspose2d {
    /// The convolution, with `padding = [before, before]`.
    pub conv: ConvTranspose2d,
}

impl TfConvTranspose2d {
    /// Wraps `conv`, setting its padding to TF's for its kernel and stride.
    pub fn new(mut conv: ConvTranspose2d) -> Self {
        for axis in 0..2 {
            let (kernel, stride) = (conv.kernel_size[axis], conv.stride[axis]);
            // The 'SAME' convolution whose gradient this is maps `n * stride` to `n`; its
            // padding is `kernel - stride` in all, whatever `n`, so `n = 1` will do.
            let (before, _) = tf_same_padding(stride, kernel, stride);
            conv.padding[axis] = before;
        }
        TfConvTranspose2d { conv }
    }

    /// # Shapes
    /// - input: `[batch, channels_in, h, w]`
    /// - output: `[batch, channels_out, h * stride, w * stride]`
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let (conv, stride) = (&self.conv, self.conv.stride);
        let covered = conv.kernel_size[0] == conv.kernel_size[1]
            && stride[0] == stride[1]
            && conv.dilation == [1, 1]
            && conv.groups == 1
            && conv.padding_out == [0, 0]
            && kernels::supported(&input);
        if covered {
            let [_, channels_out, _, _] = conv.weight.dims();
            let bias = bias_or_zeros(conv.bias.as_ref(), channels_out, &input);
            return kernels::conv_transpose2d(input, conv.weight.val(), bias, stride[0]);
        }
        let [_, _, h, w] = input.dims();
        let (out_h, out_w) = (h * self.conv.stride[0], w * self.conv.stride[1]);
        let output = self.conv.forward(input);
        let [batch, channels, full_h, full_w] = output.dims();
        if (full_h, full_w) == (out_h, out_w) {
            output
        } else {
            output.slice([0..batch, 0..channels, 0..out_h, 0..out_w])
        }
    }
}

/// Applies `conv`, a convolution with TF's 'SAME' padding (as [`tf_same_padding`] sets it),
/// with dcgan's own kernels where they run and burn's otherwise (also for any convolution
/// the kernels do not cover: another padding, unequal strides or kernel sides, dilation,
/// groups).
///
/// # Shapes
/// - input: `[batch, channels_in, h, w]`
/// - output: `[batch, channels_out, ceil(h / stride), ceil(w / stride)]`
pub fn tf_conv2d(conv: &Conv2d, input: Tensor<4>) -> Tensor<4> {
    let [_, _, h, w] = input.dims();
    let (kernel, stride) = (conv.kernel_size, conv.stride);
    let (top, bottom) = tf_same_padding(h, kernel[0], stride[0]);
    let (left, right) = tf_same_padding(w, kernel[1], stride[1]);
    let covered = kernel[0] == kernel[1]
        && stride[0] == stride[1]
        && conv.dilation == [1, 1]
        && conv.groups == 1
        && conv.padding == PaddingConfig2d::Explicit(top, left, bottom, right)
        && kernels::supported(&input);
    if !covered {
        return conv.forward(input);
    }
    let [channels_out, _, _, _] = conv.weight.dims();
    let bias = bias_or_zeros(conv.bias.as_ref(), channels_out, &input);
    kernels::conv2d(input, conv.weight.val(), bias, stride[0])
}

/// A layer's bias, or for a layer without one (the DCGAN paper's, where BatchNorm follows)
/// zeros that carry no gradient: the kernels add a bias as they write their output, and
/// adding zero changes no value.
fn bias_or_zeros(bias: Option<&Param<Tensor<1>>>, channels: usize, input: &Tensor<4>) -> Tensor<1> {
    match bias {
        Some(bias) => bias.val(),
        None => Tensor::zeros([channels], &input.device()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::{Conv2dConfig, ConvTranspose2dConfig};
    use burn::tensor::{Device, TensorData};

    /// A 5×5 stride-2 convolution whose kernel is 1 at its top-left corner picks input pixel
    /// `(2i - before, 2j - before)` for output `(i, j)`. With TF's padding of 1 before, output
    /// (1, 1) is input (1, 1); PyTorch's padding 2 would give input (0, 0).
    #[test]
    fn strided_convolution_windows_start_one_pixel_before_the_image() {
        let device = Device::flex();
        let mut conv = Conv2dConfig::new([1, 1], [5, 5])
            .with_stride([2, 2])
            .with_bias(false)
            .init(&device);
        let (before, after) = tf_same_padding(6, 5, 2);
        conv.padding = PaddingConfig2d::Explicit(before, before, after, after);
        let mut kernel = [0.0f32; 25];
        kernel[0] = 1.0;
        conv.weight = Param::from_data(TensorData::new(kernel.to_vec(), [1, 1, 5, 5]), &device);
        // input[y][x] = 10 y + x + 1, so every pixel is non-zero and names itself.
        let input: Vec<f32> = (0..36).map(|i| (10 * (i / 6) + i % 6 + 1) as f32).collect();
        let input = Tensor::from_data(TensorData::new(input, [1, 1, 6, 6]), &device);
        let out = conv.forward(input).into_data().try_to_vec::<f32>().unwrap();
        // Output is 3×3: row 0 reads the padding row above the image.
        assert_eq!(out, vec![0.0, 0.0, 0.0, 0.0, 12.0, 14.0, 0.0, 32.0, 34.0]);
    }

    /// A single input pixel at (0, 0) spreads the kernel over the output, shifted up and left
    /// by TF's `before = 1`: output (y, x) = kernel (y + 1, x + 1).
    #[test]
    fn transposed_convolution_crops_like_tensorflow() {
        let device = Device::flex();
        let mut conv = ConvTranspose2dConfig::new([1, 1], [5, 5])
            .with_stride([2, 2])
            .with_bias(false)
            .init(&device);
        let kernel: Vec<f32> = (1..=25).map(|v| v as f32).collect();
        conv.weight = Param::from_data(TensorData::new(kernel, [1, 1, 5, 5]), &device);
        let layer = TfConvTranspose2d::new(conv);
        let mut input = vec![0.0f32; 9];
        input[0] = 1.0;
        let input = Tensor::from_data(TensorData::new(input, [1, 1, 3, 3]), &device);
        let out = layer.forward(input);
        assert_eq!(out.dims(), [1, 1, 6, 6]);
        let out = out.into_data().try_to_vec::<f32>().unwrap();
        for y in 0..6 {
            for x in 0..6 {
                let expected = if y < 4 && x < 4 {
                    (5 * (y + 1) + x + 2) as f32
                } else {
                    0.0
                };
                assert_eq!(out[y * 6 + x], expected, "output ({y}, {x})");
            }
        }
    }

    /// A TF 'SAME' convolution runs dcgan's kernel; one with other padding burn's layer,
    /// whose results differ in their last bits.
    #[test]
    fn convolutions_run_the_kernel_only_where_it_computes_the_same() {
        let device = Device::flex();
        let values = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().unwrap();
        let x = Tensor::<4>::random([2, 3, 14, 14], burn::tensor::Distribution::Default, &device);
        let mut conv = Conv2dConfig::new([3, 4], [5, 5])
            .with_stride([2, 2])
            .init(&device);
        for (padding, kernel) in [
            (PaddingConfig2d::Explicit(1, 1, 2, 2), true),
            (PaddingConfig2d::Explicit(2, 2, 2, 2), false),
        ] {
            conv.padding = padding;
            let routed = values(tf_conv2d(&conv, x.clone()));
            let bias = conv.bias.as_ref().unwrap().val();
            let ours = values(kernels::conv2d(x.clone(), conv.weight.val(), bias, 2));
            let theirs = values(conv.forward(x.clone()));
            assert_ne!(
                ours, theirs,
                "the two implementations round alike; the test tells nothing"
            );
            assert_eq!(
                routed,
                if kernel { ours } else { theirs },
                "{:?}",
                conv.padding
            );
        }
    }

    #[test]
    fn stride_one_transposed_convolution_keeps_size() {
        let device = Device::flex();
        let conv = ConvTranspose2dConfig::new([2, 1], [5, 5]).init(&device);
        let layer = TfConvTranspose2d::new(conv);
        assert_eq!(layer.conv.padding, [2, 2]);
        let out = layer.forward(Tensor::zeros([3, 2, 28, 28], &device));
        assert_eq!(out.dims(), [3, 1, 28, 28]);
    }
}
