#!/usr/bin/env bash
# Fetches KDE's Oxygen icons (LGPL-3, Debian's package oxygen-icon-theme) as a folder of
# 64×64 colour PNGs, one per drawing (the theme's aliases, symbolic links, left out), for
# `dcgan train --dataset folder --data-dir DIR`: a second small real folder beside the emoji
# of scripts/emoji-data.sh, of another kind of picture. Installs once into
# ${DCGAN_ICONS_DIR:-$HOME/.cache/dcgan/icons} and prints the folder's absolute path:
#
#     dcgan train --dataset folder --data-dir "$(scripts/icons-data.sh)"
#
# Needs apt-get (the package is fetched with `apt-get download`, which checks it against the
# signed package index) and dpkg-deb. A second run finds the folder and only prints it.
set -euo pipefail

version=5:5.103.0-1
expected=587
root="${DCGAN_ICONS_DIR:-$HOME/.cache/dcgan/icons}"
dest="$root/oxygen-icon-theme-${version#*:}"
images="$dest/64x64"

if [[ ! -f "$dest/.complete" ]]; then
    mkdir -p "$root"
    work="$(mktemp -d "$root/.tmp-XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    echo "fetching oxygen-icon-theme=$version with apt-get download" >&2
    (cd "$work" && apt-get download -q=2 "oxygen-icon-theme=$version")
    dpkg-deb -x "$work"/oxygen-icon-theme_*.deb "$work/root"
    from="$work/root/usr/share/icons/oxygen/base/64x64"
    mkdir -p "$work/out/64x64"
    (cd "$from" && find . -type f -name '*.png' -exec cp --parents -t "$work/out/64x64" {} +)
    cp "$work/root/usr/share/doc/oxygen-icon-theme/copyright" "$work/out/"
    touch "$work/out/.complete"
    rm -rf "$dest"
    mv "$work/out" "$dest"
fi

count="$(find "$images" -type f -name '*.png' | wc -l)"
if [[ "$count" -ne "$expected" ]]; then
    echo "error: $images holds $count PNG files, expected $expected; delete $dest and run again" >&2
    exit 1
fi
cd "$images" && pwd -P
