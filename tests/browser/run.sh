#!/usr/bin/env bash
# The page of `dcgan serve` in headless Chromium: trains a short conditional run on real
# MNIST digits, serves it on loopback, and runs check_page.mjs against it (see there) while
# the run trains on by another epoch.
#
#   tests/browser/run.sh DCGAN MNIST_DIR [SCREENSHOT.png]
#
# Needs Debian's chromium and Node.js, and playwright-core under $PLAYWRIGHT_DIR.
set -euo pipefail
dcgan=$1
mnist=$2
screenshot=${3:-}
here="$(cd "$(dirname "$0")" && pwd)"
work=$(mktemp -d)
server=
trap 'if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
"$dcgan" train --data-dir "$mnist" --epochs 1 --limit-batches 100 --seed 1 --conditional acgan \
    --eval-every 1 --eval-n 200 --out "$work/run" >/dev/null
"$dcgan" serve --run "$work/run" --addr 127.0.0.1:0 >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do
    grep -q "on http://" "$work/serve.log" 2>/dev/null && break
    sleep 0.1
done
base=$(grep -o 'http://[0-9.:]*' "$work/serve.log" | head -1)
# While the page is open, the run trains on by an epoch: its timeline and curves grow live.
DCGAN_TRAIN_ON="'$dcgan' train --out '$work/run' --resume --epochs 2 >/dev/null" \
    node "$here/check_page.mjs" "$base" $screenshot
