#!/usr/bin/env bash
# Makes the digits tree from opencv-doc's digits.png (see make-digits.py):
#   ./scripts/make-digits.sh [OUTDIR]      (default build/digits, relative to the current folder)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-build/digits}
if [[ -f $out/test/9/r49c099.png && -f $out/train/0/r00c000.png ]]; then
  exit 0  # already there
fi
mkdir -p "$(dirname "$out")"
/usr/bin/python3 "$here/make-digits.py" "$out"
