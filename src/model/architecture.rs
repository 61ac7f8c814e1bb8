//! What a run's networks are: everything needed to build them again, saved with the run
//! and in the generator file, so `sample`, `eval` and `--resume` need no flags for it.

use anyhow::bail;
use burn::tensor::Device;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::conditioning::{ClassHead, Conditional, Conditioning, MAX_CLASSES};
use super::{Discriminator, DiscriminatorNet, Generator, GeneratorNet, paper, seed};

/// The two families of networks dcgan trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// The seed tutorial's DCGAN for 28×28 images: 5×5 kernels, TF's padding, initialisers
    /// and BatchNorm ([`seed`]).
    Seed,
    /// The DCGAN paper's family for sides 16 to 256 (a power of two): 4×4 kernels, no
    /// biases, N(0, 0.02²) weights, PyTorch's BatchNorm ([`paper`]).
    Paper,
}

/// The seed's generator width: channels of its first 7×7 map.
const SEED_G_WIDTH: usize = 128;
/// The seed's discriminator width: channels of its first convolution.
const SEED_D_WIDTH: usize = 32;

/// The longest noise vector: far beyond any GAN's (100 to 512), short of sizes that would
/// exhaust memory in the first layer.
const MAX_NOISE_DIM: usize = 65_536;

/// The most channels any layer of the paper's family may have.
const MAX_CHANNELS: usize = 4096;

/// A run's generator and discriminator, described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Architecture {
    /// Which family.
    pub family: Family,
    /// Side of the square images, in pixels.
    pub image_size: usize,
    /// Channels of the images: 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// Length of the noise vector.
    pub noise_dim: usize,
    /// G's width: the paper's `ngf` (channels of the last hidden map), or the seed's 128
    /// (channels of its first map).
    pub g_width: usize,
    /// D's width: channels of its first convolution (the paper's `ndf`; the seed's 32).
    pub d_width: usize,
    /// For a conditional GAN, how the networks are told the class, and how many classes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditional: Option<Conditional>,
}

impl Architecture {
    /// The networks for `image_size`: the seed's at 28, the paper's family at a power of two
    /// from 16 to 256. Widths apply to the paper's family (default 64, PyTorch's); the seed's
    /// are fixed, so giving one for it is an error. Errors name the flag.
    pub fn new(
        image_size: usize,
        channels: usize,
        noise_dim: usize,
        g_width: Option<usize>,
        d_width: Option<usize>,
    ) -> anyhow::Result<Self> {
        if !matches!(channels, 1 | 3) {
            bail!("--channels must be 1 (grey) or 3 (RGB), got {channels}");
        }
        if !(1..=MAX_NOISE_DIM).contains(&noise_dim) {
            bail!("--noise-dim must be between 1 and {MAX_NOISE_DIM}, got {noise_dim}");
        }
        if image_size == 28 {
            if g_width.is_some() || d_width.is_some() {
                bail!(
                    "--g-width and --d-width set the DCGAN paper's family (--image-size 16 to \
                     256); the seed's model at 28×28 has fixed widths ({SEED_G_WIDTH} and \
                     {SEED_D_WIDTH}). Drop them, or pick another --image-size"
                );
            }
            return Ok(Architecture {
                family: Family::Seed,
                image_size,
                channels,
                noise_dim,
                g_width: SEED_G_WIDTH,
                d_width: SEED_D_WIDTH,
                conditional: None,
            });
        }
        if paper::levels(image_size).is_none() {
            bail!(
                "--image-size must be 28 (the seed's model) or a power of two from 16 to 256 \
                 (the DCGAN paper's family), got {image_size}"
            );
        }
        let levels = paper::levels(image_size).expect("checked above");
        // The widest map has `width · 2ᵏ` channels; past 4,096 a single layer holds more
        // than 2⁸ million weights, beyond what dcgan trains on one machine.
        let width = |flag: &str, value: Option<usize>| -> anyhow::Result<usize> {
            let w = value.unwrap_or(64);
            let widest = w.checked_shl(levels as u32).unwrap_or(usize::MAX);
            if w == 0 || widest > MAX_CHANNELS {
                bail!(
                    "{flag} must be at least 1 and make at most {MAX_CHANNELS} channels in the \
                     widest layer ({flag} × 2^{levels} at --image-size {image_size}), got {w}"
                );
            }
            Ok(w)
        };
        Ok(Architecture {
            family: Family::Paper,
            image_size,
            channels,
            noise_dim,
            g_width: width("--g-width", g_width)?,
            d_width: width("--d-width", d_width)?,
            conditional: None,
        })
    }

