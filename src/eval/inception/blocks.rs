//! The mixed blocks of pytorch-fid's Inception-v3 (`FIDInceptionA/C/E_1/E_2` and torchvision's
//! `InceptionB/D`), named as in its state dict. Each runs parallel branches on one input and
//! concatenates their maps along the channels, in pytorch-fid's order.

use burn::config::Config;
use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::tensor::{Device, Tensor};

use super::basic_conv::{BasicConv2d, BasicConv2dConfig};
use super::weights::InceptionWeights;

/// A [`BasicConv2d`] of `weights` at `{prefix}.{name}`.
fn conv(
    weights: &mut InceptionWeights,
    prefix: &str,
    name: &str,
    config: BasicConv2dConfig,
    device: &Device,
) -> anyhow::Result<BasicConv2d> {
    config.init(weights, &format!("{prefix}.{name}"), device)
}

/// A `kh × kw` convolution from `c_in` to `c_out` channels, padded to keep the map's size.
fn same(c_in: usize, c_out: usize, [kh, kw]: [usize; 2]) -> BasicConv2dConfig {
    BasicConv2dConfig::new([c_in, c_out], [kh, kw]).with_padding([kh / 2, kw / 2])
}

/// A `k × k` stride-2 convolution without padding: the grid-size reductions.
fn reduce(c_in: usize, c_out: usize) -> BasicConv2dConfig {
    BasicConv2dConfig::new([c_in, c_out], [3, 3]).with_stride(2)
}

/// The branches' pooling: 3×3, stride 1, padding 1; an average leaves the padding out of
/// the count (`count_include_pad=False`), as TensorFlow's graph did.
fn pool_3x3_average() -> AvgPool2d {
    AvgPool2dConfig::new([3, 3])
        .with_strides([1, 1])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_count_include_pad(false)
        .init()
}

/// The grid-size reductions' pooling: 3×3, stride 2, no padding.
pub(crate) fn max_pool_3x3_stride_2() -> MaxPool2d {
    MaxPool2dConfig::new([3, 3]).with_strides([2, 2]).init()
}

/// `FIDInceptionA` (Mixed_5b–5d): 1×1; 1×1 → 5×5; 1×1 → 3×3 → 3×3; average pool → 1×1.
#[derive(Config, Debug)]
pub struct InceptionAConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels of the pooling branch.
    pub pool_features: usize,
}

/// See [`InceptionAConfig`]; `64 + 64 + 96 + pool_features` output channels.
#[derive(Module, Debug)]
pub struct InceptionA {
    pub(super) branch1x1: BasicConv2d,
    pub(super) branch5x5: [BasicConv2d; 2],
    pub(super) branch3x3dbl: [BasicConv2d; 3],
    pub(super) branch_pool: BasicConv2d,
    pub(super) pool: AvgPool2d,
}

impl InceptionAConfig {
    /// The block with `weights` at `prefix`.
    pub fn init(
        &self,
        weights: &mut InceptionWeights,
        prefix: &str,
        device: &Device,
    ) -> anyhow::Result<InceptionA> {
        let c = self.in_channels;
        let mut conv = |name: &str, config| conv(weights, prefix, name, config, device);
        Ok(InceptionA {
            branch1x1: conv("branch1x1", same(c, 64, [1, 1]))?,
            branch5x5: [
                conv("branch5x5_1", same(c, 48, [1, 1]))?,
                conv("branch5x5_2", same(48, 64, [5, 5]))?,
            ],
            branch3x3dbl: [
                conv("branch3x3dbl_1", same(c, 64, [1, 1]))?,
                conv("branch3x3dbl_2", same(64, 96, [3, 3]))?,
                conv("branch3x3dbl_3", same(96, 96, [3, 3]))?,
            ],
            branch_pool: conv("branch_pool", same(c, self.pool_features, [1, 1]))?,
            pool: pool_3x3_average(),
        })
    }
}

impl InceptionA {
    /// # Shapes
    /// - x: `[batch, in_channels, h, w]` → `[batch, 224 + pool_features, h, w]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let outputs = vec![
            self.branch1x1.forward(x.clone()),
            chain(&self.branch5x5, x.clone()),
            chain(&self.branch3x3dbl, x.clone()),
            self.branch_pool.forward(self.pool.forward(x)),
        ];
        Tensor::cat(outputs, 1)
    }
}

/// torchvision's `InceptionB` (Mixed_6a), a grid-size reduction: 3×3 s2; 1×1 → 3×3 →
/// 3×3 s2; max pool 3×3 s2.
#[derive(Config, Debug)]
pub struct InceptionBConfig {
    /// Input channels.
    pub in_channels: usize,
}

/// See [`InceptionBConfig`]; `384 + 96 + in_channels` output channels.
#[derive(Module, Debug)]
pub struct InceptionB {
    pub(super) branch3x3: BasicConv2d,
    pub(super) branch3x3dbl: [BasicConv2d; 3],
    pub(super) pool: MaxPool2d,
}

