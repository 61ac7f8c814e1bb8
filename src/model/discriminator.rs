//! The discriminator of a run, whichever family it belongs to, and told the class when the
//! run is conditional.

use burn::module::Module;
use burn::tensor::{Int, Tensor};

use super::conditioning::{ClassHead, label_maps};
use super::{batch_norm, paper, seed};

/// A discriminator's network: the seed's or one of the DCGAN paper's family. Its record
/// (checkpoints) is the inner network's.
#[derive(Module, Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "one per run, kept in place; burn's Module derive takes no boxed variants"
)]
pub enum DiscriminatorNet {
    /// The seed's 28×28 discriminator.
    Seed(seed::Discriminator),
    /// The DCGAN paper's discriminator.
    Paper(paper::Discriminator),
}

/// What D says of a batch of images.
#[derive(Debug, Clone)]
pub struct Judgement {
    /// Real-versus-fake logits, `[batch, 1]`; high means "real".
    pub logits: Tensor<2>,
    /// ACGAN's class logits, `[batch, classes]`; `None` for other discriminators.
    pub class_logits: Option<Tensor<2>>,
}

/// A run's discriminator: its network, and for a conditional run how it sees the class:
/// as input maps (cGAN: the network takes `channels + classes` channels) or through a
/// [`ClassHead`] on its features (ACGAN, projection).
#[derive(Module, Debug)]
pub struct Discriminator {
    /// The network.
    pub net: DiscriminatorNet,
    /// ACGAN's classifier or the projection discriminator's class embedding.
    pub head: Option<ClassHead>,
    /// cGAN's classes, given as input maps; 0 for the other kinds.
    label_maps: usize,
}

impl Discriminator {
    /// A discriminator of `net` with `head`, taking `label_maps` class maps with its images
    /// (cGAN; 0 otherwise).
    pub fn new(net: DiscriminatorNet, head: Option<ClassHead>, label_maps: usize) -> Self {
        Discriminator {
            net,
            head,
            label_maps,
        }
    }

    /// Judges images, and for a conditional discriminator the class each was meant to be.
    ///
    /// # Shapes
    /// - images: `[batch, channels, image_size, image_size]`, in `[-1, 1]`
    /// - labels: `[batch]`; `None` when unconditional
    ///
    /// # Panics
    /// If labels are missing for a conditional discriminator or given to an unconditional one.
    pub fn forward(&self, images: Tensor<4>, labels: Option<Tensor<1, Int>>) -> Judgement {
        let conditional = self.label_maps > 0 || self.head.is_some();
        assert_eq!(
            conditional,
            labels.is_some(),
            "labels go with a conditional discriminator, and only with one"
        );
        let images = match (&labels, self.label_maps) {
            (Some(labels), classes) if classes > 0 => {
                let side = images.dims()[2];
                Tensor::cat(vec![images, label_maps(labels.clone(), classes, side)], 1)
            }
            _ => images,
        };
        let features = match &self.net {
            DiscriminatorNet::Seed(d) => d.features(images),
            DiscriminatorNet::Paper(d) => d.features(images),
        };
        let mut logits = match &self.net {
            DiscriminatorNet::Seed(d) => d.score(features.clone()),
            DiscriminatorNet::Paper(d) => d.score(features.clone()),
        };
        let mut class_logits = None;
        if let (Some(head), Some(labels)) = (&self.head, labels) {
            class_logits = head.class_logits(features.clone());
            if let Some(projection) = head.projection(features, labels) {
                logits = logits + projection;
            }
        }
        Judgement {
            logits,
            class_logits,
        }
    }

    /// Applies the pending update of every BatchNorm's moving statistics (see
    /// [`batch_norm::sync`]); call before taking a record.
    pub fn sync_batch_norms(&self) {
        match &self.net {
            DiscriminatorNet::Seed(d) => d.batch_norms().into_iter().for_each(batch_norm::sync),
            DiscriminatorNet::Paper(d) => d.batch_norms().for_each(batch_norm::sync),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::conditioning::labels;
    use crate::model::{Architecture, Conditioning};
    use burn::tensor::Device;
    use rand::SeedableRng;

    /// cGAN's D sees the class as input maps after the image's channels.
    #[test]
    fn a_cgan_discriminator_sees_the_class_as_input_maps() {
        let device = Device::flex();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let arch = Architecture::seed(4)
            .with_conditioning(Conditioning::Cgan, 3)
            .unwrap();
        let d = arch.discriminator(&mut rng, &device);
        let images = Tensor::<4>::random(
            [2, 1, 28, 28],
            burn::tensor::Distribution::Uniform(-1.0, 1.0),
            &device,
        );
        let judged = d.forward(images.clone(), Some(labels(&[2, 0], &device)));
        let maps = label_maps(labels(&[2, 0], &device), 3, 28);
        let DiscriminatorNet::Seed(net) = &d.net else {
            panic!("the seed's family")
        };
        let direct = net.forward(Tensor::cat(vec![images.clone(), maps], 1));
        assert_eq!(judged.logits.clone().into_data(), direct.into_data());
        assert!(judged.class_logits.is_none());
        // Another class for the same image: another logit.
        let other = d.forward(images, Some(labels(&[1, 0], &device)));
        let first = |t: Tensor<2>| t.narrow(0, 0, 1).into_data();
        assert!(first(other.logits) != first(judged.logits));
    }
}
