//! Spectral normalisation (Miyato et al. 2018, `--spectral-norm`): D's weight matrices
//! divided by their largest singular value σ, estimated by one power iteration per
//! training step from a vector kept between steps (as PyTorch's `spectral_norm` does).
//!
//! Every parameter of two or more dimensions is a weight matrix: a convolution's
//! `[out, in, k, k]` taken as `[out, in·k·k]`, a dense layer's or an embedding's as it is
//! (σ of a matrix and of its transpose are the same). Biases and BatchNorm's γ and β are
//! left alone. The normalised weights are `W / σ(W)` with the power iteration's vectors
//! held constant, so gradients reach `W` through σ too.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;

/// The power iteration's left vectors, one per weight matrix of a module, in the module's
/// order.
#[derive(Debug, Clone)]
pub struct SpectralNorm {
    vectors: Vec<Tensor<1>>,
}

/// `v / ‖v‖` (with a floor on the norm, as PyTorch's `normalize` has).
fn normalize(v: Tensor<1>) -> Tensor<1> {
    let norm = v.clone().powf_scalar(2.0).sum().sqrt().clamp_min(1e-12);
    v / norm
}

/// A parameter as a matrix: its first axis by the rest.
fn as_matrix<const D: usize>(w: Tensor<D>) -> Tensor<2> {
    let dims = w.dims();
    let rows = dims[0];
    let cols = dims[1..].iter().product();
    w.reshape([rows, cols])
}

/// `σ` of `w` and the next left vector, from the left vector `u`: one power iteration.
/// The vectors carry no gradient; σ does, through `w`.
fn power_iteration(w: Tensor<2>, u: Tensor<1>) -> (Tensor<1>, Tensor<1>) {
    let fixed = w.clone().detach();
    let [rows, cols] = fixed.dims();
    let v = normalize(
        fixed
            .clone()
            .transpose()
            .matmul(u.detach().reshape([rows, 1]))
            .reshape([cols]),
    );
    let u = normalize(fixed.matmul(v.clone().reshape([cols, 1])).reshape([rows]));
    let wv = w.matmul(v.reshape([cols, 1])).reshape([rows]);
    let sigma = (u.clone() * wv).sum();
    (sigma, u)
}

impl SpectralNorm {
    /// Fresh vectors for every weight matrix of `module`, drawn from N(0, 1) by `rng` and
    /// normalised.
    pub fn new<M: Module>(module: &M, rng: &mut impl Rng, device: &Device) -> Self {
        let vectors = matrix_rows(module)
            .into_iter()
            .map(|rows| {
                let values: Vec<f32> = (0..rows)
                    .map(|_| rng.sample(rand_distr::StandardNormal))
                    .collect();
                normalize(Tensor::from_data(TensorData::new(values, [rows]), device))
            })
            .collect();
        SpectralNorm { vectors }
    }

    /// `module` with every weight matrix divided by its σ. With `iterate`, the power
    /// iteration advances (training's D step); without, the current vectors give σ (the G
    /// step's view of D, and inference).
    pub fn normalize<M: Module>(&mut self, module: &M, iterate: bool) -> M {
        let mut mapper = Normalize {
            vectors: &mut self.vectors,
            next: 0,
            iterate,
        };
        module.clone().map(&mut mapper)
    }

    /// The vectors' values, for the checkpoint.
    pub fn to_values(&self) -> Vec<Vec<f32>> {
        self.vectors
            .iter()
            .map(|u| {
                u.clone()
                    .into_data()
                    .convert::<f32>()
                    .try_to_vec::<f32>()
                    .expect("f32")
            })
            .collect()
    }