    /// The same networks told the class by `conditioning`, with `classes` classes (2 to
    /// [`MAX_CLASSES`]); the error names `--conditional`.
    pub fn with_conditioning(
        self,
        conditioning: Conditioning,
        classes: usize,
    ) -> anyhow::Result<Self> {
        if !(2..=MAX_CLASSES).contains(&classes) {
            bail!(
                "--conditional {} needs a data set with 2 to {MAX_CLASSES} classes, this one \
                 has {classes}",
                conditioning.name()
            );
        }
        Ok(Architecture {
            conditional: Some(Conditional {
                conditioning,
                classes,
            }),
            ..self
        })
    }

    /// Classes of a conditional architecture; 0 for an unconditional one.
    pub fn classes(&self) -> usize {
        self.conditional.map_or(0, |c| c.classes)
    }

    /// The seed's networks for 28×28 grey images and `noise_dim` numbers of noise.
    pub fn seed(noise_dim: usize) -> Self {
        Architecture::new(28, 1, noise_dim, None, None).expect("the seed's sizes are valid")
    }

    /// A fresh generator, its weights drawn from `rng`.
    pub fn generator(&self, rng: &mut impl Rng, device: &Device) -> Generator {
        // A conditional generator's network takes the class's one-hot code after the noise.
        let input = self.noise_dim + self.classes();
        let net = match self.family {
            Family::Seed => GeneratorNet::Seed(
                seed::GeneratorConfig::new()
                    .with_noise_dim(input)
                    .with_image_channels(self.channels)
                    .init(rng, device),
            ),
            Family::Paper => GeneratorNet::Paper(
                paper::GeneratorConfig::new(self.image_size, self.channels)
                    .with_noise_dim(input)
                    .with_width(self.g_width)
                    .init(rng, device),
            ),
        };
        Generator::new(net, self.classes())
    }

    /// A fresh discriminator, its weights drawn from `rng`.
    pub fn discriminator(&self, rng: &mut impl Rng, device: &Device) -> Discriminator {
        // cGAN's discriminator takes one map per class after the image's channels.
        let label_maps = match self.conditional {
            Some(c) if c.conditioning == Conditioning::Cgan => c.classes,
            _ => 0,
        };
        let input = self.channels + label_maps;
        let (net, features) = match self.family {
            Family::Seed => {
                let d = seed::DiscriminatorConfig::new()
                    .with_image_channels(input)
                    .init(rng, device);
                let features = d.features_len();
                (DiscriminatorNet::Seed(d), features)
            }
            Family::Paper => {
                let d = paper::DiscriminatorConfig::new(self.image_size, input)
                    .with_width(self.d_width)
                    .init(rng, device);
                let features = d.features_len();
                (DiscriminatorNet::Paper(d), features)
            }
        };
        let head = self
            .conditional
            .and_then(|c| ClassHead::new(c, features, rng, device));
        Discriminator::new(net, head, label_maps)
    }

    /// Values in the generator's file ([`crate::weights`]): every weight, BatchNorm's γ, β
    /// and moving averages, and the seed's biases. Computed from the sizes alone (saturating
    /// at `u64::MAX`), so a file's claims can be checked before anything is built.
    pub fn generator_values(&self) -> u64 {
        let n = |v: usize| v as u64;
        let (nz, image) = (n(self.noise_dim) + n(self.classes()), n(self.channels));
        let mul = |a: u64, b: u64| a.saturating_mul(b);
        match self.family {
            Family::Seed => {
                let c = n(self.g_width);
                let (c2, c4) = (c / 2, c / 4);
                let deconv = |i: u64, o: u64| mul(mul(i, o), 25) + o;
                mul(nz + 1, c * 49)
                    + 4 * c
                    + deconv(c, c2)
                    + 4 * c2
                    + deconv(c2, c4)
                    + 4 * c4
                    + deconv(c4, image)
            }
            Family::Paper => {
                let k = paper::levels(self.image_size).unwrap_or(0) as u32;
                let mut c = n(self.g_width) << k;
                let mut total = mul(mul(nz, c), 16).saturating_add(4 * c);
                for _ in 0..k {
                    total = total.saturating_add(mul(mul(c, c / 2), 16) + 2 * c);
                    c /= 2;
                }
                total.saturating_add(mul(mul(c, image), 16))
            }
        }
    }

