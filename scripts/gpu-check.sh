#!/usr/bin/env bash
# The GPU path on a machine with a GPU, in one go (a few minutes): what Vulkan sees, which
# adapter dcgan takes, training and sampling speed at several batch sizes, a short seeded
# training run with its pictures, and one summary table at the end (docs/gpu.md).
#
#   scripts/gpu-check.sh [--allow-software] [DCGAN [MNIST_DIR]]
#
# DCGAN is a release build made with `cargo build --release --features wgpu` (here or on
# another machine and copied: it needs only the C library and the Vulkan loader,
# libvulkan.so.1, at run time); by default the one in $CARGO_TARGET_DIR or target/. MNIST_DIR
# holds the four IDX files (default ../shared/data/mnist; without them the run trains on
# the digits built into dcgan).
#
# It fails when wgpu finds only a software adapter (such as Mesa's lavapipe): that is no
# GPU, and its figures are not GPU speed. --allow-software goes on anyway with a tiny smoke
# check (a few steps at batch 8), for trying the script on a machine without a GPU.
set -euo pipefail
allow_software=0
if [[ "${1:-}" == --allow-software ]]; then
    allow_software=1
    shift
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
dcgan="${1:-${CARGO_TARGET_DIR:-$root/target}/release/dcgan}"
mnist="${2:-$root/../shared/data/mnist}"
if [[ ! -x "$dcgan" ]]; then
    echo "gpu-check: no dcgan binary at $dcgan; build one with \`cargo build --release --features wgpu\` or name it" >&2
    exit 2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
section() { printf '\n== %s\n' "$*"; }

section "Vulkan drivers (ICD files)"
ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null || echo "(no ICD folder: no Vulkan driver is installed)"
section "vulkaninfo --summary"
if command -v vulkaninfo >/dev/null; then
    NODEVICE_SELECT=1 vulkaninfo --summary 2>/dev/null | sed -n '/^Devices:/,$p' || true
else
    echo "(vulkaninfo is not installed: Debian's vulkan-tools)"
fi
section "libraries of $dcgan"
ldd "$dcgan" || true
section "dcgan devices"
"$dcgan" devices
if "$dcgan" devices --require-gpu >/dev/null 2>"$work/require.txt"; then
    device=wgpu
    kind="GPU"
else
    cat "$work/require.txt" >&2
    if [[ $allow_software -eq 0 ]]; then
        echo "gpu-check: FAILED: wgpu has a software adapter only, no GPU; install the GPU's Vulkan driver (NVIDIA: its Vulkan ICD) or pass --allow-software for a smoke check" >&2
        exit 1
    fi
    device=wgpu:cpu
    kind="software adapter (smoke check, not GPU speed)"
fi

# (label, bench flags) pairs; a software adapter gets one tiny size only.
if [[ $device == wgpu ]]; then
    benches=(
        "seed 28x28 b100|--batch-size 100"
        "seed 28x28 b256|--batch-size 256"
        "seed 28x28 b1024|--batch-size 1024"
        "paper 64x64 RGB b64|--image-size 64 --channels 3 --batch-size 64"
        "paper 64x64 RGB b256|--image-size 64 --channels 3 --batch-size 256"
    )
    iters=(--iters 10 --warmup 3)
    train_steps=(--epochs 2 --limit-batches 100 --batch-size 100)
else
    benches=("seed 28x28 b8|--batch-size 8")
    iters=(--iters 2 --warmup 1)
    train_steps=(--epochs 1 --limit-batches 4 --batch-size 8)
fi
summary=()
number() { sed -E "s/.*\"$1\":([-0-9.e+]+).*/\1/" "$2"; }
for entry in "${benches[@]}"; do
    label="${entry%%|*}"
    read -r -a flags <<<"${entry#*|}"
    section "dcgan bench --device $device ${flags[*]}"
    "$dcgan" bench --device "$device" "${flags[@]}" "${iters[@]}" --json >"$work/bench-$device.json"
    # The CPU beside it, for scale (fewer repetitions: it is the slow one here).
    "$dcgan" bench --device cpu "${flags[@]}" --iters 3 --warmup 1 --json >"$work/bench-cpu.json"
    line=$(printf '%-22s %12.0f %12.1f %12.0f %14.0f' "$label" \
        "$(number train_images_per_sec "$work/bench-$device.json")" \
        "$(sed -E 's/.*"train_iteration":\{[^}]*"median_ms":([-0-9.e+]+).*/\1/' "$work/bench-$device.json")" \
        "$(number generate_images_per_sec "$work/bench-$device.json")" \
        "$(number train_images_per_sec "$work/bench-cpu.json")")
    echo "$line"
    summary+=("$line")
done

section "a seeded training run on $device"
started=$(date +%s%N)
"$dcgan" train --device "$device" --data-dir "$mnist" "${train_steps[@]}" --seed 1 --sample-every 1 \
    --out "$work/run" | tail -n 4
seconds=$(awk -v a="$started" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
"$dcgan" sample --checkpoint "$work/run" --device "$device" --n 64 --columns 8 --out "$work/samples.png" >/dev/null
pictures=$(ls "$work/run/samples" | wc -l)
kept="$root/runs/gpu-check"
mkdir -p "$kept"
cp "$work/run/samples/"*.png "$work/samples.png" "$kept/"

section "summary ($kind)"
"$dcgan" devices | grep -- "--device $device takes"
printf '%-22s %12s %12s %12s %14s\n' "model, batch" "train img/s" "iter ms" "sample img/s" "CPU train img/s"
printf '%s\n' "${summary[@]}"
printf 'training run: %s, %s s, %d pictures and a 64-image sample in %s\n' \
    "${train_steps[*]}" "$seconds" "$pictures" "$kept"
