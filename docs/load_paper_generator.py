#!/usr/bin/env python3
"""Loads a generator of dcgan's DCGAN-paper family (format dcgan-paper-generator-v1) into
PyTorch and draws samples with it.

    python load_paper_generator.py GENERATOR.safetensors OUT.png [--n 64] [--seed 0]
    python load_paper_generator.py GENERATOR.safetensors OUT.npy --noise NOISE.npy

The network is pytorch/examples' dcgan Generator, sized from the file's metadata; the file's
tensor names are its layers' (`net.0.weight`, ...). Needs torch, safetensors, numpy, pillow.
"""

import argparse
import json
import math
import struct

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import load_file


def metadata(path):
    """The file's `__metadata__`, read from its JSON header."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(length))["__metadata__"]


def generator(size, channels, nz, width):
    """pytorch/examples' DCGAN generator for a side of `size` (16 to 256)."""
    k = int(round(math.log2(size))) - 3
    c = width * 2**k
    layers = [nn.ConvTranspose2d(nz, c, 4, 1, 0, bias=False), nn.BatchNorm2d(c), nn.ReLU(True)]
    for _ in range(k):
        layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2),
                   nn.ReLU(True)]
        c //= 2
    layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


class Generator(nn.Module):
    def __init__(self, meta):
        super().__init__()
        self.nz = int(meta["noise_dim"])
        # A conditional generator takes the class's one-hot code after the noise.
        self.classes = len(json.loads(meta.get("classes", "[]")))
        self.net = generator(int(meta["image_size"]), int(meta["channels"]),
                             self.nz + self.classes, int(meta["g_width"]))
        # dcgan's BatchNorm settings (PyTorch's defaults for this family).
        for m in self.net:
            if isinstance(m, nn.BatchNorm2d):
                m.eps = float(meta["batch_norm_epsilon"])

    def forward(self, z, labels=None):
        if self.classes:
            z = torch.cat([z, nn.functional.one_hot(labels, self.classes).float()], 1)
        return self.net(z.view(z.shape[0], -1, 1, 1))


def load(path):
    meta = metadata(path)
    if meta.get("format") != "dcgan-paper-generator-v1":
        raise SystemExit(f"{path}: format {meta.get('format')!r}, expected dcgan-paper-generator-v1")
    g = Generator(meta)
    missing, unexpected = g.load_state_dict(load_file(path), strict=False)
    # PyTorch's BatchNorm counts its batches; dcgan's file has no such counter.
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), \
        (missing, unexpected)
    return g.eval(), meta


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("weights")
    p.add_argument("out", help="a .png grid or a .npy float32 array [n, C, H, W]")
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--noise", help="a .npy float32 array [n, noise_dim] to use as the noise")
    p.add_argument("--class", dest="label", type=int, default=None,
                   help="a conditional generator's class (default: the classes in turn)")
    a = p.parse_args()
    g, meta = load(a.weights)
    if a.noise:
        z = torch.from_numpy(np.load(a.noise).astype(np.float32))
    else:
        torch.manual_seed(a.seed)
        z = torch.rand(a.n, g.nz) * 2 - 1  # the file's noise: uniform(-1,1)
    labels = None
    if g.classes:
        n = z.shape[0]
        labels = (torch.full((n,), a.label) if a.label is not None
                  else torch.arange(n) % g.classes)
    with torch.no_grad():
        images = g(z, labels).numpy()
    if a.out.endswith(".npy"):
        np.save(a.out, images)
        return
    from PIL import Image
    n, c, h, w = images.shape
    cols = int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    grid = np.zeros((rows * h, cols * w, c), dtype=np.uint8)
    pixels = np.round((np.clip(images, -1, 1) + 1) * 127.5).astype(np.uint8).transpose(0, 2, 3, 1)
    for i in range(n):
        r, q = divmod(i, cols)
        grid[r * h:(r + 1) * h, q * w:(q + 1) * w] = pixels[i]
    Image.fromarray(grid[:, :, 0] if c == 1 else grid).save(a.out)


if __name__ == "__main__":
    main()
