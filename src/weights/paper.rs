//! A paper-family generator's tensors, named as pytorch/examples' `nn.Sequential`
//! generator (`shared/bench/dcgan64_torch.py`) names them: layer `i` of `net` is
//! `net.{i}`, with a ReLU (or the final tanh) after every BatchNorm taking an index too.
//!
//! `net.0` is the 4×4 stride-1 transposed convolution `[nz, c, 4, 4]` that dcgan computes
//! as a dense layer; `net.1` its BatchNorm; then `net.{3 + 3i}` (transposed convolution
//! `[c_in, c_out, 4, 4]`) and `net.{4 + 3i}` (BatchNorm) for each stride-2 level, the last
//! transposed convolution without a BatchNorm.

use burn::module::Param;
use burn::tensor::{Device, Tensor};

use super::{NamedTensor, TensorFile, batch_norm_tensors, load_batch_norm, named};
use crate::model::paper::{BASE_SIZE, Generator};

/// The index in `net` of stride-2 level `level`'s transposed convolution; its BatchNorm
/// follows at the next index.
fn up_index(level: usize) -> usize {
    3 + 3 * level
}

/// Every tensor, in PyTorch's names and layouts.
pub(super) fn tensors(g: &Generator) -> Vec<NamedTensor> {
    let [nz, flat] = g.start.weight.dims();
    let c = flat / (BASE_SIZE * BASE_SIZE);
    let start = g.start.weight.val().reshape([nz, c, BASE_SIZE, BASE_SIZE]);
    let mut out = vec![named("net.0.weight", start)];
    out.extend(batch_norm_tensors("net.1", &g.start_norm));
    for (level, up) in g.ups.iter().enumerate() {
        let index = up_index(level);
        // burn's transposed-convolution layout [in, out, kh, kw] is PyTorch's.
        out.push(named(format!("net.{index}.weight"), up.conv.weight.val()));
        if let Some(bn) = g.norms.get(level) {
            out.extend(batch_norm_tensors(&format!("net.{}", index + 1), bn));
        }
    }
    out
}

/// `g` with every value read from `file`.
pub(super) fn load(
    mut g: Generator,
    file: &TensorFile,
    device: &Device,
) -> anyhow::Result<Generator> {
    let [nz, flat] = g.start.weight.dims();
    let start = Tensor::<4>::from_data(file.read("net.0.weight")?, device);
    g.start.weight = Param::from_tensor(start.reshape([nz, flat]));
    load_batch_norm(&mut g.start_norm, "net.1", file, device)?;
    for level in 0..g.ups.len() {
        let index = up_index(level);
        g.ups[level].conv.weight =
            Param::from_data(file.read(&format!("net.{index}.weight"))?, device);
        if let Some(bn) = g.norms.get_mut(level) {
            load_batch_norm(bn, &format!("net.{}", index + 1), file, device)?;
        }
    }
    Ok(g)
}
