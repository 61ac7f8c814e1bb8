#!/usr/bin/env python3
"""Print pytorch-fid's Frechet distance between two stats files, at full precision.

Each file is an .npz with ``mu`` [d] and ``sigma`` [d, d] (the format pytorch-fid's
``--save-stats`` writes, and dcgan's stats files if they use the same keys).  The
value is computed with ``pytorch_fid.fid_score.calculate_frechet_distance``
(scipy.linalg.sqrtm of sigma1 @ sigma2, eps=1e-6 diagonal retry if non-finite,
imaginary part dropped) and printed as ``repr(float(...))``, so dcgan's own
matrix square root can be compared against scipy's.

Usage (pytorch-fid 0.3.0 must be importable, e.g. via PYTHONPATH)::

    PYTHONPATH=/tmp/wheels/pf /usr/bin/python3 tests/inception/fid_of_npz.py A.npz B.npz [--components]

BLAS threads: the last digits of scipy's sqrtm depend on the BLAS thread count
(OpenBLAS here: 327.40866494603733 with 1 thread vs 327.4086650352105 with 2 on
the same files).  This script therefore defaults OMP_NUM_THREADS and
OPENBLAS_NUM_THREADS to 1 (unless already set in the environment), which is
what real_weights.py uses for its pytorch-fid runs, so its output reproduces
pytorch_fid.txt exactly.

stdout: one line, the FID.  With --components, also prints (to stderr) the terms
||mu1-mu2||^2, tr(sigma1), tr(sigma2) and tr(sqrtm(sigma1 @ sigma2)).
"""
import argparse
import os
import sys

# Must happen before numpy/scipy load OpenBLAS (see docstring).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy import linalg  # noqa: E402

from pytorch_fid.fid_score import calculate_frechet_distance  # noqa: E402


def load_stats(path):
    with np.load(path) as f:
        return f["mu"][:], f["sigma"][:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a", help="first stats .npz (mu, sigma)")
    ap.add_argument("b", help="second stats .npz (mu, sigma)")
    ap.add_argument("--components", action="store_true",
                    help="also print the individual terms to stderr")
    args = ap.parse_args()

    mu1, s1 = load_stats(args.a)
    mu2, s2 = load_stats(args.b)
    fid = calculate_frechet_distance(mu1, s1, mu2, s2)
    print(repr(float(fid)))

    if args.components:
        covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
        diff = mu1 - mu2
        sys.stderr.write(
            "dtype mu=%s sigma=%s shape mu=%s sigma=%s\n"
            "||mu1-mu2||^2 = %r\ntr(sigma1) = %r\ntr(sigma2) = %r\n"
            "tr(sqrtm(sigma1 sigma2)) = %r (max |imag| %r)\n"
            % (mu1.dtype, s1.dtype, mu1.shape, s1.shape,
               float(diff.dot(diff)), float(np.trace(s1)), float(np.trace(s2)),
               float(np.trace(covmean).real), float(np.abs(np.imag(covmean)).max())))


if __name__ == "__main__":
    main()
