#!/usr/bin/env bash
# dcgan against PyTorch on the DCGAN paper's family (pytorch/examples' networks), side by
# side: ../shared/bench/dcgan64_torch.py and `dcgan bench --image-size S --channels C`.
#
# Usage: bench/compare64.sh [ROUNDS=3] [ITERS=10] [SIZE=64] [CHANNELS=3] [BATCH=64]
#
# Alternates the two ROUNDS times on 2 threads each, in f32 and, where dcgan runs bf16 (CPUs
# with AVX512-BF16), in bf16 too (PyTorch's forward passes under `torch.autocast` to bf16),
# and prints, per round and as medians, the milliseconds of a training iteration and of
# 1000 generated images, and dcgan's ratio to PyTorch (bf16 against both of its
# precisions). The PyTorch script runs G twice per iteration (once without gradients for
# the D step); dcgan, like pytorch/examples, runs it once and uses its images for both
# steps. TORCH_PYTHON names another interpreter for PyTorch (e.g. one over Debian's
# python3-torch).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}" iters="${2:-10}" size="${3:-64}" channels="${4:-3}" batch="${5:-64}"
bench_dir="$(cd ../shared/bench && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dcgan/target}"
cargo build --release --quiet
dcgan="$CARGO_TARGET_DIR/release/dcgan"
torch_python="${TORCH_PYTHON:-$HOME/.venvs/torch/bin/python}"
if [[ -z "${TORCH_PYTHON:-}" ]] && ! "$torch_python" -c "import torch" 2>/dev/null; then
    python3 -m venv "$HOME/.venvs/torch"
    "$torch_python" -m pip install --quiet torch numpy safetensors pillow
fi
precisions="f32"
if "$dcgan" bench --iters 1 --warmup 0 --batch-size 2 --precision bf16 --json > /dev/null 2>&1; then
    precisions="f32 bf16"
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for round in $(seq 1 "$rounds"); do
    for precision in $precisions; do
        RAYON_NUM_THREADS=2 "$dcgan" bench --image-size "$size" --channels "$channels" \
            --batch-size "$batch" --iters "$iters" --warmup 2 --precision "$precision" --json \
            > "$out/dcgan-$precision.$round.json"
        "$torch_python" "$bench_dir/dcgan64_torch.py" bench --image-size "$size" \
            --channels "$channels" --batch "$batch" --threads 2 --iters "$iters" --warmup 2 \
            --precision "$precision" --json | grep '^JSON ' | sed 's/^JSON //' \
            > "$out/torch-$precision.$round.json"
        echo "round $round, $precision: done" >&2
    done
done
python3 - "$out" "$rounds" "$precisions" <<'PY'
import json, statistics, sys
out, rounds, precisions = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
def runs(name):
    rows = []
    for r in range(1, rounds + 1):
        j = json.load(open(f"{out}/{name}.{r}.json"))
        if name.startswith("dcgan"):
            rows.append((j["train_iteration"]["median_ms"], j["generate_1000"]["median_ms"]))
        else:
            rows.append((j["train_iter_ms_median"], j["g_infer_1000_ms_median"]))
    return rows
print(f"PyTorch: {json.load(open(f'{out}/torch-f32.1.json'))['framework']}")
m = statistics.median
for p in precisions:
    ours = runs(f"dcgan-{p}")
    for q in (q for q in precisions if p == "bf16" or q == p):
        theirs = runs(f"torch-{q}")
        for i, what in enumerate(("training iteration", "1000 images")):
            a, b = [r[i] for r in ours], [r[i] for r in theirs]
            print(f"{what + ':':20} dcgan {p} {m(a):.1f} ms, PyTorch {q} {m(b):.1f} ms, "
                  f"ratio {m(a) / m(b):.2f} (per round: "
                  f"{', '.join(f'{x / y:.2f}' for x, y in zip(a, b))})")
PY
