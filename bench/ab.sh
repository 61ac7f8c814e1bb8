#!/usr/bin/env bash
# Two dcgan binaries against each other: `dcgan bench` run alternately, PAIRS times.
#
# Usage: bench/ab.sh OLD NEW [PAIRS=8] [extra `dcgan bench` flags for both...]
#
# Prints, for training and generation, the median of the pairwise ratios NEW / OLD and in
# how many pairs NEW was faster. Single runs on a shared machine vary by ±15 %; pairs run
# seconds apart see the same load, so their ratios are what count.
set -euo pipefail
old="$1" new="$2" pairs="${3:-8}"
shift $(( $# < 3 ? $# : 3 ))
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for i in $(seq 1 "$pairs"); do
    for side in old new; do
        bin="${!side}"
        RAYON_NUM_THREADS=2 "$bin" bench --iters 6 --warmup 2 --json "$@" | tail -1 > "$out/$side.$i.json"
    done
done
python3 - "$out" "$pairs" <<'PY'
import json, statistics, sys
out, pairs = sys.argv[1], int(sys.argv[2])
def load(side, i):
    return json.load(open(f"{out}/{side}.{i}.json"))
for key, label in (("train_iteration", "training iteration"), ("generate_1000", "1000 images")):
    old = [load("old", i)[key]["median_ms"] for i in range(1, pairs + 1)]
    new = [load("new", i)[key]["median_ms"] for i in range(1, pairs + 1)]
    ratios = [n / o for o, n in zip(old, new)]
    wins = sum(r < 1 for r in ratios)
    print(f"{label:20} old {statistics.median(old):7.1f} ms  new {statistics.median(new):7.1f} ms  "
          f"new/old {statistics.median(ratios):.3f}  (new faster in {wins} of {pairs})")
PY
