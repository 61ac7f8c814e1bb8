//! Inception's one layer kind: a bias-free convolution, BatchNorm with its moving statistics
//! (ε = 0.001, as in TensorFlow's 2015 graph) and a ReLU.

use anyhow::ensure;
use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};

use super::weights::InceptionWeights;
use crate::kernels::conv_relu::PaddedConv;

/// BatchNorm's ε in the 2015 Inception graph (torchvision's `BasicConv2d` uses the same).
pub const BATCH_NORM_EPSILON: f64 = 0.001;

/// The shape of a [`BasicConv2d`].
#[derive(Config, Debug)]
pub struct BasicConv2dConfig {
    /// Input and output channels.
    pub channels: [usize; 2],
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride along both axes.
    #[config(default = 1)]
    pub stride: usize,
    /// Zero padding of the height and width, on both sides.
    #[config(default = "[0, 0]")]
    pub padding: [usize; 2],
}

/// Conv (no bias) → BatchNorm (inference) → ReLU, with the BatchNorm folded into the
/// convolution's weights and a bias when loaded: one pass over the map instead of three.
#[derive(Module, Debug)]
pub struct BasicConv2d {
    conv: Conv2d,
    stride: usize,
    padding: [usize; 2],
}

impl BasicConv2dConfig {
    /// The layer with pytorch-fid's tensors `{prefix}.conv.weight`, `{prefix}.bn.weight`,
    /// `.bn.bias`, `.bn.running_mean` and `.bn.running_var` from `weights`, BatchNorm folded:
    /// `w' = w·γ/√(σ²+ε)` per output channel and `b = β − μ·γ/√(σ²+ε)`, in f64.
    pub fn init(
        &self,
        weights: &mut InceptionWeights,
        prefix: &str,
        device: &Device,
    ) -> anyhow::Result<BasicConv2d> {
        let [c_in, c_out] = self.channels;
        let [kh, kw] = self.kernel;
        let mut weight = weights.take(&format!("{prefix}.conv.weight"), &[c_out, c_in, kh, kw])?;
        let bn = |name: &str, weights: &mut InceptionWeights| {
            weights.take(&format!("{prefix}.bn.{name}"), &[c_out])
        };
        let gamma = bn("weight", weights)?;
        let beta = bn("bias", weights)?;
        let mean = bn("running_mean", weights)?;
        let var = bn("running_var", weights)?;
        weights.skip(&format!("{prefix}.bn.num_batches_tracked"));
        let per_channel = c_in * kh * kw;
        let mut bias = Vec::with_capacity(c_out);
        for o in 0..c_out {
            ensure!(
                var[o] >= 0.0,
                "{}: {prefix}.bn.running_var[{o}] is {}, a variance below zero; the file is \
                 not a trained Inception",
                weights.file_name(),
                var[o]
            );
            let scale = f64::from(gamma[o]) / (f64::from(var[o]) + BATCH_NORM_EPSILON).sqrt();
            for w in &mut weight[o * per_channel..(o + 1) * per_channel] {
                *w = (f64::from(*w) * scale) as f32;
            }
            bias.push((f64::from(beta[o]) - f64::from(mean[o]) * scale) as f32);
        }
        let [ph, pw] = self.padding;
        let mut conv = Conv2dConfig::new(self.channels, self.kernel)
            .with_stride([self.stride, self.stride])
            .with_padding(PaddingConfig2d::Explicit(ph, pw, ph, pw))
            .init(device);
        conv.weight = Param::from_data(TensorData::new(weight, [c_out, c_in, kh, kw]), device);
        conv.bias = Some(Param::from_data(TensorData::new(bias, [c_out]), device));
        Ok(BasicConv2d {
            conv,
            stride: self.stride,
            padding: self.padding,
        })
    }
}

impl BasicConv2d {
    /// # Shapes
    /// - x: `[batch, c_in, h, w]` → `[batch, c_out, (h + 2·ph − kh) / s + 1, (w + 2·pw − kw) / s + 1]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        relu(self.conv.forward(x))
    }

    /// The layer for dcgan's CPU kernel: its shape (`size_in` left at zero, for the caller
    /// to set per map), the folded weight `[c_out, c_in, kh, kw]` and the bias `[c_out]`.
    pub(super) fn folded(&self) -> (PaddedConv, Vec<f32>, Vec<f32>) {
        let [c_out, c_in, kh, kw] = self.conv.weight.dims();
        let shape = PaddedConv {
            channels_in: c_in,
            size_in: [0, 0],
            channels_out: c_out,
            kernel: [kh, kw],
            stride: self.stride,
            padding: self.padding,
        };
        let bias = self.conv.bias.as_ref().expect("a folded bias").val();
        (shape, values(self.conv.weight.val()), values(bias))
    }
}

/// A tensor's values, in row-major order.
pub(super) fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 values")
}
