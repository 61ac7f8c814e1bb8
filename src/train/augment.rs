//! DiffAugment (Zhao et al. 2020, `--augment translation,cutout,color`): the same random,
//! differentiable transformations applied to every image D sees, real and generated, in
//! both steps, so D cannot memorise the training set while G still learns through them.
//!
//! As the paper's code does: `color` shifts brightness by U(−0.5, 0.5), scales
//! saturation by U(0, 2) and contrast by U(0.5, 1.5); `translation` shifts by up to an
//! eighth of the side each way, filling with 0 (mid-grey); `cutout` zeroes a square of half
//! the side at a random place. Each image draws its own amounts from the run's RNG, so a
//! seeded run stays repeatable.

use std::ops::Range;

use burn::tensor::{Int, Tensor, TensorData};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// One kind of augmentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Augmentation {
    /// Shifts by up to 1/8 of the side, filling with 0.
    Translation,
    /// Zeroes a square of half the side.
    Cutout,
    /// Brightness, saturation and contrast.
    Color,
}

impl Augmentation {
    /// The name on the command line and in `config.toml`.
    pub fn name(self) -> &'static str {
        match self {
            Augmentation::Translation => "translation",
            Augmentation::Cutout => "cutout",
            Augmentation::Color => "color",
        }
    }
}

/// The random amounts of one batch's augmentation, drawn on the CPU.
#[derive(Debug, Clone)]
pub struct BatchAugment {
    batch: usize,
    side: usize,
    /// Per image: brightness shift, saturation scale, contrast scale.
    color: Option<Vec<[f32; 3]>>,
    /// Per image and pixel: the source pixel's index, or `side²` for a filled one.
    sources: Option<Vec<i64>>,
    /// Per image and pixel: 1, or 0 inside the cut-out square.
    mask: Option<Vec<f32>>,
}

/// The draws of one training iteration: D's real and generated batches, and G's.
#[derive(Debug, Clone)]
pub struct IterationAugment {
    /// For the real images of the D step.
    pub real: BatchAugment,
    /// For the generated images of the D step.
    pub fake_d: BatchAugment,
    /// For the generated images of the G step.
    pub fake_g: BatchAugment,
}

impl IterationAugment {
    /// Draws an iteration's amounts for `kinds` on batches of `batch` images of `side`.
    pub fn draw(kinds: &[Augmentation], batch: usize, side: usize, rng: &mut impl Rng) -> Self {
        IterationAugment {
            real: BatchAugment::draw(kinds, batch, side, rng),
            fake_d: BatchAugment::draw(kinds, batch, side, rng),
            fake_g: BatchAugment::draw(kinds, batch, side, rng),
        }
    }

    /// The draws of images `rows` alone: a process's slice of the batch in a run on several
    /// processes, which draws the whole batch's amounts as one process does.
    pub fn rows(&self, rows: Range<usize>) -> Self {
        IterationAugment {
            real: self.real.rows(rows.clone()),
            fake_d: self.fake_d.rows(rows.clone()),
            fake_g: self.fake_g.rows(rows),
        }
    }
}

impl BatchAugment {
    /// Draws the amounts for `kinds` on `batch` images of `side × side`.
    pub fn draw(kinds: &[Augmentation], batch: usize, side: usize, rng: &mut impl Rng) -> Self {
        let mut out = BatchAugment {
            batch,
            side,
            color: None,
            sources: None,
            mask: None,
        };
        if kinds.contains(&Augmentation::Color) {
            let amounts = (0..batch)
                .map(|_| {
                    [
                        rng.random::<f32>() - 0.5,
                        rng.random::<f32>() * 2.0,
                        rng.random::<f32>() + 0.5,
                    ]
                })
                .collect();
            out.color = Some(amounts);
        }
        if kinds.contains(&Augmentation::Translation) {
            let reach = (side / 8) as i64;
            let area = (side * side) as i64;
            let mut sources = Vec::with_capacity(batch * side * side);
            for _ in 0..batch {
                let dy = rng.random_range(-reach..=reach);
                let dx = rng.random_range(-reach..=reach);
                for y in 0..side as i64 {
                    for x in 0..side as i64 {
                        let (sy, sx) = (y - dy, x - dx);
                        let inside =
                            (0..side as i64).contains(&sy) && (0..side as i64).contains(&sx);
                        sources.push(if inside { sy * side as i64 + sx } else { area });
                    }
                }
            }
            out.sources = Some(sources);
        }
        if kinds.contains(&Augmentation::Cutout) {
            let cut = side / 2;
            let mut mask = vec![1.0f32; batch * side * side];
            for image in mask.chunks_mut(side * side) {
                // The square's centre anywhere in the image, as the paper's code draws it.
                let cy = rng.random_range(0..side + 1 - cut % 2) as i64;
                let cx = rng.random_range(0..side + 1 - cut % 2) as i64;
                let half = (cut / 2) as i64;
                for y in (cy - half).max(0)..(cy - half + cut as i64).min(side as i64) {
                    for x in (cx - half).max(0)..(cx - half + cut as i64).min(side as i64) {
                        image[(y * side as i64 + x) as usize] = 0.0;
                    }
                }
            }
            out.mask = Some(mask);
        }
        out
    }

