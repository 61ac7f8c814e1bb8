//! A look inside the networks for the logs: every parameter's values and gradient, by name.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

/// A tensor's name (`G/deconv1.weight`) and its values, flattened.
pub type NamedValues = (String, Vec<f32>);

/// Walks a module, naming each float tensor by its path of field names.
struct Collector<'a> {
    prefix: &'a str,
    path: Vec<String>,
    gradients: Option<&'a GradientsParams>,
    out: Vec<NamedValues>,
}

/// True for the wrappers of [`Generator`](crate::model::Generator) and
/// [`Discriminator`](crate::model::Discriminator) around their network, and for the
/// family enums, which add no name: tensors keep the names they had before there were
/// families (`G/deconv1.weight`). D's class head is `D/head.…`.
fn is_family(name: &str, container_type: &str) -> bool {
    container_type.starts_with("Enum:")
        || (name == "net" && matches!(container_type, "Struct:Generator" | "Struct:Discriminator"))
}

impl ModuleVisitor for Collector<'_> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        if !is_family(name, container_type) {
            self.path.push(name.to_string());
        }
    }

    fn exit_module(&mut self, name: &str, container_type: &str) {
        if !is_family(name, container_type) {
            self.path.pop();
        }
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let tensor = match self.gradients {
            Some(grads) => match grads.get::<D>(param.id) {
                Some(grad) => grad,
                // Moving statistics have no gradient.
                None => return,
            },
            None => param.val(),
        };
        let values = tensor
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("f32 values");
        let name = format!("{}/{}", self.prefix, self.path.join("."));
        self.out.push((name, values));
    }
}

fn collect<M: Module>(
    module: &M,
    prefix: &str,
    gradients: Option<&GradientsParams>,
) -> Vec<NamedValues> {
    let mut collector = Collector {
        prefix,
        path: Vec::new(),
        gradients,
        out: Vec::new(),
    };
    module.visit(&mut collector);
    collector.out
}

/// Every float tensor of `module` (weights, biases, BatchNorm's scale, offset and moving
/// statistics), named `prefix/path.to.field`.
pub fn parameters<M: Module>(module: &M, prefix: &str) -> Vec<NamedValues> {
    collect(module, prefix, None)
}

/// The gradient of every trainable parameter of `module` in `grads`, named as
/// [`parameters`] names the parameter.
pub fn gradients<M: Module>(module: &M, grads: &GradientsParams, prefix: &str) -> Vec<NamedValues> {
    collect(module, prefix, Some(grads))
}

/// The L2 norm of `values`, accumulated in f64.
pub fn l2_norm(values: &[f32]) -> f32 {
    values
        .iter()
        .map(|&v| f64::from(v) * f64::from(v))
        .sum::<f64>()
        .sqrt() as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Architecture;
    use burn::tensor::Device;
    use rand::SeedableRng;

    #[test]
    fn names_every_parameter_and_gradient_of_the_generator() {
        let device = Device::flex().autodiff();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        // The run's generator, in its family wrapper, which adds nothing to the names.
        let g = Architecture::seed(100).generator(&mut rng, &device);
        let params = parameters(&g, "G");
        let total: usize = params.iter().map(|(_, v)| v.len()).sum();
        assert_eq!(total, g.num_params());
        let fc = params
            .iter()
            .find(|(n, _)| n == "G/fc.weight")
            .expect("G/fc.weight");
        assert_eq!(fc.1.len(), 100 * 7 * 7 * 128);

        let noise = crate::picture::uniform_noise(4, 100, &mut rng).to_tensor(&device);
        let loss = g.forward(noise, None).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &g);
        let grads = gradients(&g, &grads, "G");
        let names: Vec<&str> = grads.iter().map(|(n, _)| n.as_str()).collect();
        // Trainable tensors only: the moving statistics have no gradient.
        assert!(names.contains(&"G/deconv3.conv.weight"), "{names:?}");
        assert!(names.contains(&"G/bn0.gamma"), "{names:?}");
        assert!(!names.iter().any(|n| n.contains("running")), "{names:?}");
        assert!(grads.iter().all(|(_, v)| l2_norm(v).is_finite()));
        assert!(grads.iter().any(|(_, v)| l2_norm(v) > 0.0));
    }

    #[test]
    fn l2_norm_is_the_euclidean_length() {
        assert_eq!(l2_norm(&[3.0, -4.0]), 5.0);
        assert_eq!(l2_norm(&[]), 0.0);
    }
}
