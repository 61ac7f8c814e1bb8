//! The generator of a run, whichever family it belongs to, and told the class when the
//! run is conditional.

use burn::module::Module;
use burn::tensor::{Int, Tensor};

use super::architecture::Family;
use super::conditioning::one_hot;
use super::{batch_norm, paper, seed};

/// A generator's network: the seed's or one of the DCGAN paper's family. Its record
/// (checkpoints) is the inner network's, under the same names as before the family existed.
#[derive(Module, Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "one per run, kept in place; burn's Module derive takes no boxed variants"
)]
pub enum GeneratorNet {
    /// The seed's 28×28 generator.
    Seed(seed::Generator),
    /// The DCGAN paper's generator.
    Paper(paper::Generator),
}

/// A run's generator: its network, and for a conditional run the number of classes, whose
/// one-hot code is joined to the noise (so the network's first layer takes
/// `noise_dim + classes` numbers).
#[derive(Module, Debug)]
pub struct Generator {
    /// The network.
    pub net: GeneratorNet,
    /// Classes of a conditional generator; 0 for an unconditional one.
    classes: usize,
}

impl Generator {
    /// A generator of `net`, told one of `classes` classes (0: unconditional).
    pub fn new(net: GeneratorNet, classes: usize) -> Self {
        Generator { net, classes }
    }

    /// Which family this generator belongs to.
    pub fn family(&self) -> Family {
        match &self.net {
            GeneratorNet::Seed(_) => Family::Seed,
            GeneratorNet::Paper(_) => Family::Paper,
        }
    }

    /// Classes of a conditional generator; 0 for an unconditional one.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The network's input: the noise, joined by the class codes when the generator is
    /// conditional.
    ///
    /// # Panics
    /// If codes are missing for a conditional generator or given to an unconditional one.
    fn input(&self, noise: Tensor<2>, codes: Option<Tensor<2>>) -> Tensor<2> {
        match (self.classes, codes) {
            (0, None) => noise,
            (0, Some(_)) => panic!("classes given to an unconditional generator"),
            (_, None) => panic!("a conditional generator needs a class per image"),
            (_, Some(codes)) => Tensor::cat(vec![noise, codes], 1),
        }
    }

    /// Generates images from noise and, for a conditional generator, the class of each
    /// (see [`seed::Generator::forward`]).
    ///
    /// # Shapes
    /// - noise: `[batch, noise_dim]`
    /// - labels: `[batch]`, each below [`Generator::classes`]; `None` when unconditional
    /// - output: `[batch, channels, image_size, image_size]`, in `[-1, 1]`
    pub fn forward(&self, noise: Tensor<2>, labels: Option<Tensor<1, Int>>) -> Tensor<4> {
        let codes = labels.map(|labels| one_hot(labels, self.classes));
        self.forward_with_codes(noise, codes)
    }

    /// Generates images from noise and class codes: rows of class weights, one-hot for one
    /// class, a blend of two between them (for morphs from class to class).
    ///
    /// # Shapes
    /// - noise: `[batch, noise_dim]`
    /// - codes: `[batch, classes]`; `None` when unconditional
    /// - output: `[batch, channels, image_size, image_size]`, in `[-1, 1]`
    pub fn forward_with_codes(&self, noise: Tensor<2>, codes: Option<Tensor<2>>) -> Tensor<4> {
        let input = self.input(noise, codes);
        match &self.net {
            GeneratorNet::Seed(g) => g.forward(input),
            GeneratorNet::Paper(g) => g.forward(input),
        }
    }

    /// Generates the images of one training iteration, which serve its D step (detached)
    /// and its G step. The seed runs G twice on the same noise, so its moving averages
    /// advance twice ([`seed::Generator::forward_for_both_steps`]); the paper's family runs
    /// it once, as pytorch/examples does.
    pub fn forward_for_iteration(
        &self,
        noise: Tensor<2>,
        labels: Option<Tensor<1, Int>>,
    ) -> Tensor<4> {
        let codes = labels.map(|labels| one_hot(labels, self.classes));
        let input = self.input(noise, codes);
        match &self.net {
            GeneratorNet::Seed(g) => g.forward_for_both_steps(input),
            GeneratorNet::Paper(g) => g.forward(input),
        }
    }

    /// Updates of each BatchNorm's moving averages per training iteration.
    pub fn moving_average_updates_per_step(&self) -> u64 {
        match &self.net {
            GeneratorNet::Seed(_) => seed::MOVING_AVERAGE_UPDATES_PER_STEP,
            GeneratorNet::Paper(_) => paper::MOVING_AVERAGE_UPDATES_PER_STEP,
        }
    }

