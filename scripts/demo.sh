#!/usr/bin/env bash
# Installs what is missing, builds, and shows the main job twice:
#  1. with a model zoo trains itself: the small CNN on OpenCV's handwritten
#     digits (45 epochs, one to two minutes; trained once and then reused from models/digits-cnn),
#     applied to the 2500 test digits, with a few labels and zoo eval's
#     accuracy, per-class scores and mistakes;
#  2. on the real photos of Debian's opencv-doc with a pretrained COCO
#     detector named from the zoo's manifest (centernet-coco: CenterNet, a
#     TensorFlow.js graph of the npm package @vladmandic/human, fetched with
#     npm into the cache on first use): the objects on each photo;
#  3. faces on every 10th frame of opencv-doc's Megamind.avi (blazeface),
#     a FaceRes descriptor and an expression for each face (--patches),
#     and the faces grouped by descriptor: who appears where.
# It also writes models/resnet18-demo.pt (seeded random weights), which the
# README's examples use.
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
echo "== zoo models list --task detection (models by name; zoo models list shows them all)" >&2
"$zoo" models list --task detection
echo "== zoo apply centernet-coco $photos/*.jpg (a pretrained COCO detector, by name)" >&2
"$zoo" apply centernet-coco "$photos"/*.jpg -o demo-objects.jsonl
/usr/bin/python3 - demo-objects.jsonl <<'PY'
import collections, json, os, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    name = os.path.basename(r["filepath"])
    if "error" in r:
        print(f"{name:24s} ERROR {r['error']}")
        continue
    found = collections.Counter(d["label"] for d in r["predictions"]["detections"] if d["confidence"] >= 0.3)
    if found:
        print(f"{name:24s} {', '.join(f'{n} {label}' for label, n in found.most_common())}")
print("... (every box, with confidence 0.2 and up, in demo-objects.jsonl)")
PY

clip=$photos/Megamind.avi
echo "== zoo apply blazeface $clip --frame-stride 10, then faceres and emotion on each face (--patches)" >&2
"$zoo" apply blazeface "$clip" --frame-stride 10 -o demo-faces.jsonl
"$zoo" embed faceres "$clip" --frame-stride 10 --patches demo-faces.jsonl --patches-square \
  --patches-alpha 0.4 --normalize -o demo-faces.npy
"$zoo" apply emotion "$clip" --frame-stride 10 --patches demo-faces.jsonl -o demo-expressions.jsonl
/usr/bin/python3 - demo-faces.npy demo-faces.paths.txt demo-expressions.jsonl <<'PY'
# Faces grouped by descriptor: a face joins the group it is most similar
# to on average (cosine similarity), if that is at least 0.6, else starts
# a group.
import json, sys
import numpy as np
rows = np.load(sys.argv[1])
keys = [line.rstrip("\n") for line in open(sys.argv[2])]
expression = {}
for line in open(sys.argv[3]):
    r = json.loads(line)
    if "error" not in r:
        expression[f"{r['filepath']}#{r['frame_number']}@{r['detection']}"] = r["predictions"]["label"]
groups = []
for i in range(len(rows)):
    similarity = [float(np.mean(rows[group] @ rows[i])) for group in groups]
    if similarity and max(similarity) >= 0.6:
        groups[int(np.argmax(similarity))].append(i)
    else:
        groups.append([i])
for n, group in enumerate(groups, 1):
    shown = [keys[i].split("#", 1)[1] + " " + expression.get(keys[i], "?") for i in group]
    print(f"person {n}: {len(group):2d} faces: {', '.join(shown[:6])}{' ...' if len(shown) > 6 else ''}")
print("(frame@face and its expression; every face in demo-faces.jsonl, descriptors in demo-faces.npy)")
PY
