//! The discriminator of a run, whichever family it belongs to.

use burn::module::Module;
use burn::tensor::Tensor;

use super::{batch_norm, paper, seed};

/// A discriminator: the seed's or one of the DCGAN paper's family. Its record
/// (checkpoints) is the inner network's.
#[derive(Module, Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "one per run, kept in place; burn's Module derive takes no boxed variants"
)]
pub enum Discriminator {
    /// The seed's 28×28 discriminator.
    Seed(seed::Discriminator),
    /// The DCGAN paper's discriminator.
    Paper(paper::Discriminator),
}

impl Discriminator {
    /// Scores images; a high logit means "real".
    ///
    /// # Shapes
    /// - images: `[batch, channels, image_size, image_size]`, in `[-1, 1]`
    /// - output: `[batch, 1]` logits
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Discriminator::Seed(d) => d.forward(images),
            Discriminator::Paper(d) => d.forward(images),
        }
    }

    /// Applies the pending update of every BatchNorm's moving statistics (see
    /// [`batch_norm::sync`]); call before taking a record.
    pub fn sync_batch_norms(&self) {
        match self {
            Discriminator::Seed(d) => d.batch_norms().into_iter().for_each(batch_norm::sync),
            Discriminator::Paper(d) => d.batch_norms().for_each(batch_norm::sync),
        }
    }
}
