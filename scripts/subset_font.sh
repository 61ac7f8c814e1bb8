#!/usr/bin/env bash
# Makes assets/fonts/DejaVuSans-subset.ttf, the font of dcgan's plots: DejaVu Sans (Debian's
# fonts-dejavu-core) cut down to printable ASCII and · × β − with fonttools, 26 KB instead
# of 760 KB. Licence: assets/fonts/LICENSE (Bitstream Vera; DejaVu changes public domain).
set -euo pipefail
cd "$(dirname "$0")/.."
pyftsubset /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf \
    --unicodes="U+0020-007E,U+00B7,U+00D7,U+03B2,U+2212" \
    --output-file=assets/fonts/DejaVuSans-subset.ttf
