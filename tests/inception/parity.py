#!/usr/bin/env python3
"""Random-weights parity fixtures for dcgan's pytorch-fid-compatible Inception-v3.

Builds pytorch-fid's FID Inception network exactly as
``pytorch_fid.inception.fid_inception_v3()`` does (torchvision ``inception_v3``
with num_classes=1008, aux_logits=False, init_weights=False, and the Mixed_5b-d,
Mixed_6b-e, Mixed_7b/7c blocks replaced by FIDInceptionA/C/E_1/E_2), but fills it
with seeded random weights instead of downloading the real ones.  It then runs
pytorch-fid's own ``InceptionV3`` wrapper (output_blocks=[0,1,2,3],
resize_input=True, normalize_input=True) on small random uint8 images and
stores every intermediate the Rust side needs to reproduce bit-for-bit-ish.

Nothing is downloaded: ``pytorch_fid.inception.load_state_dict_from_url`` is
monkeypatched to return the random state dict (and the wrapper loads it with
``strict=True``, which proves the architecture matches the one built here).

Usage (pytorch-fid 0.3.0 must be importable, e.g. via PYTHONPATH)::

    PYTHONPATH=/tmp/wheels/pf /usr/bin/python3 tests/inception/parity.py OUT_DIR [--seed N]

Outputs (all deterministic given --seed):

* ``OUT_DIR/weights_legacy.pth``  the same, in the format before PyTorch 1.6.
* ``OUT_DIR/weights.pth``   torch.save(state_dict) (default zip format), pytorch-fid
  key names, including ``num_batches_tracked`` entries (int64 scalars, 0).
* ``OUT_DIR/images.npz``    np.savez, uint8 NCHW; keys ``s{side}_{grey,rgb}`` for
  side in 16, 32, 64, 299, shape [3, 1|3, side, side].  Generated with
  ``np.random.default_rng(seed).integers(0, 256, ...)`` in the order
  s16_grey, s16_rgb, s32_grey, s32_rgb, s64_grey, ...
* ``OUT_DIR/expected.npz``  np.savez, float32; for each image-set name:
  ``{name}.block0`` [3,64,73,73], ``{name}.block1`` [3,192,35,35],
  ``{name}.block2`` [3,768,17,17], ``{name}.block3`` [3,2048] (flattened),
  ``{name}.logits`` [3,1008] (inner inception's ``fc`` on block3), and for
  s16_rgb and s64_rgb only ``{name}.resized`` [3,3,299,299]: the tensor block 0
  actually receives (F.interpolate to 299, bilinear, align_corners=False, then
  2x-1), captured with a forward pre-hook.

Input convention (same as pytorch-fid's ToTensor path): x = uint8 / 255 as
float32, grey images repeated to 3 channels with ``x.repeat(1, 3, 1, 1)``.

Random weight distributions (torch.manual_seed(seed), modules visited in
``named_modules()`` order, tensors filled in the order listed):
conv weight ~ N(0, sqrt(2 / fan_in)), fan_in = in_ch*kh*kw;
BatchNorm weight ~ U(0.5, 1.5), bias ~ U(-0.2, 0.2), running_mean ~ U(-0.2, 0.2),
running_var ~ U(0.5, 1.5); fc weight ~ N(0, 0.01), fc bias ~ U(-0.1, 0.1).
"""
import argparse
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn

import pytorch_fid.inception as pfi

SIDES = (16, 32, 64, 299)
KINDS = (("grey", 1), ("rgb", 3))
N_IMAGES = 3
RESIZED_SETS = ("s16_rgb", "s64_rgb")


def build_fid_inception_arch():
    """Same construction as pytorch_fid.inception.fid_inception_v3(), minus the download."""
    inception = pfi._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    inception.Mixed_5b = pfi.FIDInceptionA(192, pool_features=32)
    inception.Mixed_5c = pfi.FIDInceptionA(256, pool_features=64)
    inception.Mixed_5d = pfi.FIDInceptionA(288, pool_features=64)
    inception.Mixed_6b = pfi.FIDInceptionC(768, channels_7x7=128)
    inception.Mixed_6c = pfi.FIDInceptionC(768, channels_7x7=160)
    inception.Mixed_6d = pfi.FIDInceptionC(768, channels_7x7=160)
    inception.Mixed_6e = pfi.FIDInceptionC(768, channels_7x7=192)
    inception.Mixed_7b = pfi.FIDInceptionE_1(1280)
    inception.Mixed_7c = pfi.FIDInceptionE_2(2048)
    return inception


