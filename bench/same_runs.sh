#!/usr/bin/env bash
# Shows that two dcgan binaries train the same runs: a seed-model run (`--preset seed`),
# a paper-family run on a folder of colour images, and a conditional run with EMA, spectral
# norm and evaluations, each stopped half-way and resumed, compared file by file.
#
#     bench/same_runs.sh OLD_DCGAN NEW_DCGAN OUT [MNIST_DIR] [FOLDER]
#
# OLD_DCGAN `-` keeps the old binary's runs already in OUT/old (to compare several new
# builds with one old one).
# Equal means byte-identical, except where a file holds wall-clock times: metrics.jsonl is
# compared without its images_per_sec column, TensorBoard's event files are left out, and a
# checkpoint's `state` section (JSON) is compared as parsed values, its other sections
# (weights, optimisers) byte for byte.
set -euo pipefail
old="$1" new="$2" out="$3"
mnist="${4:-../shared/data/mnist}"
folder="${5:-$HOME/.cache/dcgan/emoji/emoji-datasource-twitter-16.0.0/img/twitter/64}"

runs=(
    "seed|--dataset mnist --data-dir $mnist --preset seed --seed 7 --limit-batches 12 --sample-every 1 --log-every 2 --histogram-every 5"
    "folder|--dataset folder --data-dir $folder --image-size 32 --seed 3 --limit-batches 6 --batch-size 32 --log-every 1 --preset paper --eval-every 0"
    "conditional|--dataset mnist --data-dir $mnist --image-size 32 --conditional projection --ema 0.99 --spectral-norm --seed 5 --limit-batches 8 --batch-size 50 --eval-every 1 --eval-n 200"
)
for bin in old new; do
    if [[ "${!bin}" == - ]]; then continue; fi
    for run in "${runs[@]}"; do
        name="${run%%|*}" flags="${run#*|}"
        dir="$out/$bin/$name"
        rm -rf "$dir"; mkdir -p "$out/$bin"
        # One epoch, then a resume to a second: the resume path is compared too.
        # shellcheck disable=SC2086
        "${!bin}" train $flags --epochs 1 --out "$dir" > "$dir.log" 2>&1
        # shellcheck disable=SC2086
        "${!bin}" train $flags --epochs 2 --out "$dir" --resume >> "$dir.log" 2>&1
    done
done
python3 - "$out/old" "$out/new" <<'PY'
import hashlib, json, os, struct, sys

old, new = sys.argv[1:]

def sections(path):
    data = open(path, "rb").read()
    count = struct.unpack_from("<I", data, 12)[0]
    at, found = 16, {}
    for _ in range(count):
        (n,) = struct.unpack_from("<I", data, at); at += 4
        name = data[at:at + n].decode(); at += n
        (size,) = struct.unpack_from("<Q", data, at); at += 8
        found[name] = data[at:at + size]; at += size
    return found

def metrics(path):
    rows = [json.loads(l) for l in open(path)]
    for r in rows:
        r.pop("images_per_sec", None)
    return rows

def same(a, b, name):
    if name.endswith(".dcgan"):
        sa, sb = sections(a), sections(b)
        if sa.keys() != sb.keys():
            return f"sections {sorted(sa)} vs {sorted(sb)}"
        for key in sa:
            if key == "state" or key == "spectral_norm":
                if json.loads(sa[key]) != json.loads(sb[key]):
                    return f"section {key} differs"
            elif sa[key] != sb[key]:
                return f"section {key} differs"
        return None
    if name == "metrics.jsonl":
        return None if metrics(a) == metrics(b) else "differs (besides images_per_sec)"
    return None if open(a, "rb").read() == open(b, "rb").read() else "differs"

bad = 0
for run in sorted(os.listdir(old)):
    if not os.path.isdir(os.path.join(old, run)):
        continue
    files = []
    for root, _, names in os.walk(os.path.join(old, run)):
        for n in names:
            if "tfevents" in n or n.endswith(".lock"):
                continue
            files.append(os.path.relpath(os.path.join(root, n), old))
    for rel in sorted(files):
        b = os.path.join(new, rel)
        why = "missing" if not os.path.exists(b) else same(os.path.join(old, rel), b, os.path.basename(rel))
        print(f"{'SAME' if why is None else 'DIFF'}  {rel}" + (f"  ({why})" if why else ""))
        bad += why is not None
print(f"{bad} difference(s)")
sys.exit(1 if bad else 0)
PY
