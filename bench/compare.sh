#!/usr/bin/env bash
# dcgan against the TensorFlow 2 and PyTorch references of the seed model, side by side.
#
# Usage: bench/compare.sh [ROUNDS=3] [ITERS=20]
#
# Builds dcgan (release), sets up the references' virtual environments if missing (see
# ../shared/bench/README.md; the Python package registry only), then runs `dcgan bench` (f32, and bf16 where the
# CPU has AVX512-BF16) and the two reference benchmarks alternately, ROUNDS times, on 2
# threads each; where dcgan runs bf16, the references run with their own bf16 as well
# (TensorFlow's Keras `mixed_bfloat16` policy, PyTorch's `torch.autocast` to bf16), so bf16
# is compared with bf16 as well as with f32. Prints the CPU and the kernels dcgan dispatched
# to, the medians over rounds of each figure (training iteration of batch 100, 1000
# generated images, peak memory of the whole process) and dcgan's ratio to each reference.
# Ratios from one run are what count; absolute times on a shared machine are noisy.
#
# TF_PYTHON and TORCH_PYTHON name other interpreters for the references (e.g. one over
# Debian's python3-torch); the table names each reference's version.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
iters="${2:-20}"
warmup=3
bench_dir="$(cd ../shared/bench && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dcgan/target}"

cargo build --release --quiet
dcgan="$CARGO_TARGET_DIR/release/dcgan"

venv() { # name packages...
    local dir="$HOME/.venvs/$1"
    shift
    if [ ! -x "$dir/bin/python" ] || ! "$dir/bin/python" -c "import ${1%%-*}" 2>/dev/null; then
        echo "setting up $dir ($*)" >&2
        python3 -m venv "$dir"
        "$dir/bin/pip" install --quiet "$@" numpy safetensors pillow
    fi
    echo "$dir/bin/python"
}
tf_python="${TF_PYTHON:-$(venv tf tensorflow-cpu)}"
torch_python="${TORCH_PYTHON:-$(venv torch torch)}"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# Runs a benchmark under /usr/bin/time; keeps its JSON line and the peak RSS in KiB.
measure() { # name round command...
    local name="$1" round="$2"
    shift 2
    /usr/bin/time -f "%M" -o "$out/$name.$round.rss" "$@" > "$out/$name.$round.log" 2>&1
    grep -E '^(JSON )?\{' "$out/$name.$round.log" | tail -1 | sed 's/^JSON //' > "$out/$name.$round.json"
}

# bf16 rows only where the CPU runs them (dcgan refuses bf16 elsewhere).
precisions="f32"
if "$dcgan" bench --iters 1 --warmup 0 --batch-size 2 --precision bf16 --json > /dev/null 2>&1; then
    precisions="f32 bf16"
fi
for round in $(seq 1 "$rounds"); do
    echo "round $round of $rounds" >&2
    for precision in $precisions; do
        measure "dcgan-$precision" "$round" env RAYON_NUM_THREADS=2 "$dcgan" bench \
            --iters "$iters" --warmup "$warmup" --precision "$precision" --json
    done
    for precision in $precisions; do
        measure "tf-$precision" "$round" "$tf_python" "$bench_dir/dcgan_tf.py" bench \
            --threads 2 --inter 1 --iters "$iters" --warmup "$warmup" --precision "$precision" \
            --json
        measure "torch-$precision" "$round" "$torch_python" "$bench_dir/dcgan_torch.py" bench \
            --threads 2 --iters "$iters" --warmup "$warmup" --padding tf \
            --precision "$precision" --json
    done
done

python3 - "$out" "$rounds" "$precisions" <<'PY'
import json, statistics, sys
out, rounds, precisions = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
def figures(name):
    rows = []
    for r in range(1, rounds + 1):
        j = json.load(open(f"{out}/{name}.{r}.json"))
        rss = int(open(f"{out}/{name}.{r}.rss").read().split()[-1]) / 1024
        if name.startswith("dcgan"):
            rows.append((j["train_iteration"]["median_ms"], j["generate_1000"]["median_ms"], rss))
        else:
            rows.append((j["train_iter_ms_median"], j["g_infer_1000_ms_median"], rss))
    return [statistics.median(col) for col in zip(*rows)]
for p in precisions:
    j = json.load(open(f"{out}/dcgan-{p}.1.json"))
    print(f"dcgan {p}: {j['kernels']}")
for ref in ("tf", "torch"):
    print(f"{ref}: {json.load(open(f'{out}/{ref}-f32.1.json'))['framework']}")
names = {f"dcgan-{p}": f"dcgan {p}" for p in precisions}
for p in precisions:
    names.update({f"tf-{p}": f"TensorFlow 2 {p}", f"torch-{p}": f"PyTorch {p}"})
f = {n: figures(n) for n in names}
print(f"medians of {rounds} alternating rounds; ratio = dcgan / reference (below 1: dcgan faster)")
print(f"{'':30}{'train iter (ms)':>16}{'1000 images (ms)':>18}{'peak RSS (MiB)':>16}")
for n, label in names.items():
    print(f"{label:30}" + "".join(f"{v:>{w}.1f}" for v, w in zip(f[n], (16, 18, 16))))
# dcgan f32 against the f32 references; dcgan bf16 against both precisions of each.
for p in precisions:
    for ref in (f"{r}-{q}" for r in ("tf", "torch") for q in precisions if p == "bf16" or q == p):
        ratios = [d / r for d, r in zip(f[f"dcgan-{p}"], f[ref])]
        label = f"dcgan {p} / {names[ref]}"
        print(f"{label:30}" + "".join(f"{v:>{w}.2f}" for v, w in zip(ratios, (16, 18, 16))))
PY
