#!/usr/bin/env bash
# Latency of `dcgan serve`'s fixed route: a 64-image PNG grid of the seed model,
# GET /api/sample?seed=S&n=64, 100 requests one after another (each a new seed), median and
# 90th percentile of curl's total time. A benchmark, not a test: run it by hand.
#
#   bench/serve_latency.sh [PATH_TO_DCGAN] [RUN_DIR]
#
# Without RUN_DIR it trains a short seed-model run first (10 batches of the embedded MNIST
# subset, offline).
set -euo pipefail
dcgan=${1:-target/release/dcgan}
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
run=${2:-}
if [[ -z "$run" ]]; then
  run=$work/run
  "$dcgan" train --epochs 1 --limit-batches 10 --seed 1 --out "$run" >/dev/null
fi
"$dcgan" serve --run "$run" --addr 127.0.0.1:0 >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  grep -q "on http://" "$work/serve.log" 2>/dev/null && break
  sleep 0.1
done
base=$(grep -o 'http://[0-9.:]*' "$work/serve.log" | head -1)
# Warm up, then measure.
for seed in $(seq 1000 1009); do curl -sf -o /dev/null "$base/api/sample?seed=$seed&n=64"; done
for seed in $(seq 1 100); do
  curl -sf -o /dev/null -w '%{time_total}\n' "$base/api/sample?seed=$seed&n=64"
done | sort -n >"$work/times"
median=$(sed -n 50p "$work/times")
p90=$(sed -n 90p "$work/times")
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
printf '64-image grid of the seed model, 100 requests on %s (%s cores):\n' "$cpu" "$(nproc)"
awk -v m="$median" -v p="$p90" 'BEGIN { printf "  median %.1f ms, 90th percentile %.1f ms\n", m * 1000, p * 1000 }'
