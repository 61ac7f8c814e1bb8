//! pytorch-fid's Inception-v3: the stem, eleven mixed blocks and the global average pool that
//! give the 2048 pool3 features of FID, and the 1008-way logits of the Inception Score when
//! the weights have them.

use anyhow::bail;
use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d};
use burn::tensor::{Device, Tensor, TensorData};

use super::basic_conv::{BasicConv2d, BasicConv2dConfig};
use super::blocks::{
    InceptionA, InceptionAConfig, InceptionB, InceptionBConfig, InceptionC, InceptionCConfig,
    InceptionD, InceptionDConfig, InceptionE, InceptionEConfig, PoolKind, max_pool_3x3_stride_2,
};
use super::weights::InceptionWeights;

/// Length of the pool3 feature vector.
pub const FEATURES: usize = 2048;
/// Classes of the 2015 graph's classifier (ImageNet's 1000, a background class and 7 unused).
pub const LOGITS: usize = 1008;
/// Side of the network's input images.
pub const INPUT_SIZE: usize = 299;

/// What to build of the network.
#[derive(Config, Debug)]
pub struct InceptionConfig {
    /// Also build the classifier (`fc`), for the Inception Score; the weights must hold it.
    #[config(default = false)]
    pub logits: bool,
}

/// Inception-v3 as pytorch-fid runs it (`use_fid_inception=True`, no `transform_input`).
#[derive(Module, Debug)]
pub struct Inception {
    pub(super) stem: [BasicConv2d; 3],
    pub(super) stem_2: [BasicConv2d; 2],
    pub(super) pool: MaxPool2d,
    pub(super) mixed_5: [InceptionA; 3],
    pub(super) mixed_6a: InceptionB,
    pub(super) mixed_6: [InceptionC; 4],
    pub(super) mixed_7a: InceptionD,
    pub(super) mixed_7: [InceptionE; 2],
    pub(super) global_pool: AdaptiveAvgPool2d,
    pub(super) fc: Option<Linear>,
}

/// The pool3 features, and the logits when the network has its classifier.
#[derive(Debug, Clone)]
pub struct InceptionOutput {
    /// `[batch, 2048]`.
    pub features: Tensor<2>,
    /// `[batch, 1008]`.
    pub logits: Option<Tensor<2>>,
}

/// The maps after each of pytorch-fid's four blocks (its `output_blocks` 0–3), for checking
/// the network layer by layer.
#[derive(Debug, Clone)]
pub struct InceptionBlocks {
    /// After the first max pool: `[batch, 64, 73, 73]` for a 299 input.
    pub block0: Tensor<4>,
    /// After the second max pool: `[batch, 192, 35, 35]`.
    pub block1: Tensor<4>,
    /// After Mixed_6e: `[batch, 768, 17, 17]`.
    pub block2: Tensor<4>,
    /// The pool3 features: `[batch, 2048]`.
    pub block3: Tensor<2>,
}

