//! The seed generator's tensors: the names and layouts of `shared/bench/dcgan_torch.py`.

use burn::module::Param;
use burn::tensor::{Device, Tensor};

use super::{NamedTensor, TensorFile, batch_norm_tensors, load_batch_norm, named};
use crate::model::seed::Generator;

/// `fc`, `bn0`-`bn2` and `deconv1`-`deconv3`, in PyTorch layouts.
pub(super) fn tensors(g: &Generator) -> Vec<NamedTensor> {
    // burn's Linear is [in, out]; PyTorch's is [out, in].
    let mut out = vec![
        named("fc.weight", g.fc.weight.val().transpose()),
        named("fc.bias", g.fc.bias.as_ref().expect("fc has a bias").val()),
    ];
    for (name, bn) in [("bn0", &g.bn0), ("bn1", &g.bn1), ("bn2", &g.bn2)] {
        out.extend(batch_norm_tensors(name, bn));
    }
    for (name, layer) in [
        ("deconv1", &g.deconv1),
        ("deconv2", &g.deconv2),
        ("deconv3", &g.deconv3),
    ] {
        // burn's transposed-convolution layout [in, out, kh, kw] is PyTorch's.
        out.push(named(format!("{name}.weight"), layer.conv.weight.val()));
        let bias = layer.conv.bias.as_ref().expect("deconv has a bias");
        out.push(named(format!("{name}.bias"), bias.val()));
    }
    out
}

/// `g` with every value read from `file`.
pub(super) fn load(
    mut g: Generator,
    file: &TensorFile,
    device: &Device,
) -> anyhow::Result<Generator> {
    let fc: Param<Tensor<2>> = Param::from_data(file.read("fc.weight")?, device);
    g.fc.weight = fc.map(|w| w.transpose());
    g.fc.bias = Some(Param::from_data(file.read("fc.bias")?, device));
    for (name, bn) in [
        ("bn0", &mut g.bn0),
        ("bn1", &mut g.bn1),
        ("bn2", &mut g.bn2),
    ] {
        load_batch_norm(bn, name, file, device)?;
    }
    for (name, layer) in [
        ("deconv1", &mut g.deconv1),
        ("deconv2", &mut g.deconv2),
        ("deconv3", &mut g.deconv3),
    ] {
        layer.conv.weight = Param::from_data(file.read(&format!("{name}.weight"))?, device);
        layer.conv.bias = Some(Param::from_data(
            file.read(&format!("{name}.bias"))?,
            device,
        ));
    }
    Ok(g)
}
