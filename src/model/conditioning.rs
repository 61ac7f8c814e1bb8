//! Class conditioning: how a conditional GAN tells its networks which class to draw or
//! judge. Every kind gives G the class the same way (its one-hot code joined to the
//! noise); they differ in D.

use burn::module::Module;
use burn::nn::{Embedding, Linear};
use burn::tensor::{Device, Int, Tensor};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::init::{glorot_uniform, number_params, zeros};

/// The most classes a conditional run may have (a folder's sub-folders are capped there).
pub const MAX_CLASSES: usize = 256;

/// Parameter ids of D's class head (after G's `1 << 32` and D's `2 << 32`).
const HEAD_IDS: u64 = 3 << 32;

/// How D is told the class (`--conditional`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Conditioning {
    /// cGAN (Mirza & Osindero, 2014): D sees the class as one constant map per class
    /// joined to the image's channels.
    Cgan,
    /// ACGAN (Odena et al., 2017): D sees the image alone and has a second head that names
    /// its class; both networks also learn from that classification.
    Acgan,
    /// The projection discriminator (Miyato & Koyama, 2018): D's logit gains the inner
    /// product of a learned class embedding with D's features.
    Projection,
}

impl Conditioning {
    /// The flag value naming this kind.
    pub fn name(self) -> &'static str {
        match self {
            Conditioning::Cgan => "cgan",
            Conditioning::Acgan => "acgan",
            Conditioning::Projection => "projection",
        }
    }
}

/// A conditional architecture: the kind of conditioning and the number of classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conditional {
    /// How D is told the class.
    pub conditioning: Conditioning,
    /// Number of classes, 2 to [`MAX_CLASSES`].
    pub classes: usize,
}

/// Class labels as a tensor, for a conditional network.
///
/// # Shapes
/// - output: `[classes.len()]`
pub fn labels(classes: &[usize], device: &Device) -> Tensor<1, Int> {
    let values: Vec<i64> = classes.iter().map(|&c| c as i64).collect();
    Tensor::from_data(
        burn::tensor::TensorData::new(values, [classes.len()]),
        device,
    )
}

/// Labels as one-hot rows.
///
/// # Shapes
/// - labels: `[batch]`, each below `classes`
/// - output: `[batch, classes]`, 1.0 at the label, 0.0 elsewhere
pub fn one_hot(labels: Tensor<1, Int>, classes: usize) -> Tensor<2> {
    labels.one_hot::<2>(classes).float()
}

/// Labels as cGAN's input maps: one constant `side × side` map per class, 1.0 in the
/// label's map, 0.0 in the others.
///
/// # Shapes
/// - labels: `[batch]`
/// - output: `[batch, classes, side, side]`
pub fn label_maps(labels: Tensor<1, Int>, classes: usize, side: usize) -> Tensor<4> {
    let [batch] = labels.dims();
    one_hot(labels, classes)
        .reshape([batch, classes, 1, 1])
        .expand([batch, classes, side, side])
}

/// D's class head: what ACGAN and the projection discriminator add to D, working on D's
/// features (its last hidden layer, flattened).
#[derive(Module, Debug)]
pub enum ClassHead {
    /// ACGAN's classifier: features to one logit per class.
    Auxiliary(Linear),
    /// The projection discriminator's class embedding: one feature-sized vector per class.
    Projection(Embedding),
}

