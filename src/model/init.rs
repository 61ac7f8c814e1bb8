//! Initialisers, drawn from the run's seeded RNG: TensorFlow's defaults for the seed, the
//! DCGAN paper's normal distributions for its family.
//!
//! burn's layer configs draw from the device's generator and give biases the kernel's
//! initialiser; TF's layers use Glorot-uniform kernels and zero biases. Drawing on the CPU
//! from our own RNG also makes the initial weights the same on every device.

use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;

/// Glorot (Xavier) uniform: `U(-l, l)` with `l = sqrt(6 / (fan_in + fan_out))`.
///
/// For convolution kernels TF counts fans as channels times kernel area.
pub fn glorot_uniform<const D: usize>(
    shape: [usize; D],
    fan_in: usize,
    fan_out: usize,
    rng: &mut impl Rng,
    device: &Device,
) -> Param<Tensor<D>> {
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
    let count: usize = shape.iter().product();
    let values: Vec<f32> = (0..count)
        .map(|_| rng.random_range(-limit..limit))
        .collect();
    Param::from_data(TensorData::new(values, shape), device)
}

/// `N(mean, std²)`, the DCGAN paper's initialiser: weights `N(0, 0.02²)`, BatchNorm scales
/// `N(1, 0.02²)`.
pub fn normal<const D: usize>(
    shape: [usize; D],
    mean: f32,
    std: f32,
    rng: &mut impl Rng,
    device: &Device,
) -> Param<Tensor<D>> {
    let distribution = rand_distr::Normal::new(mean, std).expect("a positive deviation");
    let count: usize = shape.iter().product();
    let values: Vec<f32> = (0..count).map(|_| rng.sample(distribution)).collect();
    Param::from_data(TensorData::new(values, shape), device)
}

/// A zero bias of `len` values.
pub fn zeros(len: usize, device: &Device) -> Param<Tensor<1>> {
    Param::from_data(TensorData::new(vec![0.0f32; len], [len]), device)
}

/// Numbers the trainable parameters of `module` in traversal order, starting at `first`.
///
/// burn gives every parameter a random id, and checkpoints store the ids (optimiser states
/// are keyed by them); numbering them makes two runs with the same seed write identical
/// checkpoints. (BatchNorm's moving statistics keep the ids they were made with: a mapper
/// cannot change those.)
pub fn number_params<M: Module>(module: M, first: u64) -> M {
    struct Numbering(u64);
    impl ModuleMapper for Numbering {
        fn map_float<const D: usize>(&mut self, mut param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            param.id = ParamId::from(self.0);
            self.0 += 1;
            param
        }
    }
    module.map(&mut Numbering(first))
}
