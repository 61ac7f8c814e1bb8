#!/usr/bin/env bash
# The small-folder issue's yardstick: splits a folder of images into two halves by sorted
# path (even places to half A, odd to half B, as links in ${DCGAN_HALVES_DIR:-~/.cache/dcgan/halves}),
# scores half B against half A (the floor: real images against real images, `dcgan fid`),
# then each run's best generator (generator.best.safetensors, else generator.safetensors) on
# as many images as half A holds against half A (`dcgan eval`), and prints one row per run:
# its FID, its ratio to the floor, and whether it is within twice the floor (the target).
#
#     scripts/half-folder-fid.sh DATA_DIR RUN...
#
# The folder's images should already have the runs' size (as the emoji and icons of
# scripts/emoji-data.sh and icons-data.sh have): `dcgan fid` reads them as they are, `dcgan
# eval` at the generator's size. Only the extensions both read are taken (lower-case png,
# jpg, jpeg, webp, bmp; hidden files left out, as dcgan does). Set DCGAN to the binary
# (default: dcgan on the PATH). The halves are keyed by the folder's listing (names and
# sizes), and both halves' Inception statistics are cached, so a second call scores only the
# generators.
set -euo pipefail
data="$(cd "$1" && pwd -P)"
shift
dcgan="${DCGAN:-dcgan}"

list() {
    find "$data" -mindepth 1 -name '.*' -prune -o -type f \( -name '*.png' -o -name '*.jpg' \
        -o -name '*.jpeg' -o -name '*.webp' -o -name '*.bmp' \) -printf '%P\t%s\n' | LC_ALL=C sort
}
key="$(list | sha256sum | cut -c1-16)"
halves="${DCGAN_HALVES_DIR:-$HOME/.cache/dcgan/halves}/$(basename "$data")-$key"

# One call at a time builds the halves and scores the floor; another waits for it, then
# finds both done.
mkdir -p "$(dirname "$halves")"
exec 9> "$halves.lock"
flock 9
if [[ ! -f "$halves/.complete" ]]; then
    rm -rf "$halves"
    mkdir -p "$halves/a" "$halves/b"
    i=0
    while IFS=$'\t' read -r rel _; do
        if (( i % 2 == 0 )); then side=a; else side=b; fi
        # The place in front keeps names from different sub-folders apart.
        ln -s "$data/$rel" "$halves/$side/$(printf '%05d' "$i")-${rel//\//_}"
        i=$((i + 1))
    done < <(list)
    touch "$halves/.complete"
fi
n="$(find "$halves/a" -type l | wc -l)"
echo "halves of $data: $n and $(find "$halves/b" -type l | wc -l) images in $halves" >&2

floor_file="$halves/floor.txt"
if [[ ! -s "$floor_file" ]]; then
    "$dcgan" fid "$halves/b" "$halves/a" | sed -n 's/^FID: //p' > "$floor_file"
fi
floor="$(cat "$floor_file")"
flock -u 9
echo "floor: half B against half A, FID $floor" >&2

# Each call writes its scores to a file of its own, so that two calls at once (two lanes of
# the study) cannot read each other's.
json="$(mktemp)"
trap 'rm -f "$json"' EXIT
printf '| run | generator | FID vs half A (%s images) | / floor (%.1f) | within 2× |\n|---|---|---|---|---|\n' "$n" "$floor"
for run in "$@"; do
    generator="$run/generator.best.safetensors"
    [[ -f "$generator" ]] || generator="$run/generator.safetensors"
    "$dcgan" eval --checkpoint "$generator" --dataset folder --data-dir "$halves/a" \
        --n "$n" --seed 1 --json "$json" > /dev/null
    python3 - "$json" "$floor" "$run" "$(basename "$generator")" <<'PY'
import json, sys
fid, floor = json.load(open(sys.argv[1]))["fid"], float(sys.argv[2])
within = "yes" if fid <= 2 * floor else "no"
print(f"| {sys.argv[3]} | {sys.argv[4]} | {fid:.1f} | {fid / floor:.2f} | {within} |")
PY
done