@torch.no_grad()
def randomize_(model):
    n_conv = n_bn = n_fc = 0
    for _, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
            m.weight.normal_(0.0, math.sqrt(2.0 / fan_in))
            if m.bias is not None:  # torchvision's BasicConv2d has bias=False
                m.bias.zero_()
            n_conv += 1
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.2, 0.2)
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            n_bn += 1
        elif isinstance(m, nn.Linear):
            m.weight.normal_(0.0, 0.01)
            m.bias.uniform_(-0.1, 0.1)
            n_fc += 1
    return n_conv, n_bn, n_fc


def make_images(seed):
    rng = np.random.default_rng(seed)
    images = {}
    for side in SIDES:
        for kind, c in KINDS:
            images[f"s{side}_{kind}"] = rng.integers(
                0, 256, size=(N_IMAGES, c, side, side), dtype=np.uint8)
    return images


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", help="output directory (created if missing)")
    ap.add_argument("--seed", type=int, default=0, help="RNG seed (default 0)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--verbose", action="store_true",
                    help="also print per-set block3 mean/std (activation-scale sanity check)")
    args = ap.parse_args()

    t0 = time.time()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out_dir, exist_ok=True)

    # 1. Random-weight network, same architecture as fid_inception_v3().
    arch = build_fid_inception_arch()
    n_conv, n_bn, n_fc = randomize_(arch)
    sd = arch.state_dict()
    torch.save(sd, os.path.join(args.out_dir, "weights.pth"))
    # The same in torch.save's format before PyTorch 1.6 (pytorch-fid's release file, from
    # 2019, is in it).
    torch.save(sd, os.path.join(args.out_dir, "weights_legacy.pth"),
               _use_new_zipfile_serialization=False)

    # 2. pytorch-fid's own wrapper, loader monkeypatched (no download).  Also
    #    capture the inner inception model so we can use its fc for logits.
    captured = {}
    orig_loader = pfi.load_state_dict_from_url
    orig_builder = pfi.fid_inception_v3

    def fake_loader(url, *a, **kw):
        assert url == pfi.FID_WEIGHTS_URL, url
        return {k: v.clone() for k, v in sd.items()}

    def capturing_builder():
        captured["inception"] = orig_builder()
        return captured["inception"]

    pfi.load_state_dict_from_url = fake_loader
    pfi.fid_inception_v3 = capturing_builder
    try:
        model = pfi.InceptionV3(output_blocks=[0, 1, 2, 3],
                                resize_input=True, normalize_input=True)
    finally:
        pfi.load_state_dict_from_url = orig_loader
        pfi.fid_inception_v3 = orig_builder
    model.eval()
    inception = captured["inception"].eval()
    # Sanity: the wrapper really holds our weights.
    assert torch.equal(inception.Conv2d_1a_3x3.conv.weight, sd["Conv2d_1a_3x3.conv.weight"])
    assert torch.equal(inception.fc.weight, sd["fc.weight"])

    seen = {}
    hook = model.blocks[0].register_forward_pre_hook(
        lambda mod, inp: seen.__setitem__("x", inp[0].detach().clone()))

    # 3. Images and expected outputs.
    images = make_images(args.seed)
    np.savez(os.path.join(args.out_dir, "images.npz"), **images)

    expected = {}
    stats = []
    with torch.no_grad():
        for name, img in images.items():
            x = torch.from_numpy(img).to(torch.float32) / 255.0
            if x.shape[1] == 1:
                x = x.repeat(1, 3, 1, 1)
            blocks = model(x)
            assert len(blocks) == 4
            b3 = torch.flatten(blocks[3], 1)
            logits = inception.fc(b3)
            for i in range(3):
                expected[f"{name}.block{i}"] = blocks[i].numpy().astype(np.float32)
            expected[f"{name}.block3"] = b3.numpy().astype(np.float32)
            expected[f"{name}.logits"] = logits.numpy().astype(np.float32)
            if name in RESIZED_SETS:
                r = seen["x"]
                # Cross-check the hook against the documented preprocessing.
                ref = 2 * torch.nn.functional.interpolate(
                    x, size=(299, 299), mode="bilinear", align_corners=False) - 1
                assert torch.equal(r, ref)
                expected[f"{name}.resized"] = r.numpy().astype(np.float32)
            stats.append(f"{name}: b3 mean {b3.mean():.3g} std {b3.std():.3g}")
    hook.remove()
    np.savez(os.path.join(args.out_dir, "expected.npz"), **expected)

    if args.verbose:
        for s in stats:
            print("  " + s)
    print(f"parity: seed={args.seed} convs={n_conv} bns={n_bn} fc={n_fc} "
          f"state_dict={len(sd)} keys, image sets={len(images)}, "
          f"expected arrays={len(expected)} -> {args.out_dir} "
          f"({time.time() - t0:.1f}s)")


if __name__ == "__main__":
    main()
