#!/usr/bin/env bash
# Fetches Twitter's emoji (Twemoji, CC-BY 4.0, from the npm package emoji-datasource-twitter)
# as a folder of 64×64 PNGs for `dcgan train --dataset folder --data-dir DIR`, once, into
# ${DCGAN_EMOJI_DIR:-$HOME/.cache/dcgan/emoji}, and prints the folder's absolute path:
#
#     dcgan train --dataset folder --data-dir "$(scripts/emoji-data.sh)"
#
# Needs npm (the package is fetched with `npm pack`, which checks the registry's integrity
# hash) and tar. A second run finds the folder and only prints it.
set -euo pipefail

version=16.0.0
expected=3786
root="${DCGAN_EMOJI_DIR:-$HOME/.cache/dcgan/emoji}"
dest="$root/emoji-datasource-twitter-$version"
images="$dest/img/twitter/64"

if [[ ! -f "$dest/.complete" ]]; then
    mkdir -p "$root"
    work="$(mktemp -d "$root/.tmp-XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    echo "fetching emoji-datasource-twitter@$version with npm pack" >&2
    (cd "$work" && npm pack --silent "emoji-datasource-twitter@$version" >/dev/null)
    tar -xzf "$work/emoji-datasource-twitter-$version.tgz" -C "$work" \
        package/img/twitter/64 package/package.json package/LICENSE
    touch "$work/package/.complete"
    rm -rf "$dest"
    mv "$work/package" "$dest"
fi

count="$(find "$images" -maxdepth 1 -name '*.png' | wc -l)"
if [[ "$count" -ne "$expected" ]]; then
    echo "error: $images holds $count PNG files, expected $expected; delete $dest and run again" >&2
    exit 1
fi
cd "$images" && pwd -P