    /// A copy whose BatchNorm moving averages are corrected for their start after
    /// `updates` updates (see [`batch_norm::debiased`]).
    pub fn with_debiased_moving_averages(&self, updates: u64) -> Generator {
        let mut g = self.clone();
        let norms: Vec<&mut burn::nn::BatchNorm> = match &mut g.net {
            GeneratorNet::Seed(g) => g.batch_norms_mut().into_iter().collect(),
            GeneratorNet::Paper(g) => g.batch_norms_mut().collect(),
        };
        for bn in norms {
            *bn = batch_norm::debiased(bn, updates);
        }
        g
    }

    /// Gives every BatchNorm the moving statistics of `from`'s (a generator of the same
    /// architecture), as [`batch_norm::copy_moving_statistics`].
    pub fn copy_moving_statistics(&self, from: &Generator) {
        let targets: Vec<&burn::nn::BatchNorm> = match &self.net {
            GeneratorNet::Seed(g) => g.batch_norms().into_iter().collect(),
            GeneratorNet::Paper(g) => g.batch_norms().collect(),
        };
        let sources: Vec<&burn::nn::BatchNorm> = match &from.net {
            GeneratorNet::Seed(g) => g.batch_norms().into_iter().collect(),
            GeneratorNet::Paper(g) => g.batch_norms().collect(),
        };
        for (bn, source) in targets.into_iter().zip(sources) {
            batch_norm::copy_moving_statistics(bn, source);
        }
    }

    /// Applies the pending update of every BatchNorm's moving statistics (see
    /// [`batch_norm::sync`]); call before taking a record.
    pub fn sync_batch_norms(&self) {
        match &self.net {
            GeneratorNet::Seed(g) => g.batch_norms().into_iter().for_each(batch_norm::sync),
            GeneratorNet::Paper(g) => g.batch_norms().for_each(batch_norm::sync),
        }
    }

    /// Length of the noise vectors this generator takes (without the class code).
    pub fn noise_dim(&self) -> usize {
        let input = match &self.net {
            GeneratorNet::Seed(g) => g.noise_dim(),
            GeneratorNet::Paper(g) => g.noise_dim(),
        };
        input - self.classes
    }

    /// Height and width of the images this generator draws.
    pub fn image_size(&self) -> usize {
        match &self.net {
            GeneratorNet::Seed(g) => g.image_size(),
            GeneratorNet::Paper(g) => g.image_size(),
        }
    }

    /// Channels of the images this generator draws: 1 or 3.
    pub fn channels(&self) -> usize {
        match &self.net {
            GeneratorNet::Seed(g) => g.image_channels(),
            GeneratorNet::Paper(g) => g.image_channels(),
        }
    }

    /// The generator's width (see [`Architecture::g_width`](super::Architecture::g_width)).
    pub fn width(&self) -> usize {
        match &self.net {
            GeneratorNet::Seed(g) => g.width(),
            GeneratorNet::Paper(g) => g.width(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::conditioning::labels;
    use crate::model::{Architecture, Conditioning};
    use burn::tensor::{Device, TensorData};
    use rand::SeedableRng;

    /// A request for class k reaches the network as the one-hot code of k after the noise.
    #[test]
    fn a_class_request_reaches_the_network_as_its_one_hot_code() {
        let device = Device::flex();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let arch = Architecture::seed(6)
            .with_conditioning(Conditioning::Cgan, 4)
            .unwrap();
        let g = arch.generator(&mut rng, &device);
        assert_eq!((g.noise_dim(), g.classes()), (6, 4));
        let noise = crate::picture::uniform_noise(2, 6, &mut rng).to_tensor(&device);
        let asked = g.forward(noise.clone(), Some(labels(&[3, 1], &device)));
        let codes = [0., 0., 0., 1., 0., 1., 0., 0.];
        let codes = Tensor::from_data(TensorData::new(codes.to_vec(), [2, 4]), &device);
        let GeneratorNet::Seed(net) = &g.net else {
            panic!("the seed's family")
        };
        let direct = net.forward(Tensor::cat(vec![noise.clone(), codes], 1));
        assert_eq!(asked.into_data(), direct.into_data());
        // Another class, the same noise: another image.
        let first = |t: Tensor<4>| t.narrow(0, 0, 1).into_data();
        let other = g.forward(noise.clone(), Some(labels(&[2, 1], &device)));
        let asked = g.forward(noise, Some(labels(&[3, 1], &device)));
        assert!(first(other) != first(asked), "classes 2 and 3 differ");
    }
}
