#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job: zoo apply with a
# resnet18 over the real photos of Debian's opencv-doc, printing the labels.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
zoo=${ZOO_BUILD_DIR:-build}/zoo
if [[ ! -f models/resnet18-demo.pt ]]; then
  /usr/bin/python3 scripts/make-demo-model.py models/resnet18-demo.pt
fi

photos=/usr/share/doc/opencv-doc/examples/data
echo "== zoo apply configs/resnet18-demo.yaml $photos/*.jpg (top 3 classes)" >&2
echo "   note: the weights are seeded random ones (nothing can be downloaded here)," >&2
echo "   so the pipeline is real and the labels are not meaningful." >&2
code=0
"$zoo" apply configs/resnet18-demo.yaml "$photos"/*.jpg --top-k 3 -o demo-labels.jsonl || code=$?
/usr/bin/python3 - demo-labels.jsonl <<'PY'
import json, os, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    name = os.path.basename(r["filepath"])
    if "error" in r:
        print(f"{name:28s} ERROR {r['error']}")
        continue
    top = ", ".join(f"{c['label'].split(',')[0]} {c['confidence']:.3f}" for c in r["predictions"]["classifications"])
    print(f"{name:28s} {r['width']}x{r['height']:<5d} {top}")
PY
echo "labels written to demo-labels.jsonl (exit code $code)" >&2
exit "$code"
