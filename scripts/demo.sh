#!/usr/bin/env bash
# Installs what is missing, builds, and shows the main job twice:
#  1. with a model zoo trains itself: the small CNN on OpenCV's handwritten
#     digits (45 epochs, one to two minutes; trained once and then reused from models/digits-cnn),
#     applied to the 2500 test digits, with a few labels and zoo eval's
#     accuracy, per-class scores and mistakes;
#  2. on the real photos of Debian's opencv-doc with a resnet18 (seeded
#     random weights: nothing can be downloaded here, so those labels only
#     show the pipeline, not a trained network).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
zoo=${ZOO_BUILD_DIR:-build}/zoo
./scripts/make-digits.sh build/digits

# Trained once, then reused; trained again when the recipe's config changed.
if [[ ! -f models/digits-cnn/model.yaml || configs/digits-cnn.yaml -nt models/digits-cnn/model.yaml ]]; then
  echo "== zoo train configs/digits-cnn.yaml --data build/digits/train -o models/digits-cnn (the config's recipe)" >&2
  rm -rf models/digits-cnn
  "$zoo" train configs/digits-cnn.yaml --data build/digits/train -o models/digits-cnn
fi
echo "== zoo apply models/digits-cnn build/digits/test -o demo-digits.jsonl" >&2
"$zoo" apply models/digits-cnn build/digits/test -o demo-digits.jsonl
/usr/bin/python3 - demo-digits.jsonl <<'PY'
import json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
for r in records[::250]:
    p = r["predictions"]
    print(f"{r['filepath']:36s} -> {p['label']}  ({p['confidence']:.3f})")
PY
echo "== zoo eval demo-digits.jsonl --truth build/digits/test (OpenCV's kNN tutorial on this split: 91.76%)" >&2
"$zoo" eval demo-digits.jsonl --truth build/digits/test --mistakes 5

if [[ ! -f models/resnet18-demo.pt ]]; then
  /usr/bin/python3 scripts/make-demo-model.py models/resnet18-demo.pt
fi
photos=/usr/share/doc/opencv-doc/examples/data
echo "== zoo apply configs/resnet18-demo.yaml $photos/*.jpg --top-k 3 (random weights)" >&2
"$zoo" apply configs/resnet18-demo.yaml "$photos"/*.jpg --top-k 3 -o demo-labels.jsonl
/usr/bin/python3 - demo-labels.jsonl <<'PY'
import json, os, sys
for line in list(open(sys.argv[1]))[:8]:
    r = json.loads(line)
    name = os.path.basename(r["filepath"])
    if "error" in r:
        print(f"{name:28s} ERROR {r['error']}")
        continue
    top = ", ".join(f"{c['label'].split(',')[0]} {c['confidence']:.3f}" for c in r["predictions"]["classifications"])
    print(f"{name:28s} {r['width']}x{r['height']:<5d} {top}")
print("... (all labels in demo-labels.jsonl)")
PY
