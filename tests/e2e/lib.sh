# Shared helpers for the end-to-end tests: each test_*.sh sources this,
# gets a fresh work directory in $WORK and a small fast model config in
# $WORK/model.yaml (built-in resnet18, random weights, 64x64 input).
set -euo pipefail

: "${ZOO:?ZOO must point at the zoo binary (run through ctest)}"
PHOTOS=/usr/share/doc/opencv-doc/examples/data
WORK="${ZOO_TEST_TMP:-/tmp/zoo-test}/$(basename "$0" .sh)"
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"

cat > model.yaml <<'YAML'
name: tiny-resnet18
entrypoint: resnet18
entrypoint_args: {num_classes: 4}
image_size: [64, 64]
image_mean: [0.485, 0.456, 0.406]
image_std: [0.229, 0.224, 0.225]
classes: [cat, dog, bird, fish]
YAML

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# photos_twice DIR: DIR holds every opencv-doc JPEG twice, numbered in
# order (001_baboon.jpg, 002_baboon.jpg, ...).
photos_twice() {
  mkdir "$1"
  local n=0 f copy
  for f in "$PHOTOS"/*.jpg; do
    for copy in 1 2; do
      n=$((n + 1))
      cp "$f" "$1/$(printf '%03d' $n)_$(basename "$f")"
    done
  done
}

# expect_exit CODE CMD...: runs CMD, fails the test unless it exits CODE.
expect_exit() {
  local want=$1
  shift
  local got=0
  "$@" || got=$?
  [[ $got == "$want" ]] || fail "expected exit $want, got $got: $*"
}

# count_lines FILE: number of lines.
count_lines() { wc -l < "$1" | tr -d ' '; }

# jsonl_check FILE PYTHON_EXPR: evaluates EXPR with `records` (the parsed
# lines of FILE); fails unless it is true. Also fails if any line is not JSON.
jsonl_check() {
  /usr/bin/python3 - "$1" "$2" <<'PY' || fail "check failed on $1: $2"
import json, sys
records = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
ok = eval(sys.argv[2])
if not ok:
    print("records:", *records[:50], sep="\n", file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}