    /// The amounts of images `rows` alone.
    fn rows(&self, rows: Range<usize>) -> Self {
        let area = self.side * self.side;
        let pixels = rows.start * area..rows.end * area;
        BatchAugment {
            batch: rows.len(),
            side: self.side,
            color: self.color.as_ref().map(|c| c[rows].to_vec()),
            sources: self.sources.as_ref().map(|s| s[pixels.clone()].to_vec()),
            mask: self.mask.as_ref().map(|m| m[pixels].to_vec()),
        }
    }

    /// The augmented images; gradients flow through to `images`.
    ///
    /// # Shapes
    /// - images: `[batch, channels, side, side]`
    pub fn apply(&self, images: Tensor<4>) -> Tensor<4> {
        let [batch, channels, height, width] = images.dims();
        assert_eq!(
            (batch, height, width),
            (self.batch, self.side, self.side),
            "augmentation drawn for another batch"
        );
        let device = images.device();
        let mut x = images;
        if let Some(color) = &self.color {
            let amount = |k: usize| -> Tensor<4> {
                let values: Vec<f32> = color.iter().map(|c| c[k]).collect();
                Tensor::from_data(TensorData::new(values, [batch, 1, 1, 1]), &device)
            };
            x = x + amount(0);
            let mean = x.clone().mean_dim(1);
            x = (x - mean.clone()) * amount(1) + mean;
            let mean = x.clone().mean_dim(1).mean_dim(2).mean_dim(3);
            x = (x - mean.clone()) * amount(2) + mean;
        }
        if let Some(sources) = &self.sources {
            let area = height * width;
            // Pixel `area` of each padded row is the fill value, 0.
            let flat: Tensor<3> = x.reshape([batch, channels, area]);
            let padded = Tensor::cat(vec![flat, Tensor::zeros([batch, channels, 1], &device)], 2);
            let index: Tensor<3, Int> =
                Tensor::from_data(TensorData::new(sources.clone(), [batch, 1, area]), &device);
            let index = index.expand([batch, channels, area]);
            x = padded
                .gather(2, index)
                .reshape([batch, channels, height, width]);
        }
        if let Some(mask) = &self.mask {
            let mask: Tensor<4> = Tensor::from_data(
                TensorData::new(mask.clone(), [batch, 1, height, width]),
                &device,
            );
            x = x * mask;
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;
    use rand::SeedableRng;

    fn values(t: Tensor<4>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    /// A translation moves pixels and fills with 0; a cut-out square is a quarter of the
    /// image; color changes brightness; and gradients reach the input.
    #[test]
    fn each_augmentation_does_what_it_says() {
        let device = Device::flex().autodiff();
        let side = 16;
        let ramp: Vec<f32> = (0..side * side).map(|i| 0.5 + i as f32 / 1000.0).collect();
        let image =
            Tensor::<4>::from_data(TensorData::new(ramp.clone(), [1, 1, side, side]), &device)
                .require_grad();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);

        let moved = BatchAugment::draw(&[Augmentation::Translation], 1, side, &mut rng);
        let out = values(moved.apply(image.clone()));
        let sources = moved.sources.as_ref().unwrap();
        for (pixel, &source) in sources.iter().enumerate() {
            let want = if source == (side * side) as i64 {
                0.0
            } else {
                ramp[source as usize]
            };
            assert_eq!(out[pixel], want);
        }

        let cut = BatchAugment::draw(&[Augmentation::Cutout], 1, side, &mut rng);
        let zeros = values(cut.apply(image.clone()))
            .iter()
            .filter(|&&v| v == 0.0)
            .count();
        assert!((1..=side * side / 4).contains(&zeros), "{zeros} pixels cut");

        let colour = BatchAugment::draw(&[Augmentation::Color], 1, side, &mut rng);
        let shifted = colour.apply(image.clone());
        assert!(values(shifted.clone()) != ramp);
        let grads = shifted.sum().backward();
        assert!(image.grad(&grads).is_some(), "gradients reach the images");
    }

    #[test]
    fn the_same_seed_draws_the_same_amounts() {
        let kinds = [
            Augmentation::Translation,
            Augmentation::Cutout,
            Augmentation::Color,
        ];
        let draw = || {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
            BatchAugment::draw(&kinds, 4, 28, &mut rng)
        };
        let (a, b) = (draw(), draw());
        assert_eq!((a.sources, a.mask, a.color), (b.sources, b.mask, b.color));
    }
}
