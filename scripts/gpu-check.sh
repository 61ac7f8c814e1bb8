#!/usr/bin/env bash
# The GPU paths on a machine with a GPU, in one go (a few minutes; under 8 on an H200): what
# the driver and Vulkan see, which device dcgan takes, the first training iterations on each
# GPU path against the CPU's, training and sampling speed at several batch sizes on CUDA, on
# wgpu and with PyTorch on CUDA side by side, a short seeded training run with its pictures,
# and one summary table at the end (docs/gpu.md).
#
#   scripts/gpu-check.sh [--allow-software] [--torch-bench DIR] [--keep DIR] [DCGAN [MNIST_DIR]]
#
# DCGAN is a release build made with `cargo build --release --features cuda,wgpu` (either
# feature alone is checked too; here or on another machine and copied: at run time it needs
# the C library, the NVIDIA driver for CUDA and the Vulkan loader, libvulkan.so.1, for wgpu);
# by default the one in $CARGO_TARGET_DIR or target/. MNIST_DIR holds the four IDX files
# (default ../shared/data/mnist; without them the runs train on the digits built into
# dcgan). --torch-bench names the folder of the PyTorch references dcgan_torch.py and
# dcgan64_torch.py (default ../shared/bench), run with `python3` on CUDA when PyTorch sees a
# GPU. --keep names where the pictures of the training run go (default runs/gpu-check).
#
# It fails when there is no GPU at all, neither CUDA nor a wgpu adapter that is not software
# (such as Mesa's lavapipe): its figures would not be GPU speed. --allow-software goes on
# anyway with a tiny smoke check on wgpu's software adapter (a few steps at batch 8), for
# trying the script on a machine without a GPU.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
allow_software=0
torch_bench="$root/../shared/bench"
kept="$root/runs/gpu-check"
while [[ $# -gt 0 && "$1" == --* ]]; do
    case "$1" in
        --allow-software) allow_software=1; shift ;;
        --torch-bench) torch_bench="$2"; shift 2 ;;
        --keep) kept="$2"; shift 2 ;;
        *) echo "gpu-check: unknown option $1" >&2; exit 2 ;;
    esac
done
dcgan="${1:-${CARGO_TARGET_DIR:-$root/target}/release/dcgan}"
mnist="${2:-$root/../shared/data/mnist}"
if [[ ! -x "$dcgan" ]]; then
    echo "gpu-check: no dcgan binary at $dcgan; build one with \`cargo build --release --features cuda,wgpu\` or name it" >&2
    exit 2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
section() { printf '\n== %s\n' "$*"; }
started_all=$(date +%s)
# Later rows are skipped, and said so, once the script has run this long.
budget_s=360
over_budget() { (($(date +%s) - started_all > budget_s)); }

section "nvidia-smi"
nvidia-smi 2>&1 || echo "(no nvidia-smi: no NVIDIA driver)"
section "Vulkan drivers (ICD files)"
ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null || echo "(no ICD folder: no Vulkan driver is installed)"
section "libraries of $dcgan"
ldd "$dcgan" || true
section "dcgan devices"
"$dcgan" devices || true
devices=()
if "$dcgan" devices --require-cuda >/dev/null 2>"$work/require.txt"; then
    devices+=(cuda)
else
    cat "$work/require.txt" >&2
fi
if "$dcgan" devices --require-gpu >/dev/null 2>"$work/require.txt"; then
    devices+=(wgpu)
else
    cat "$work/require.txt" >&2
