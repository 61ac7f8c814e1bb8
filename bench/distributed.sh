#!/usr/bin/env bash
# One machine, two ways: the same training run in 1 process with 2 threads and in 2 MPI
# processes with 1 thread each, alternating ROUNDS times (images a second, from the epoch
# line), for the seed's model (batch 100) and the DCGAN paper's 64×64 RGB model (batch 64,
# random images); then `dcgan bench --all-reduce` for both models over Open MPI's shared
# memory (vader) and its TCP transport on loopback (docs/distributed.md).
#
#   bench/distributed.sh DCGAN [ROUNDS]      # DCGAN built with --features mpi
set -euo pipefail
dcgan="$1"
rounds="${2:-3}"
mnist="$(cd "$(dirname "$0")/../../shared/data/mnist" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_oob_tcp_if_include=lo OMPI_MCA_mpi_yield_when_idle=1
rate() { sed -nE 's/^epoch 0000 .* ([0-9]+) img\/s$/\1/p' "$1"; }
seed=(--data-dir "$mnist" --batch-size 100 --limit-batches 40)
paper=(--dataset fake --image-size 64 --channels 3 --batch-size 64 --limit-batches 6)
for model in seed paper; do
    declare -n flags="$model"
    for round in $(seq "$rounds"); do
        rm -rf "$work"/one "$work"/two
        RAYON_NUM_THREADS=2 "$dcgan" train "${flags[@]}" --epochs 1 --seed 1 --out "$work/one" >"$work/one.txt"
        RAYON_NUM_THREADS=1 OMPI_MCA_btl=self,vader mpirun --oversubscribe -np 2 \
            "$dcgan" train "${flags[@]}" --epochs 1 --seed 1 --out "$work/two" >"$work/two.txt"
        echo "$model round $round: 1 process × 2 threads $(rate "$work/one.txt") img/s, 2 processes × 1 thread $(rate "$work/two.txt") img/s"
    done
done
for btl in self,vader self,tcp; do
    for model in "" "--image-size 64 --channels 3"; do
        # shellcheck disable=SC2086
        echo "btl $btl, ${model:-seed model}: $(RAYON_NUM_THREADS=1 OMPI_MCA_btl=$btl OMPI_MCA_btl_tcp_if_include=lo \
            mpirun --oversubscribe -np 2 "$dcgan" bench --all-reduce $model --iters 20 --warmup 3)"
    done
done