impl ClassHead {
    /// The head `conditional` needs on `features` features, if any (cGAN has none), with
    /// Glorot-uniform weights from `rng`.
    pub fn new(
        conditional: Conditional,
        features: usize,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Option<ClassHead> {
        let classes = conditional.classes;
        let head = match conditional.conditioning {
            Conditioning::Cgan => return None,
            Conditioning::Acgan => ClassHead::Auxiliary(Linear {
                weight: glorot_uniform([features, classes], features, classes, rng, device),
                bias: Some(zeros(classes, device)),
            }),
            Conditioning::Projection => ClassHead::Projection(Embedding {
                weight: glorot_uniform([classes, features], classes, features, rng, device),
            }),
        };
        Some(number_params(head, HEAD_IDS))
    }

    /// ACGAN's class logits `[batch, classes]` for `features` `[batch, features]`; `None`
    /// for the projection head.
    pub fn class_logits(&self, features: Tensor<2>) -> Option<Tensor<2>> {
        match self {
            ClassHead::Auxiliary(linear) => Some(linear.forward(features)),
            ClassHead::Projection(_) => None,
        }
    }

    /// The projection term `⟨embed(label), features⟩` `[batch, 1]` that the projection
    /// discriminator adds to its logit; `None` for ACGAN's head.
    pub fn projection(&self, features: Tensor<2>, labels: Tensor<1, Int>) -> Option<Tensor<2>> {
        match self {
            ClassHead::Auxiliary(_) => None,
            ClassHead::Projection(embedding) => {
                let [batch] = labels.dims();
                let embedded: Tensor<3> = embedding.forward(labels.reshape([batch, 1]));
                let embedded: Tensor<2> = embedded.flatten(1, 2); // [batch, features]
                Some((embedded * features).sum_dim(1))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;
    use rand::SeedableRng;

    fn labels(values: &[i64], device: &Device) -> Tensor<1, Int> {
        Tensor::from_data(TensorData::new(values.to_vec(), [values.len()]), device)
    }

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn label_maps_light_the_labels_map_only() {
        let device = Device::flex();
        let maps = label_maps(labels(&[2, 0], &device), 3, 2);
        assert_eq!(maps.dims(), [2, 3, 2, 2]);
        let v = values(maps);
        // Image 0, class 2: maps 0 and 1 dark, map 2 lit.
        assert_eq!(&v[..12], &[0., 0., 0., 0., 0., 0., 0., 0., 1., 1., 1., 1.]);
        assert_eq!(&v[12..], &[1., 1., 1., 1., 0., 0., 0., 0., 0., 0., 0., 0.]);
    }

    #[test]
    fn projection_is_the_inner_product_with_the_labels_embedding() {
        let device = Device::flex();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let conditional = Conditional {
            conditioning: Conditioning::Projection,
            classes: 3,
        };
        let head = ClassHead::new(conditional, 4, &mut rng, &device).unwrap();
        let ClassHead::Projection(embedding) = &head else {
            panic!("a projection head")
        };
        let table = values(embedding.weight.val()); // [3, 4]
        let features = [1.0f32, -2.0, 0.5, 3.0, 0.0, 1.0, 1.0, -1.0];
        let f = Tensor::from_data(TensorData::new(features.to_vec(), [2, 4]), &device);
        let got = values(head.projection(f, labels(&[1, 2], &device)).unwrap());
        let dot = |row: usize, image: usize| -> f32 {
            (0..4)
                .map(|i| table[row * 4 + i] * features[image * 4 + i])
                .sum()
        };
        assert!((got[0] - dot(1, 0)).abs() < 1e-6, "{got:?}");
        assert!((got[1] - dot(2, 1)).abs() < 1e-6, "{got:?}");
        assert!(head.class_logits(Tensor::zeros([1, 4], &device)).is_none());
    }

    #[test]
    fn cgan_has_no_head_and_acgan_one_logit_per_class() {
        let device = Device::flex();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let of = |conditioning| Conditional {
            conditioning,
            classes: 5,
        };
        assert!(ClassHead::new(of(Conditioning::Cgan), 8, &mut rng, &device).is_none());
        let acgan = ClassHead::new(of(Conditioning::Acgan), 8, &mut rng, &device).unwrap();
        let logits = acgan.class_logits(Tensor::ones([2, 8], &device)).unwrap();
        assert_eq!(logits.dims(), [2, 5]);
    }
}