impl InceptionConfig {
    /// The network with the tensors of `weights` (pytorch-fid's names). Every tensor of the
    /// file must be used, so a file of another network is refused.
    pub fn init(
        &self,
        weights: &mut InceptionWeights,
        device: &Device,
    ) -> anyhow::Result<Inception> {
        let mut conv = |name: &str, config: BasicConv2dConfig| config.init(weights, name, device);
        let stem = [
            conv(
                "Conv2d_1a_3x3",
                BasicConv2dConfig::new([3, 32], [3, 3]).with_stride(2),
            )?,
            conv("Conv2d_2a_3x3", BasicConv2dConfig::new([32, 32], [3, 3]))?,
            conv(
                "Conv2d_2b_3x3",
                BasicConv2dConfig::new([32, 64], [3, 3]).with_padding([1, 1]),
            )?,
        ];
        let stem_2 = [
            conv("Conv2d_3b_1x1", BasicConv2dConfig::new([64, 80], [1, 1]))?,
            conv("Conv2d_4a_3x3", BasicConv2dConfig::new([80, 192], [3, 3]))?,
        ];
        let a = |c, pool, w: &mut InceptionWeights, name: &str| {
            InceptionAConfig::new(c, pool).init(w, name, device)
        };
        let mixed_5 = [
            a(192, 32, weights, "Mixed_5b")?,
            a(256, 64, weights, "Mixed_5c")?,
            a(288, 64, weights, "Mixed_5d")?,
        ];
        let mixed_6a = InceptionBConfig::new(288).init(weights, "Mixed_6a", device)?;
        let c = |c7, w: &mut InceptionWeights, name: &str| {
            InceptionCConfig::new(768, c7).init(w, name, device)
        };
        let mixed_6 = [
            c(128, weights, "Mixed_6b")?,
            c(160, weights, "Mixed_6c")?,
            c(160, weights, "Mixed_6d")?,
            c(192, weights, "Mixed_6e")?,
        ];
        let mixed_7a = InceptionDConfig::new(768).init(weights, "Mixed_7a", device)?;
        let mixed_7 = [
            InceptionEConfig::new(1280, PoolKind::Average).init(weights, "Mixed_7b", device)?,
            InceptionEConfig::new(2048, PoolKind::Max).init(weights, "Mixed_7c", device)?,
        ];
        let fc = if self.logits {
            if !weights.has_logits() {
                bail!(
                    "{} has no classifier (fc.weight), so it gives no Inception Score; \
                     pytorch-fid's release file pt_inception-2015-12-05-6726825d.pth has it \
                     (dcgan inception fetch)",
                    weights.file_name()
                );
            }
            let weight = weights.take("fc.weight", &[LOGITS, FEATURES])?;
            let bias = weights.take("fc.bias", &[LOGITS])?;
            // PyTorch keeps a linear layer's weight as [out, in], burn as [in, out].
            let weight =
                Tensor::<2>::from_data(TensorData::new(weight, [LOGITS, FEATURES]), device)
                    .transpose();
            Some(Linear {
                weight: Param::from_tensor(weight),
                bias: Some(Param::from_data(TensorData::new(bias, [LOGITS]), device)),
            })
        } else {
            weights.skip("fc.weight");
            weights.skip("fc.bias");
            None
        };
        weights.check_all_used()?;
        Ok(Inception {
            stem,
            stem_2,
            pool: max_pool_3x3_stride_2(),
            mixed_5,
            mixed_6a,
            mixed_6,
            mixed_7a,
            mixed_7,
            global_pool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            fc,
        })
    }
}

impl Inception {
    /// The pool3 features (and logits) of preprocessed images ([`super::preprocess`]).
    ///
    /// # Shapes
    /// - x: `[batch, 3, 299, 299]` in `[-1, 1]`
    pub fn forward(&self, x: Tensor<4>) -> InceptionOutput {
        let features = self.forward_blocks(x).block3;
        let logits = self.fc.as_ref().map(|fc| fc.forward(features.clone()));
        InceptionOutput { features, logits }
    }

    /// The map after each of pytorch-fid's four blocks.
    pub fn forward_blocks(&self, x: Tensor<4>) -> InceptionBlocks {
        let x = self.stem.iter().fold(x, |x, layer| layer.forward(x)); // [b, 64, 147, 147]
        let block0 = self.pool.forward(x); // [b, 64, 73, 73]
        let x = self.stem_2.iter().fold(block0.clone(), |x, l| l.forward(x)); // [b, 192, 71, 71]
        let block1 = self.pool.forward(x); // [b, 192, 35, 35]
        let x = self
            .mixed_5
            .iter()
            .fold(block1.clone(), |x, m| m.forward(x)); // [b, 288, 35, 35]
        let x = self.mixed_6a.forward(x); // [b, 768, 17, 17]
        let block2 = self.mixed_6.iter().fold(x, |x, m| m.forward(x)); // [b, 768, 17, 17]
        let x = self.mixed_7a.forward(block2.clone()); // [b, 1280, 8, 8]
        let x = self.mixed_7.iter().fold(x, |x, m| m.forward(x)); // [b, 2048, 8, 8]
        let block3 = self.global_pool.forward(x).flatten(1, 3); // [b, 2048]
        InceptionBlocks {
            block0,
            block1,
            block2,
            block3,
        }
    }

    /// True when the network gives logits.
    pub fn has_logits(&self) -> bool {
        self.fc.is_some()
    }
}