    /// Vectors from a checkpoint's values, checked against `module`'s matrices.
    pub fn from_values<M: Module>(
        module: &M,
        values: Vec<Vec<f32>>,
        device: &Device,
    ) -> anyhow::Result<Self> {
        let rows = matrix_rows(module);
        let lengths: Vec<usize> = values.iter().map(Vec::len).collect();
        if lengths != rows {
            anyhow::bail!(
                "the spectral norm's vectors have lengths {lengths:?}, D's weight matrices \
                 {rows:?} rows"
            );
        }
        let vectors = values
            .into_iter()
            .map(|v| {
                let n = v.len();
                Tensor::from_data(TensorData::new(v, [n]), device)
            })
            .collect();
        Ok(SpectralNorm { vectors })
    }
}

/// Rows of each weight matrix of `module`, in its order.
fn matrix_rows<M: Module>(module: &M) -> Vec<usize> {
    struct Rows(Vec<usize>);
    impl burn::module::ModuleVisitor for Rows {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if D >= 2 {
                self.0.push(param.shape().dims::<D>()[0]);
            }
        }
    }
    let mut rows = Rows(Vec::new());
    module.visit(&mut rows);
    rows.0
}

/// Divides each weight matrix by its σ.
struct Normalize<'a> {
    vectors: &'a mut Vec<Tensor<1>>,
    next: usize,
    iterate: bool,
}

impl ModuleMapper for Normalize<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if D < 2 {
            return param;
        }
        let index = self.next;
        self.next += 1;
        let u = self.vectors[index].clone();
        let (sigma, next) = {
            let w = param.val();
            power_iteration(as_matrix(w), u)
        };
        if self.iterate {
            self.vectors[index] = next;
        }
        param.map(|w| {
            let shape = w.shape();
            w / sigma.reshape([1; D]).expand(shape)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::Linear;
    use rand::SeedableRng;

    /// Repeated power iterations reach the largest singular value of a small matrix, as
    /// nalgebra's SVD gives it; the normalised matrix's is then 1.
    #[test]
    fn the_estimate_converges_to_the_largest_singular_value() {
        let device = Device::flex();
        let values = [
            0.3f32, -1.2, 2.0, 0.5, 0.1, 0.9, -0.4, 1.1, 0.7, 0.2, -0.8, 0.05,
        ];
        let linear = Linear {
            weight: Param::from_data(TensorData::new(values.to_vec(), [4, 3]), &device),
            bias: None,
        };
        let exact = nalgebra::DMatrix::from_row_slice(4, 3, &values.map(f64::from))
            .singular_values()
            .max();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut norm = SpectralNorm::new(&linear, &mut rng, &device);
        let mut normalized = linear.clone();
        for _ in 0..50 {
            normalized = norm.normalize(&linear, true);
        }
        let scale = linear.weight.val().sum().into_scalar::<f32>()
            / normalized.weight.val().sum().into_scalar::<f32>();
        assert!(
            (f64::from(scale) - exact).abs() < 1e-4 * exact,
            "σ {scale} against {exact}"
        );
        let w: Vec<f64> = normalized
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()
            .into_iter()
            .map(f64::from)
            .collect();
        let after = nalgebra::DMatrix::from_row_slice(4, 3, &w)
            .singular_values()
            .max();
        assert!((after - 1.0).abs() < 1e-4, "{after}");
        // Biases are not matrices: untouched.
        assert_eq!(matrix_rows(&linear), [4]);
    }

    #[test]
    fn vectors_round_trip_and_wrong_lengths_are_refused() {
        let device = Device::flex();
        let linear = Linear {
            weight: Param::from_data(TensorData::new(vec![1.0f32; 6], [2, 3]), &device),
            bias: None,
        };
        let norm = SpectralNorm::new(
            &linear,
            &mut rand_chacha::ChaCha8Rng::seed_from_u64(1),
            &device,
        );
        let values = norm.to_values();
        let again = SpectralNorm::from_values(&linear, values.clone(), &device).unwrap();
        assert_eq!(again.to_values(), values);
        let err = SpectralNorm::from_values(&linear, vec![vec![1.0; 3]], &device).unwrap_err();
        assert!(err.to_string().contains("lengths"), "{err}");
    }
}