fi
smoke=0
if [[ ${#devices[@]} -eq 0 ]]; then
    if [[ $allow_software -eq 0 ]]; then
        echo "gpu-check: FAILED: no GPU, neither through CUDA nor through wgpu; install the GPU's driver (NVIDIA: its CUDA driver, and its Vulkan ICD for wgpu) or pass --allow-software for a smoke check" >&2
        exit 1
    fi
    devices=(wgpu:cpu)
    smoke=1
fi
torch=0
if [[ $smoke -eq 0 && -f "$torch_bench/dcgan_torch.py" ]] &&
    python3 -c "import torch, sys; sys.exit(not torch.cuda.is_available())" 2>/dev/null; then
    torch=1
fi

# The first iterations of one seeded run on each device against the CPU's: the losses and
# D's mean outputs of the first step (D's, then G's), relative to their size (at least 1),
# within 1e-4 where the GPU computes in f32, and within 1e-3 on CUDA, whose matrix products
# run on TF32 tensor cores (cubecl promotes f32 products to TF32 there, as cuDNN does for
# PyTorch's convolutions by default: inputs rounded to 10-bit mantissas). The next two
# steps are shown, not checked: each Adam step moves a weight whose gradient is near zero
# by ±lr on the sign of that gradient, so rounding differences grow step by step.
section "the first training iterations against the CPU"
if [[ $smoke -eq 0 ]]; then
    agree_flags=(--epochs 1 --limit-batches 3 --batch-size 100)
else
    agree_flags=(--epochs 1 --limit-batches 3 --batch-size 8)
fi
agree() {
    "$dcgan" train --device "$1" --data-dir "$mnist" "${agree_flags[@]}" --seed 1 --log-every 1 \
        --out "$work/agree-$1" >/dev/null 2>"$work/agree-$1.err" ||
        { cat "$work/agree-$1.err" >&2; return 1; }
}
agree cpu
agreement=()
working=()
for device in "${devices[@]}"; do
    if ! agree "$device"; then
        echo "--device $device: FAILED to train (above); left out of the benchmarks"
        agreement+=("$(printf '%-10s %s' "$device" "DIFFERS: it failed to train")")
        continue
    fi
    working+=("$device")
    tolerance=1e-4
    if [[ $device == cuda* ]]; then tolerance=1e-3; fi
    verdict=$(python3 - "$work/agree-cpu/metrics.jsonl" "$work/agree-$device/metrics.jsonl" "$tolerance" <<'EOF'
import json, sys
cpu, gpu = ([json.loads(line) for line in open(path)] for path in sys.argv[1:3])
tolerance = float(sys.argv[3])
keys = ["loss_D", "loss_G", "D_x", "D_G_z"]
worst = [max(abs(g[k] - c[k]) / max(1.0, abs(c[k])) for k in keys) for c, g in zip(cpu, gpu)]
ok = len(worst) == len(cpu) == 3 and worst[0] <= tolerance
print(("agrees" if ok else "DIFFERS") + f": step 1 {worst[0]:.1e} (at most {tolerance:.0e}); "
      + "steps 2 and 3 " + ", ".join(f"{w:.1e}" for w in worst[1:]))
EOF
    )
    echo "--device $device against --device cpu: $verdict"
    agreement+=("$(printf '%-10s %s' "$device" "$verdict")")
done

# (label, dcgan bench flags, PyTorch script and flags) triples; a software adapter gets one
# tiny size only.
if [[ $smoke -eq 0 ]]; then
    benches=(
        "seed 28x28 b100|--batch-size 100|dcgan_torch.py bench --padding tf --batch 100"
        "seed 28x28 b256|--batch-size 256|dcgan_torch.py bench --padding tf --batch 256"
        "seed 28x28 b1024|--batch-size 1024|dcgan_torch.py bench --padding tf --batch 1024"
        "paper 64x64 RGB b64|--image-size 64 --channels 3 --batch-size 64|dcgan64_torch.py bench --batch 64"
        "paper 64x64 RGB b256|--image-size 64 --channels 3 --batch-size 256|dcgan64_torch.py bench --batch 256"
    )
    iters=(--iters 10 --warmup 3)
    train_steps=(--epochs 2 --limit-batches 100 --batch-size 100)
else
    benches=("seed 28x28 b8|--batch-size 8|")
    iters=(--iters 2 --warmup 1)
    train_steps=(--epochs 1 --limit-batches 4 --batch-size 8)
fi
# Milliseconds of a training iteration and of 1000 generated images, from dcgan's --json.
dcgan_ms() {
    python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print("%.1f %.1f" % (r["train_iteration"]["median_ms"], r["generate_1000"]["median_ms"]))' "$1"
}
torch_ms() {
    python3 -c 'import json, sys; r = json.loads(next(l for l in open(sys.argv[1]) if l.startswith("JSON "))[5:]); print("%.1f %.1f" % (r["train_iter_ms_median"], r["g_infer_1000_ms_median"]))' "$1"
}
if [[ ${#working[@]} -eq 0 ]]; then
    echo "gpu-check: FAILED: no GPU path trained" >&2
    exit 1
fi
columns=("${working[@]}")
if [[ $torch -eq 1 ]]; then columns+=(torch); fi
summary=()
for entry in "${benches[@]}"; do
    IFS='|' read -r label flags reference <<<"$entry"
    read -r -a flags <<<"$flags"
    line=$(printf '%-22s' "$label")
    for column in "${columns[@]}"; do
        figures="skipped (time)"
        if ! over_budget; then
            if [[ $column == torch ]]; then
                read -r -a reference_args <<<"$reference"
                section "PyTorch on CUDA: $reference"
                if timeout 120 python3 "$torch_bench/${reference_args[0]}" "${reference_args[@]:1}" \
                    --device cuda --iters 10 --warmup 3 --json >"$work/torch.txt" 2>&1; then
                    figures=$(torch_ms "$work/torch.txt")
                else
                    figures="failed"
                fi
                cat "$work/torch.txt"
            else
                section "dcgan bench --device $column ${flags[*]}"
                if timeout 120 "$dcgan" bench --device "$column" "${flags[@]}" "${iters[@]}" \
                    --json >"$work/bench.json" 2>"$work/bench.err"; then
                    figures=$(dcgan_ms "$work/bench.json")
                else
                    figures="failed"
                    cat "$work/bench.err" >&2
                fi
                cat "$work/bench.json" 2>/dev/null || true
            fi
        fi
        read -r iteration generation <<<"$figures"
        line+=$(printf ' %10s %10s' "$iteration" "${generation:--}")
    done
    echo "$line"
    summary+=("$line")
done

device="${working[0]}"
section "a seeded training run on $device"
started=$(date +%s%N)
"$dcgan" train --device "$device" --data-dir "$mnist" "${train_steps[@]}" --seed 1 --sample-every 1 \
    --out "$work/run" | tail -n 4
seconds=$(awk -v a="$started" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
"$dcgan" sample --checkpoint "$work/run" --device "$device" --n 64 --columns 8 --out "$work/samples.png" >/dev/null
pictures=$(ls "$work/run/samples" | wc -l)
# The same run stopped after its first epoch and resumed: byte-identical on the CPU; on a
# GPU measured here (cubecl times kernel variants per process, and another variant rounds
# differently).
part_steps=("${train_steps[@]}")
part_steps[1]=1
if ! "$dcgan" train --device "$device" --data-dir "$mnist" "${part_steps[@]}" --seed 1 \
    --sample-every 1 --out "$work/part" >/dev/null 2>&1 ||
    ! "$dcgan" train --out "$work/part" --resume --epochs "${train_steps[1]}" >/dev/null 2>&1; then
    resumed="FAILED to train or resume"
elif cmp -s "$work/run/generator.safetensors" "$work/part/generator.safetensors"; then
    resumed="byte-identical to the whole run"
else
    resumed="not byte-identical to the whole run"
fi
mkdir -p "$kept"
cp "$work/run/samples/"*.png "$work/samples.png" "$kept/"

section "summary"
"$dcgan" devices | grep -e "^  cuda:" -e "--device wgpu takes" || true
printf '%s\n' "${agreement[@]}"
header=$(printf '%-22s' "model, batch")
for column in "${columns[@]}"; do
    header+=$(printf ' %10s %10s' "$column ms" "1000 img")
done
echo "$header"
printf '%s\n' "${summary[@]}"
echo "(milliseconds: the median training iteration, D step then G step, and 1000 generated images)"
printf 'training run on %s: %s, %s s, %d pictures and a 64-image sample in %s\n' \
    "$device" "${train_steps[*]}" "$seconds" "$pictures" "$kept"
echo "the run stopped after epoch 1 and resumed: $resumed"
printf 'whole check: %d s\n' "$(($(date +%s) - started_all))"
if printf '%s\n' "${agreement[@]}" | grep -q DIFFERS; then
    echo "gpu-check: FAILED: a GPU path's first iterations differ from the CPU's" >&2
    exit 1
fi
