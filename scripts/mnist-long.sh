#!/usr/bin/env bash
# The long MNIST run the seed asks for (its total_epoch = 100): dcgan's default recipe for
# 100 epochs on full MNIST, scored every 10 epochs by the built-in classifier's FID on
# 10,000 generated images against the test set (`--eval-every 10 --eval-n 10000`), so that
# the run's fid.png and `dcgan report OUT` show the curve (docs/quality.md).
#
#     scripts/mnist-long.sh MNIST_DIR OUT [PRECISION=bf16] [SEED=1] [EPOCHS=100]
#
# bf16 by default where the CPU has AVX512-BF16: docs/performance.md shows its FID within
# f32's seed-to-seed spread after 2 epochs (falls back to f32 elsewhere). An interrupted run
# is resumed (exactly, from its last checkpoint) by running the same command again. Set
# DCGAN to the binary (default: dcgan on the PATH) and EXTRA to more flags (e.g.
# "--limit-batches 5" for a quick check).
set -euo pipefail
mnist="$1" out="$2" precision="${3:-bf16}" seed="${4:-1}" epochs="${5:-100}"
dcgan="${DCGAN:-dcgan}"
read -r -a extra <<< "${EXTRA:-}"
if [[ "$precision" == bf16 ]] &&
    ! "$dcgan" bench --iters 1 --warmup 0 --batch-size 2 --precision bf16 > /dev/null 2>&1; then
    echo "this CPU has no AVX512-BF16: training in f32" >&2
    precision=f32
fi
command=("$dcgan" train --data-dir "$mnist" --epochs "$epochs" --seed "$seed"
    --precision "$precision" --eval-every 10 --eval-n 10000 --out "$out" "${extra[@]}")
if [[ -f "$out/checkpoint.dcgan" ]]; then command+=(--resume); fi
echo "== ${command[*]}" >&2
"${command[@]}"
"$dcgan" report --run "$out"
