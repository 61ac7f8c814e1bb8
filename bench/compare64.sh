#!/usr/bin/env bash
# dcgan against PyTorch on the DCGAN paper's family (pytorch/examples' networks), side by
# side: ../shared/bench/dcgan64_torch.py and `dcgan bench --image-size S --channels C`.
#
# Usage: bench/compare64.sh [ROUNDS=3] [ITERS=10] [SIZE=64] [CHANNELS=3] [BATCH=64]
#
# Alternates the two ROUNDS times on 2 threads each and prints, per round and as medians,
# the milliseconds of a training iteration and of 1000 generated images, and dcgan's ratio
# to PyTorch. The PyTorch script runs G twice per iteration (once without gradients for
# the D step); dcgan, like pytorch/examples, runs it once and uses its images for both steps.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}" iters="${2:-10}" size="${3:-64}" channels="${4:-3}" batch="${5:-64}"
bench_dir="$(cd ../shared/bench && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dcgan/target}"
cargo build --release --quiet
dcgan="$CARGO_TARGET_DIR/release/dcgan"
torch_python="$HOME/.venvs/torch/bin/python"
if ! "$torch_python" -c "import torch" 2>/dev/null; then
    python3 -m venv "$HOME/.venvs/torch"
    "$torch_python" -m pip install --quiet torch numpy safetensors pillow
fi

field() { # json key
    python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d$2)" "$1"
}
dcgan_train=() dcgan_gen=() torch_train=() torch_gen=()
for round in $(seq 1 "$rounds"); do
    ours="$(RAYON_NUM_THREADS=2 "$dcgan" bench --image-size "$size" --channels "$channels" \
        --batch-size "$batch" --iters "$iters" --warmup 2 --json)"
    theirs="$("$torch_python" "$bench_dir/dcgan64_torch.py" bench --image-size "$size" \
        --channels "$channels" --batch "$batch" --threads 2 --iters "$iters" --warmup 2 --json \
        | grep '^JSON ' | sed 's/^JSON //')"
    dcgan_train+=("$(field "$ours" "['train_iteration']['median_ms']")")
    dcgan_gen+=("$(field "$ours" "['generate_1000']['median_ms']")")
    torch_train+=("$(field "$theirs" "['train_iter_ms_median']")")
    torch_gen+=("$(field "$theirs" "['g_infer_1000_ms_median']")")
    echo "round $round: train dcgan ${dcgan_train[-1]} ms, torch ${torch_train[-1]} ms;" \
        "1000 images dcgan ${dcgan_gen[-1]} ms, torch ${torch_gen[-1]} ms" >&2
done
python3 - "${dcgan_train[*]}" "${torch_train[*]}" "${dcgan_gen[*]}" "${torch_gen[*]}" <<'PY'
import statistics, sys
dt, tt, dg, tg = ([float(x) for x in a.split()] for a in sys.argv[1:5])
m = statistics.median
print(f"training iteration: dcgan {m(dt):.1f} ms, PyTorch {m(tt):.1f} ms, ratio {m(dt)/m(tt):.2f}"
      f" (per round: {', '.join(f'{a/b:.2f}' for a, b in zip(dt, tt))})")
print(f"1000 images:        dcgan {m(dg):.1f} ms, PyTorch {m(tg):.1f} ms, ratio {m(dg)/m(tg):.2f}"
      f" (per round: {', '.join(f'{a/b:.2f}' for a, b in zip(dg, tg))})")
PY
