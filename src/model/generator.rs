//! The generator of a run, whichever family it belongs to.

use burn::module::Module;
use burn::tensor::Tensor;

use super::architecture::Family;
use super::{batch_norm, paper, seed};

/// A generator: the seed's or one of the DCGAN paper's family. Its record (checkpoints)
/// is the inner network's, under the same names as before the family existed.
#[derive(Module, Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "one per run, kept in place; burn's Module derive takes no boxed variants"
)]
pub enum Generator {
    /// The seed's 28×28 generator.
    Seed(seed::Generator),
    /// The DCGAN paper's generator.
    Paper(paper::Generator),
}

impl Generator {
    /// Which family this generator belongs to.
    pub fn family(&self) -> Family {
        match self {
            Generator::Seed(_) => Family::Seed,
            Generator::Paper(_) => Family::Paper,
        }
    }

    /// Generates images from noise (see [`seed::Generator::forward`]).
    ///
    /// # Shapes
    /// - noise: `[batch, noise_dim]`
    /// - output: `[batch, channels, image_size, image_size]`, in `[-1, 1]`
    pub fn forward(&self, noise: Tensor<2>) -> Tensor<4> {
        match self {
            Generator::Seed(g) => g.forward(noise),
            Generator::Paper(g) => g.forward(noise),
        }
    }

    /// Generates the images of one training iteration, which serve its D step (detached)
    /// and its G step. The seed runs G twice on the same noise, so its moving averages
    /// advance twice ([`seed::Generator::forward_for_both_steps`]); the paper's family runs
    /// it once, as pytorch/examples does.
    pub fn forward_for_iteration(&self, noise: Tensor<2>) -> Tensor<4> {
        match self {
            Generator::Seed(g) => g.forward_for_both_steps(noise),
            Generator::Paper(g) => g.forward(noise),
        }
    }

    /// Updates of each BatchNorm's moving averages per training iteration.
    pub fn moving_average_updates_per_step(&self) -> u64 {
        match self {
            Generator::Seed(_) => seed::MOVING_AVERAGE_UPDATES_PER_STEP,
            Generator::Paper(_) => paper::MOVING_AVERAGE_UPDATES_PER_STEP,
        }
    }

    /// A copy whose BatchNorm moving averages are corrected for their start after
    /// `updates` updates (see [`batch_norm::debiased`]).
    pub fn with_debiased_moving_averages(&self, updates: u64) -> Generator {
        let mut g = self.clone();
        let norms: Vec<&mut burn::nn::BatchNorm> = match &mut g {
            Generator::Seed(g) => g.batch_norms_mut().into_iter().collect(),
            Generator::Paper(g) => g.batch_norms_mut().collect(),
        };
        for bn in norms {
            *bn = batch_norm::debiased(bn, updates);
        }
        g
    }

    /// Applies the pending update of every BatchNorm's moving statistics (see
    /// [`batch_norm::sync`]); call before taking a record.
    pub fn sync_batch_norms(&self) {
        match self {
            Generator::Seed(g) => g.batch_norms().into_iter().for_each(batch_norm::sync),
            Generator::Paper(g) => g.batch_norms().for_each(batch_norm::sync),
        }
    }

    /// Length of the noise vectors this generator takes.
    pub fn noise_dim(&self) -> usize {
        match self {
            Generator::Seed(g) => g.noise_dim(),
            Generator::Paper(g) => g.noise_dim(),
        }
    }

    /// Height and width of the images this generator draws.
    pub fn image_size(&self) -> usize {
        match self {
            Generator::Seed(g) => g.image_size(),
            Generator::Paper(g) => g.image_size(),
        }
    }

    /// Channels of the images this generator draws: 1 or 3.
    pub fn channels(&self) -> usize {
        match self {
            Generator::Seed(g) => g.image_channels(),
            Generator::Paper(g) => g.image_channels(),
        }
    }

    /// The generator's width (see [`Architecture::g_width`](super::Architecture::g_width)).
    pub fn width(&self) -> usize {
        match self {
            Generator::Seed(g) => g.width(),
            Generator::Paper(g) => g.width(),
        }
    }
}
