//! Weight clipping, the original Wasserstein GAN's way of keeping its critic
//! Lipschitz (Arjovsky et al. 2017, Algorithm 1): after every critic step each parameter is
//! clamped to `[−c, c]`.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::Tensor;

/// `module` with every parameter clamped to `[-limit, limit]` (BatchNorm's moving
/// statistics, which are not parameters, are left alone).
pub fn clip_weights<M: Module>(module: M, limit: f64) -> M {
    struct Clip(f64);
    impl ModuleMapper for Clip {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let limit = self.0;
            // A new leaf: the clamp is no part of the next step's graph.
            param.map(|t| {
                let trainable = t.is_require_grad();
                let clipped = t.clamp(-limit, limit).detach();
                if trainable {
                    clipped.require_grad()
                } else {
                    clipped
                }
            })
        }
    }
    module.map(&mut Clip(limit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::Linear;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn every_parameter_is_clamped_to_the_limit() {
        let device = Device::flex();
        let linear = Linear {
            weight: Param::from_data(TensorData::new(vec![0.5f32, -0.005, -3.0], [3, 1]), &device),
            bias: Some(Param::from_data(
                TensorData::new(vec![0.02f32], [1]),
                &device,
            )),
        };
        let clipped = clip_weights(linear, 0.01);
        let values = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(values(clipped.weight.val()), [0.01, -0.005, -0.01]);
        let bias = clipped
            .bias
            .unwrap()
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(bias, [0.01]);
    }
}
