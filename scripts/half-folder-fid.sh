#!/usr/bin/env bash
# The small-folder issue's yardstick: splits a folder of images into two halves by sorted
# path (even places to half A, odd to half B, as links in ${DCGAN_HALVES_DIR:-~/.cache/dcgan/halves}),
# scores half B against half A (the floor: real images against real images, `dcgan fid`),
# then each run's best generator (generator.best.safetensors, else generator.safetensors) on
# as many images as half A holds against half A (`dcgan eval`), and prints one line per run:
# its FID, its ratio to the floor, and whether it is within twice the floor (the target).
#
#     scripts/half-folder-fid.sh DATA_DIR RUN...
#
# Set DCGAN to the binary (default: dcgan on the PATH). Both halves' Inception statistics
# are cached by content, so a second call scores only the generators.
set -euo pipefail
data="$(cd "$1" && pwd -P)"
shift
dcgan="${DCGAN:-dcgan}"
key="$(printf '%s' "$data" | sha256sum | cut -c1-16)"
halves="${DCGAN_HALVES_DIR:-$HOME/.cache/dcgan/halves}/$(basename "$data")-$key"

if [[ ! -f "$halves/.complete" ]]; then
    rm -rf "$halves"
    mkdir -p "$halves/a" "$halves/b"
    i=0
    while IFS= read -r -d '' file; do
        rel="${file#"$data"/}"
        if (( i % 2 == 0 )); then side=a; else side=b; fi
        ln -s "$file" "$halves/$side/${rel//\//_}"
        i=$((i + 1))
    done < <(find "$data" -type f \( -iname '*.png' -o -iname '*.jpg' -o -iname '*.jpeg' \
        -o -iname '*.gif' -o -iname '*.webp' -o -iname '*.bmp' \) -print0 | sort -z)
    touch "$halves/.complete"
fi
n="$(find "$halves/a" -type l | wc -l)"
echo "halves of $data: $n and $(find "$halves/b" -type l | wc -l) images in $halves" >&2

floor_file="$halves/floor.txt"
if [[ ! -s "$floor_file" ]]; then
    "$dcgan" fid "$halves/b" "$halves/a" | grep -Eo '[0-9]+\.[0-9]+' | tail -1 > "$floor_file"
fi
floor="$(cat "$floor_file")"
echo "floor: half B against half A, FID $floor" >&2

printf '| run | generator | FID vs half A (%s images) | / floor (%.1f) | within 2× |\n|---|---|---|---|---|\n' "$n" "$floor"
for run in "$@"; do
    generator="$run/generator.best.safetensors"
    [[ -f "$generator" ]] || generator="$run/generator.safetensors"
    "$dcgan" eval --checkpoint "$generator" --dataset folder --data-dir "$halves/a" \
        --n "$n" --seed 1 --json "$halves/eval.json" > /dev/null
    fid="$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['fid'])" "$halves/eval.json")"
    python3 -c "import sys; f, fl = float(sys.argv[1]), float(sys.argv[2]); \
print(f'| {sys.argv[3]} | {sys.argv[4]} | {f:.1f} | {f / fl:.2f} | {\"yes\" if f <= 2 * fl else \"no\"} |')" \
        "$fid" "$floor" "$run" "$(basename "$generator")"
done
