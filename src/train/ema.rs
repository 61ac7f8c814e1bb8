//! An exponential moving average of G's weights (`--ema DECAY`), the generator that
//! sampling, evaluation and `generator.safetensors` use when a run keeps one (Karras et al.
//! 2018; Yazıcı et al. 2019).
//!
//! After every G step each weight becomes `decay · average + (1 − decay) · current`. The
//! decay ramps up as TensorFlow's `ExponentialMovingAverage` does with `num_updates`,
//! `min(decay, (1 + t) / (10 + t))` at update `t`, so the first weights, drawn at random,
//! are forgotten within the first epoch. BatchNorm's moving statistics are G's own, copied.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::Tensor;

use crate::model::Generator;

/// The decay of update `updates` (counted from 0) for a run's `decay`.
pub fn decay_at(decay: f64, updates: u64) -> f64 {
    let ramp = (1.0 + updates as f64) / (10.0 + updates as f64);
    decay.min(ramp)
}

/// Every parameter's values, flattened, by id.
fn values_by_id<M: Module>(module: &M) -> HashMap<ParamId, Tensor<1>> {
    struct Collect(HashMap<ParamId, Tensor<1>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.insert(param.id, param.val().flatten(0, D - 1));
        }
    }
    let mut collect = Collect(HashMap::new());
    module.visit(&mut collect);
    collect.0
}

/// `average` moved towards `current` (a module of the same structure and parameter ids):
/// each parameter becomes `decay · average + (1 − decay) · current`.
pub fn blend<M: Module>(average: M, current: &M, decay: f64) -> M {
    struct Blend {
        current: HashMap<ParamId, Tensor<1>>,
        decay: f64,
    }
    impl ModuleMapper for Blend {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let Some(current) = self.current.remove(&param.id) else {
                return param;
            };
            param.map(|average| {
                let shape = average.shape();
                let current: Tensor<D> = current.reshape(shape);
                average.mul_scalar(self.decay) + current.mul_scalar(1.0 - self.decay)
            })
        }
    }
    average.map(&mut Blend {
        current: values_by_id(current),
        decay,
    })
}

/// The average after G's update number `updates` (from 0): its weights blended towards
/// G's at [`decay_at`], its BatchNorm moving statistics G's. The average lives on G's
/// device without autodiff.
pub fn update(average: Generator, generator: &Generator, decay: f64, updates: u64) -> Generator {
    let current = generator.valid();
    let average = blend(average, &current, decay_at(decay, updates));
    average.copy_moving_statistics(&current);
    average
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::Linear;
    use burn::tensor::{Device, TensorData};

    fn linear(weights: [f32; 2], bias: f32, device: &Device) -> Linear {
        Linear {
            weight: Param::from_data(TensorData::new(weights.to_vec(), [2, 1]), device),
            bias: Some(Param::from_data(TensorData::new(vec![bias], [1]), device)),
        }
    }

    fn values(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn blending_is_the_weighted_mean_of_each_weight() {
        let device = Device::flex();
        let average = linear([1.0, 2.0], 4.0, &device);
        let mut current = linear([3.0, -2.0], 0.0, &device);
        // The same parameters, as G and its average share them.
        current.weight.id = average.weight.id;
        current.bias.as_mut().unwrap().id = average.bias.as_ref().unwrap().id;
        let blended = blend(average, &current, 0.75);
        assert_eq!(values(blended.weight.val()), [1.5, 1.0]);
        assert_eq!(
            blended
                .bias
                .unwrap()
                .val()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap(),
            [3.0]
        );
    }

    #[test]
    fn the_decay_ramps_up_to_the_runs() {
        assert_eq!(decay_at(0.999, 0), 0.1);
        assert!((decay_at(0.999, 90) - 0.91).abs() < 1e-12);
        assert_eq!(decay_at(0.999, 1_000_000), 0.999);
        assert_eq!(decay_at(0.5, 100), 0.5);
    }
}