impl InceptionBConfig {
    /// The block with `weights` at `prefix`.
    pub fn init(
        &self,
        weights: &mut InceptionWeights,
        prefix: &str,
        device: &Device,
    ) -> anyhow::Result<InceptionB> {
        let c = self.in_channels;
        let mut conv = |name: &str, config| conv(weights, prefix, name, config, device);
        Ok(InceptionB {
            branch3x3: conv("branch3x3", reduce(c, 384))?,
            branch3x3dbl: [
                conv("branch3x3dbl_1", same(c, 64, [1, 1]))?,
                conv("branch3x3dbl_2", same(64, 96, [3, 3]))?,
                conv("branch3x3dbl_3", reduce(96, 96))?,
            ],
            pool: max_pool_3x3_stride_2(),
        })
    }
}

impl InceptionB {
    /// # Shapes
    /// - x: `[batch, in_channels, h, w]` → `[batch, 480 + in_channels, (h − 3) / 2 + 1, …]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let outputs = vec![
            self.branch3x3.forward(x.clone()),
            chain(&self.branch3x3dbl, x.clone()),
            self.pool.forward(x),
        ];
        Tensor::cat(outputs, 1)
    }
}

/// `FIDInceptionC` (Mixed_6b–6e), factorised 7×7s: 1×1; 1×1 → 1×7 → 7×1; 1×1 → 7×1 →
/// 1×7 → 7×1 → 1×7; average pool → 1×1.
#[derive(Config, Debug)]
pub struct InceptionCConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Channels inside the 7×7 branches.
    pub channels_7x7: usize,
}

/// See [`InceptionCConfig`]; 768 output channels.
#[derive(Module, Debug)]
pub struct InceptionC {
    pub(super) branch1x1: BasicConv2d,
    pub(super) branch7x7: [BasicConv2d; 3],
    pub(super) branch7x7dbl: [BasicConv2d; 5],
    pub(super) branch_pool: BasicConv2d,
    pub(super) pool: AvgPool2d,
}

impl InceptionCConfig {
    /// The block with `weights` at `prefix`.
    pub fn init(
        &self,
        weights: &mut InceptionWeights,
        prefix: &str,
        device: &Device,
    ) -> anyhow::Result<InceptionC> {
        let (c, c7) = (self.in_channels, self.channels_7x7);
        let mut conv = |name: &str, config| conv(weights, prefix, name, config, device);
        Ok(InceptionC {
            branch1x1: conv("branch1x1", same(c, 192, [1, 1]))?,
            branch7x7: [
                conv("branch7x7_1", same(c, c7, [1, 1]))?,
                conv("branch7x7_2", same(c7, c7, [1, 7]))?,
                conv("branch7x7_3", same(c7, 192, [7, 1]))?,
            ],
            branch7x7dbl: [
                conv("branch7x7dbl_1", same(c, c7, [1, 1]))?,
                conv("branch7x7dbl_2", same(c7, c7, [7, 1]))?,
                conv("branch7x7dbl_3", same(c7, c7, [1, 7]))?,
                conv("branch7x7dbl_4", same(c7, c7, [7, 1]))?,
                conv("branch7x7dbl_5", same(c7, 192, [1, 7]))?,
            ],
            branch_pool: conv("branch_pool", same(c, 192, [1, 1]))?,
            pool: pool_3x3_average(),
        })
    }
}

impl InceptionC {
    /// # Shapes
    /// - x: `[batch, in_channels, h, w]` → `[batch, 768, h, w]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let outputs = vec![
            self.branch1x1.forward(x.clone()),
            chain(&self.branch7x7, x.clone()),
            chain(&self.branch7x7dbl, x.clone()),
            self.branch_pool.forward(self.pool.forward(x)),
        ];
        Tensor::cat(outputs, 1)
    }
}

/// torchvision's `InceptionD` (Mixed_7a), a grid-size reduction: 1×1 → 3×3 s2; 1×1 → 1×7 →
/// 7×1 → 3×3 s2; max pool 3×3 s2.
#[derive(Config, Debug)]
pub struct InceptionDConfig {
    /// Input channels.
    pub in_channels: usize,
}

/// See [`InceptionDConfig`]; `512 + in_channels` output channels.
#[derive(Module, Debug)]
pub struct InceptionD {
    pub(super) branch3x3: [BasicConv2d; 2],
    pub(super) branch7x7x3: [BasicConv2d; 4],
    pub(super) pool: MaxPool2d,
}

impl InceptionDConfig {
    /// The block with `weights` at `prefix`.
    pub fn init(
        &self,
        weights: &mut InceptionWeights,
        prefix: &str,
        device: &Device,
    ) -> anyhow::Result<InceptionD> {
        let c = self.in_channels;
        let mut conv = |name: &str, config| conv(weights, prefix, name, config, device);
        Ok(InceptionD {
            branch3x3: [
                conv("branch3x3_1", same(c, 192, [1, 1]))?,
                conv("branch3x3_2", reduce(192, 320))?,
            ],
            branch7x7x3: [
                conv("branch7x7x3_1", same(c, 192, [1, 1]))?,
                conv("branch7x7x3_2", same(192, 192, [1, 7]))?,
                conv("branch7x7x3_3", same(192, 192, [7, 1]))?,
                conv("branch7x7x3_4", reduce(192, 192))?,
            ],
            pool: max_pool_3x3_stride_2(),
        })
    }
}