    /// One line for the user: `the seed's DCGAN, 28×28 grey` or `the DCGAN paper's family,
    /// 64×64 RGB, widths 64/64`.
    pub fn describe(&self) -> String {
        let side = self.image_size;
        let colour = if self.channels == 3 { "RGB" } else { "grey" };
        let networks = match self.family {
            Family::Seed => format!("the seed's DCGAN, {side}×{side} {colour}"),
            Family::Paper => format!(
                "the DCGAN paper's family, {side}×{side} {colour}, widths G {} / D {}",
                self.g_width, self.d_width
            ),
        };
        match self.conditional {
            Some(c) => format!(
                "{networks}, conditional ({}, {} classes)",
                c.conditioning.name(),
                c.classes
            ),
            None => networks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_size_chooses_the_family_and_bad_values_name_their_flag() {
        let seed = Architecture::new(28, 1, 100, None, None).unwrap();
        assert_eq!(
            (seed.family, seed.g_width, seed.d_width),
            (Family::Seed, 128, 32)
        );
        let paper = Architecture::new(64, 3, 100, None, Some(32)).unwrap();
        assert_eq!(
            (paper.family, paper.g_width, paper.d_width),
            (Family::Paper, 64, 32)
        );
        let err = |r: anyhow::Result<Architecture>| r.unwrap_err().to_string();
        assert!(err(Architecture::new(48, 3, 100, None, None)).contains("--image-size"));
        assert!(err(Architecture::new(512, 3, 100, None, None)).contains("--image-size"));
        assert!(err(Architecture::new(64, 2, 100, None, None)).contains("--channels"));
        assert!(err(Architecture::new(28, 1, 100, Some(64), None)).contains("--g-width"));
        assert!(err(Architecture::new(64, 3, 100, Some(0), None)).contains("--g-width"));
        // 1024 · 2⁵ channels at 256 px: refused; 128 · 2⁵ = 4096 is the most.
        assert!(err(Architecture::new(256, 3, 100, Some(1024), None)).contains("--g-width"));
        assert!(Architecture::new(256, 3, 100, Some(128), None).is_ok());
        assert!(err(Architecture::new(256, 3, 100, None, Some(256))).contains("--d-width"));
        let seed = Architecture::seed(100);
        assert!(
            err(seed.clone().with_conditioning(Conditioning::Cgan, 1)).contains("--conditional")
        );
        assert!(err(seed.with_conditioning(Conditioning::Acgan, 257)).contains("--conditional"));
    }

    #[test]
    fn built_networks_match_the_description() {
        use rand::SeedableRng;
        let device = Device::flex();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        for arch in [
            Architecture::seed(100),
            Architecture::new(28, 3, 100, None, None).unwrap(),
            Architecture::new(32, 3, 16, Some(8), Some(8)).unwrap(),
            Architecture::new(16, 1, 16, Some(4), Some(4)).unwrap(),
            Architecture::seed(100)
                .with_conditioning(Conditioning::Cgan, 10)
                .unwrap(),
            Architecture::new(32, 3, 16, Some(8), Some(8))
                .unwrap()
                .with_conditioning(Conditioning::Acgan, 3)
                .unwrap(),
            Architecture::new(16, 1, 16, Some(4), Some(4))
                .unwrap()
                .with_conditioning(Conditioning::Projection, 4)
                .unwrap(),
        ] {
            let g = arch.generator(&mut rng, &device);
            assert_eq!(
                (
                    g.family(),
                    g.image_size(),
                    g.channels(),
                    g.noise_dim(),
                    g.width()
                ),
                (
                    arch.family,
                    arch.image_size,
                    arch.channels,
                    arch.noise_dim,
                    arch.g_width
                ),
                "{}",
                arch.describe()
            );
            let d = arch.discriminator(&mut rng, &device);
            let labels = (arch.classes() > 0).then(|| {
                burn::tensor::Tensor::from_data(
                    burn::tensor::TensorData::new(vec![1i64, 0], [2]),
                    &device,
                )
            });
            let images = g.forward(
                crate::picture::uniform_noise(2, arch.noise_dim, &mut rng).to_tensor(&device),
                labels.clone(),
            );
            let side = arch.image_size;
            assert_eq!(images.dims(), [2, arch.channels, side, side]);
            let in_file: usize = crate::weights::generator_tensors(&g)
                .iter()
                .map(|(_, _, values)| values.len())
                .sum();
            assert_eq!(
                arch.generator_values(),
                in_file as u64,
                "{}",
                arch.describe()
            );
            let judgement = d.forward(images, labels);
            assert_eq!(judgement.logits.dims(), [2, 1]);
            let acgan = arch.conditional.map(|c| c.conditioning) == Some(Conditioning::Acgan);
            assert_eq!(
                judgement.class_logits.map(|l| l.dims()),
                acgan.then_some([2, arch.classes()])
            );
        }
    }
}
