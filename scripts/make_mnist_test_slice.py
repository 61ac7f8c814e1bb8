#!/usr/bin/env python3
"""Cut the first images of MNIST's test split into the IDX files dcgan embeds.

The slice lets `dcgan eval` (and the tests) compare with real test images on a machine
without the full data set. It takes the first COUNT images of t10k, as they are:

    python3 scripts/make_mnist_test_slice.py ../shared/data/mnist assets/mnist-subset 2000
"""

import gzip
import struct
import sys
from pathlib import Path


def main(mnist_dir: Path, out_dir: Path, count: int) -> None:
    images = gzip.decompress((mnist_dir / "t10k-images-idx3-ubyte.gz").read_bytes())
    labels = gzip.decompress((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes())
    magic, n, rows, cols = struct.unpack(">IIII", images[:16])
    assert (magic, rows, cols) == (2051, 28, 28) and n >= count, "not MNIST's test images"
    magic, n = struct.unpack(">II", labels[:8])
    assert magic == 2049 and n >= count, "not MNIST's test labels"
    out_dir.mkdir(parents=True, exist_ok=True)
    # mtime=0 keeps the output byte-identical from run to run.
    with gzip.GzipFile(out_dir / "t10k-images-idx3-ubyte.gz", "wb", 9, mtime=0) as f:
        f.write(struct.pack(">IIII", 2051, count, 28, 28) + images[16 : 16 + count * 784])
    with gzip.GzipFile(out_dir / "t10k-labels-idx1-ubyte.gz", "wb", 9, mtime=0) as f:
        f.write(struct.pack(">II", 2049, count) + labels[8 : 8 + count])
    print(f"{count} test images written to {out_dir}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
