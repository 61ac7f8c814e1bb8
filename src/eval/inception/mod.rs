//! The field's yardstick: pytorch-fid's Inception-v3 (the 2015 TensorFlow graph's weights),
//! whose 2048 pool3 features are what FID, KID and precision/recall are computed on for
//! every kind of image, and whose 1008-way logits give the Inception Score.
//!
//! [`network`] and [`blocks`] hold the model as burn modules, [`cpu`] runs it on dcgan's CPU
//! kernels, [`weights`] reads the two files that carry its weights, [`locate`] finds and
//! checks them, and [`preprocess`] turns images into its input exactly as pytorch-fid does.
//! [`InceptionExtractor`] runs it all on images in `[-1, 1]` or 8-bit pixels.

mod basic_conv;
mod blocks;
pub mod cpu;
pub mod locate;
pub mod network;
pub mod preprocess;
mod pytorch_file;
pub mod statistics;
pub mod weights;

use burn::tensor::{Device, Tensor, TensorData};

use crate::kernels::precision;

pub use cpu::CpuInception;
pub use locate::{InceptionId, installed, load};
pub use network::{FEATURES, INPUT_SIZE, Inception, InceptionConfig, InceptionOutput, LOGITS};
pub use weights::InceptionWeights;

/// Images per forward pass: large enough for full matrix products, small enough that the
/// first layers' maps (about 2.8 MB an image) stay near a gigabyte.
pub const CHUNK: usize = 32;

/// The network, ready to run on 8-bit images of any size.
pub struct InceptionExtractor {
    network: Network,
    /// Which weights it holds.
    pub id: InceptionId,
    device: Device,
}

/// Where the network runs.
enum Network {
    /// On dcgan's CPU kernels, in the precision `--precision` chose.
    Cpu(Box<CpuInception>),
    /// As burn modules, on another device.
    Burn(Box<Inception>),
}

impl InceptionExtractor {
    /// The network of [`load`], on `device`: on the CPU, dcgan's kernels run it.
    pub fn new(network: Inception, id: InceptionId, device: &Device) -> Self {
        let network = if device.clone().without_autodiff() == Device::flex() {
            Network::Cpu(Box::new(CpuInception::new(&network)))
        } else {
            Network::Burn(Box::new(network))
        };
        InceptionExtractor {
            network,
            id,
            device: device.clone(),
        }
    }

    /// True when the network gives logits (the Inception Score).
    pub fn has_logits(&self) -> bool {
        match &self.network {
            Network::Cpu(network) => network.has_logits(),
            Network::Burn(network) => network.has_logits(),
        }
    }

    /// Features (and logits) of 8-bit images `[batch, channels, height, width]`.
    pub fn forward_pixels(
        &self,
        pixels: &[u8],
        batch: usize,
        channels: usize,
        size: [usize; 2],
    ) -> InceptionOutput {
        let input = preprocess::network_input(pixels, batch, channels, size);
        match &self.network {
            Network::Cpu(network) => {
                let out = network.forward(&input, precision::current());
                let tensor = |values, width| {
                    Tensor::<2>::from_data(TensorData::new(values, [batch, width]), &self.device)
                };
                InceptionOutput {
                    features: tensor(out.features, FEATURES),
                    logits: out.logits.map(|logits| tensor(logits, LOGITS)),
                }
            }
            Network::Burn(network) => {
                let x = Tensor::<4>::from_data(
                    TensorData::new(input, [batch, 3, INPUT_SIZE, INPUT_SIZE]),
                    &self.device,
                );
                network.forward(x)
            }
        }
    }

    /// Features (and logits) of images in `[-1, 1]` (a generator's or a data set's), first
    /// quantised to 8 bits as a PNG would store them. Fails on NaN or infinite values,
    /// which no picture holds.
    ///
    /// # Shapes
    /// - images: `[batch, 1 or 3, height, width]`
    pub fn forward_images(&self, images: Tensor<4>) -> anyhow::Result<InceptionOutput> {
        let [batch, channels, height, width] = images.dims();
        let values = images
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("f32 values");
        if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
            anyhow::bail!(
                "the images to score hold {bad} values (a diverged generator?); there are no \
                 pixels to compare"
            );
        }
        let pixels = preprocess::quantise(&values);
        Ok(self.forward_pixels(&pixels, batch, channels, [height, width]))
    }
}