impl InceptionD {
    /// # Shapes
    /// - x: `[batch, in_channels, h, w]` → `[batch, 512 + in_channels, (h − 3) / 2 + 1, …]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let outputs = vec![
            chain(&self.branch3x3, x.clone()),
            chain(&self.branch7x7x3, x.clone()),
            self.pool.forward(x),
        ];
        Tensor::cat(outputs, 1)
    }
}

/// The pooling of an [`InceptionE`]'s last branch: an average in `FIDInceptionE_1`
/// (Mixed_7b), a max in `FIDInceptionE_2` (Mixed_7c), a bug of the 2015 graph that FID keeps.
#[derive(Config, Debug, PartialEq)]
pub enum PoolKind {
    /// 3×3 average, padding left out of the count.
    Average,
    /// 3×3 max.
    Max,
}

/// `FIDInceptionE_1/2` (Mixed_7b, 7c), expanded filter banks: 1×1; 1×1 → (1×3 ‖ 3×1);
/// 1×1 → 3×3 → (1×3 ‖ 3×1); pool → 1×1.
#[derive(Config, Debug)]
pub struct InceptionEConfig {
    /// Input channels.
    pub in_channels: usize,
    /// The last branch's pooling.
    pub pool: PoolKind,
}

/// See [`InceptionEConfig`]; 2048 output channels.
#[derive(Module, Debug)]
pub struct InceptionE {
    pub(super) branch1x1: BasicConv2d,
    pub(super) branch3x3_1: BasicConv2d,
    pub(super) branch3x3_2: [BasicConv2d; 2],
    pub(super) branch3x3dbl_1: [BasicConv2d; 2],
    pub(super) branch3x3dbl_3: [BasicConv2d; 2],
    pub(super) branch_pool: BasicConv2d,
    pub(super) average: Option<AvgPool2d>,
    pub(super) max: Option<MaxPool2d>,
}

impl InceptionEConfig {
    /// The block with `weights` at `prefix`.
    pub fn init(
        &self,
        weights: &mut InceptionWeights,
        prefix: &str,
        device: &Device,
    ) -> anyhow::Result<InceptionE> {
        let c = self.in_channels;
        let mut conv = |name: &str, config| conv(weights, prefix, name, config, device);
        let (average, max) = match self.pool {
            PoolKind::Average => (Some(pool_3x3_average()), None),
            PoolKind::Max => {
                let max = MaxPool2dConfig::new([3, 3])
                    .with_strides([1, 1])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .init();
                (None, Some(max))
            }
        };
        Ok(InceptionE {
            branch1x1: conv("branch1x1", same(c, 320, [1, 1]))?,
            branch3x3_1: conv("branch3x3_1", same(c, 384, [1, 1]))?,
            branch3x3_2: [
                conv("branch3x3_2a", same(384, 384, [1, 3]))?,
                conv("branch3x3_2b", same(384, 384, [3, 1]))?,
            ],
            branch3x3dbl_1: [
                conv("branch3x3dbl_1", same(c, 448, [1, 1]))?,
                conv("branch3x3dbl_2", same(448, 384, [3, 3]))?,
            ],
            branch3x3dbl_3: [
                conv("branch3x3dbl_3a", same(384, 384, [1, 3]))?,
                conv("branch3x3dbl_3b", same(384, 384, [3, 1]))?,
            ],
            branch_pool: conv("branch_pool", same(c, 192, [1, 1]))?,
            average,
            max,
        })
    }
}

impl InceptionE {
    /// # Shapes
    /// - x: `[batch, in_channels, h, w]` → `[batch, 2048, h, w]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let a = self.branch3x3_1.forward(x.clone());
        let b = chain(&self.branch3x3dbl_1, x.clone());
        let pooled = match (&self.average, &self.max) {
            (Some(average), _) => average.forward(x.clone()),
            (None, Some(max)) => max.forward(x.clone()),
            (None, None) => unreachable!("an InceptionE is built with one pooling"),
        };
        let outputs = vec![
            self.branch1x1.forward(x),
            self.branch3x3_2[0].forward(a.clone()),
            self.branch3x3_2[1].forward(a),
            self.branch3x3dbl_3[0].forward(b.clone()),
            self.branch3x3dbl_3[1].forward(b),
            self.branch_pool.forward(pooled),
        ];
        Tensor::cat(outputs, 1)
    }
}

/// `x` through `layers` in turn.
fn chain(layers: &[BasicConv2d], x: Tensor<4>) -> Tensor<4> {
    layers.iter().fold(x, |x, layer| layer.forward(x))
}
