#!/usr/bin/env bash
# Installs, under DIR, what tests/reference/tfjs_run.js needs to run
# TensorFlow.js graph models in Node with the pure-JS CPU backend:
#   DIR/node_modules/@tensorflow/tfjs      (pinned version, no native code)
#   DIR/node_modules/@tensorflow/tfjs-backend-wasm  (same version; its .wasm
#                                          files ship in the package; used by
#                                          scripts/bench/tfjs.sh)
#   DIR/human-3.3.6/models/*.json|*.bin    (pretrained models of @vladmandic/human)
# Idempotent: each part is skipped when it is already in place.
#
#   ./scripts/setup-tfjs.sh build/tfjs
#   TFJS_DIR=build/tfjs node tests/reference/tfjs_run.js \
#     build/tfjs/human-3.3.6/models/centernet.json input.npy out/centernet
#
# Never use @tensorflow/tfjs-node here: its install downloads a native library.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi

TFJS_VERSION=4.22.0
HUMAN_VERSION=3.3.6

mkdir -p "$1"
dir=$(cd "$1" && pwd)

# Node and npm: Debian's packages, only when missing.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup-tfjs: installing nodejs npm" >&2
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends nodejs npm
fi

# (a) @tensorflow/tfjs at the pinned version. No package of it needs an install
# script (core-js's only prints a banner), so run none.
installed=""
pkg_json="$dir/node_modules/@tensorflow/tfjs/package.json"
if [[ -f $pkg_json ]]; then
  installed=$(node -e 'process.stdout.write(String(require(process.argv[1]).version))' "$pkg_json")
fi
if [[ $installed != "$TFJS_VERSION" ]]; then
  npm install --no-audit --no-fund --save-exact --ignore-scripts --prefix "$dir" "@tensorflow/tfjs@$TFJS_VERSION"
fi

# (a') @tensorflow/tfjs-backend-wasm at the same version, for the benchmark.
# It has no install script: the prebuilt .wasm files are in its dist/.
installed=""
pkg_json="$dir/node_modules/@tensorflow/tfjs-backend-wasm/package.json"
if [[ -f $pkg_json ]]; then
  installed=$(node -e 'process.stdout.write(String(require(process.argv[1]).version))' "$pkg_json")
fi
if [[ $installed != "$TFJS_VERSION" ]]; then
  npm install --no-audit --no-fund --save-exact --ignore-scripts --prefix "$dir" \
    "@tensorflow/tfjs-backend-wasm@$TFJS_VERSION"
fi

# (b) the models of @vladmandic/human, extracted from its npm tarball.
models="$dir/human-$HUMAN_VERSION/models"
if [[ ! -d $models ]]; then
  tgz="$dir/vladmandic-human-$HUMAN_VERSION.tgz"
  if [[ ! -f $tgz ]]; then
    # npm pack prints the tarball's name on stdout; keep stdout quiet.
    (cd "$dir" && npm pack --silent "@vladmandic/human@$HUMAN_VERSION" >/dev/null)
  fi
  tmp=$(mktemp -d "$dir/.human-extract.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  tar xzf "$tgz" -C "$tmp" package/models
  mkdir -p "$dir/human-$HUMAN_VERSION"
  # Move into place last, so a present models directory is always complete.
  mv "$tmp/package/models" "$models"
fi
