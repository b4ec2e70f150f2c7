# zoo eval against COCO box truth: OpenCV's face and people detectors on
# real photos, scored against a truth made from their own boxes moved,
# dropped and added to (plus a crowd box, an image that fails, a label the
# truth lacks). mAP, AP50, AP75, per-class AP and the counts at IoU 0.5 must
# equal a port of pycocotools' COCOeval (coco_reference.py), from JSON
# Lines, from zoo apply --format coco-dataset, from a results list and with the
# detector run by zoo eval itself.
source "$(dirname "$0")/lib.sh"
export PYTHONPATH="$ZOO_SOURCE_DIR/tests/e2e"
FACE=$ZOO_SOURCE_DIR/configs/opencv-haar-face.yaml
PEOPLE=$ZOO_SOURCE_DIR/configs/opencv-hog-people.yaml

mkdir -p data/img
for f in aloeL.jpg aloeR.jpg basketball1.png basketball2.png left01.jpg left05.jpg messi5.jpg ml.png HappyFish.jpg \
  cards.png graf3.png right01.jpg fruits.jpg; do
  cp "$PHOTOS/$f" data/img/
done
expect_exit 0 "$ZOO" apply "$FACE" data/img -q -o faces.jsonl
expect_exit 0 "$ZOO" apply "$PEOPLE" data/img -q -o people.jsonl
expect_exit 0 "$ZOO" apply "$FACE" data/img -q --format coco-dataset -o faces.coco.json

/usr/bin/python3 - <<'PY' || fail "making the truth"
import json
faces = [json.loads(l) for l in open("faces.jsonl")]
people = {r["filepath"]: r for r in map(json.loads, open("people.jsonl"))}
images, annotations, labels, results = [], [], [], []
n = 0
for i, r in enumerate(faces):
    image_id = 100 - 3 * i  # ids out of file order: COCOeval goes by id
    W, H = r["width"], r["height"]
    images.append({"id": image_id, "file_name": "img/" + r["filepath"].split("/")[-1], "width": W, "height": H})
    dets = [(3, d) for d in r["predictions"]["detections"]] + [(1, d) for d in people[r["filepath"]]["predictions"]["detections"]]
    for cat, d in dets:
        x, y, w, h = d["bounding_box"]
        box = [x * W, y * H, w * W, h * H]
        n += 1
        if n % 4 == 0:
            continue  # no truth box: a false positive
        s = (n % 5 - 2) * 0.09  # moved by -18% .. +18% of the width: IoU from 1 down to about 0.5
        annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": cat,
                            "bbox": [box[0] + s * box[2], box[1], box[2], box[3]], "area": box[2] * box[3], "iscrowd": 0})
    if i % 3 == 0:  # a face nobody found
        annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 3,
                            "bbox": [W * 0.05, H * 0.05, W * 0.1, H * 0.1], "area": 1.0, "iscrowd": 0})
    if i == 2:  # a crowd of people over the whole image
        annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                            "bbox": [0, 0, W, H], "area": W * H, "iscrowd": 1})
truth = {"images": images, "annotations": annotations,
         "categories": [{"id": 1, "name": "person"}, {"id": 3, "name": "face"}, {"id": 7, "name": "cat"}]}
json.dump(truth, open("data/truth.json", "w"))

# The labels: faces and people in one record per image, a dog the truth has
# no class for, and the fourth image failed.
with open("both.jsonl", "w") as out:
    for i, r in enumerate(faces):
        if i == 3:
            out.write(json.dumps({"filepath": r["filepath"], "error": "cannot decode image"}) + "\n")
            continue
        dets = r["predictions"]["detections"] + people[r["filepath"]]["predictions"]["detections"]
        if i == 1:
            dets = dets + [{"_cls": "Detection", "label": "dog", "bounding_box": [0.1, 0.1, 0.2, 0.2], "confidence": 0.9}]
        r["predictions"]["detections"] = dets
        out.write(json.dumps(r) + "\n")
PY

# The reference: the same boxes, in pixels as zoo eval computes them.
cat > check.py <<'PY'
import json, sys
from coco_reference import evaluate
truth = json.load(open("data/truth.json"))
ids = {"data/" + i["file_name"]: i["id"] for i in truth["images"]}
cats = {c["name"]: c["id"] for c in truth["categories"]}
def from_jsonl(path):
    dets = {}
    for r in map(json.loads, open(path)):
        if "error" in r:
            continue
        W, H = r["width"], r["height"]
        dets[ids[r["filepath"]]] = [(cats[d["label"]], [d["bounding_box"][0] * W, d["bounding_box"][1] * H,
                                     d["bounding_box"][2] * W, d["bounding_box"][3] * H], d["confidence"])
                                    for d in r["predictions"]["detections"] if d["label"] in cats]
    return dets
def check(report_path, dets):
    want, got = evaluate(truth, dets), json.load(open(report_path))
    close = lambda a, b: abs(a - b) < 2e-6
    assert close(got["map"], want["map"]) and close(got["ap50"], want["ap50"]) and close(got["ap75"], want["ap75"]), \
        (got["map"], want["map"], got["ap50"], want["ap50"], got["ap75"], want["ap75"])
    assert (got["tp"], got["fp"], got["fn"]) == (want["tp"], want["fp"], want["fn"]), (got["tp"], got["fp"], got["fn"], want)
    for c in got["per_class"]:
        w = want["per_class"][c["label"]]
        assert close(c["ap"], w["ap"]) and close(c["ap50"], w["ap50"]) and close(c["ap75"], w["ap75"]), (c, w)
    return got
mode = sys.argv[1]
if mode == "both":
    got = check("both.report.json", from_jsonl("both.jsonl"))
    assert got["images"] == 13 and got["failed"] == 1 and got["missing"] == 0 and got["unknown_labels"] == 1, got
    assert 0.2 < got["map"] < 0.9 and got["fn"] > 0 and got["fp"] > 0, got
    assert [c["label"] for c in got["per_class"]] == ["person", "face", "cat"] and got["per_class"][2]["ap"] == -1
    # the results list zoo eval also reads
    results = [{"image_id": img, "category_id": c, "bbox": b, "score": s} for img, ds in from_jsonl("both.jsonl").items() for c, b, s in ds]
    json.dump(results, open("results.json", "w"))
elif mode == "faces":
    dets = {img: [d for d in ds if d[0] == cats["face"]] for img, ds in from_jsonl("faces.jsonl").items()}
    got = check(sys.argv[2], dets)
    assert got["failed"] == 0 and got["per_class"][0]["detections"] == 0
PY

expect_exit 0 "$ZOO" eval both.jsonl --truth data/truth.json -o both.report.json > both.txt
/usr/bin/python3 check.py both || fail "JSON Lines: zoo eval differs from COCOeval"
grep -q "^mAP " both.txt && grep -q "^at IoU 0.5: " both.txt || { cat both.txt; fail "text report"; }
expect_exit 0 "$ZOO" eval results.json --truth data/truth.json -o results.report.json -q
/usr/bin/python3 -c "
import json; a, b = json.load(open('results.report.json')), json.load(open('both.report.json'))
for k in ('map', 'ap50', 'ap75', 'tp', 'fp'): assert a[k] == b[k], (k, a[k], b[k])
assert a['fn'] == b['fn'] and a['missing'] == 0" || fail "a results list scores as the JSON Lines"
expect_exit 0 "$ZOO" eval faces.jsonl --truth data/truth.json -o faces.report.json -q
/usr/bin/python3 check.py faces faces.report.json || fail "faces JSON Lines"
expect_exit 0 "$ZOO" eval faces.coco.json --truth data/truth.json -o coco.report.json -q
/usr/bin/python3 check.py faces coco.report.json || fail "zoo apply --format coco-dataset: zoo eval differs from COCOeval"
# zoo apply --format coco-results: pycocotools' results list, with the
# truth's ids (images by file, categories by name). It passes loadRes's
# checks, and COCOeval on it gives what zoo eval gives on the JSON Lines.
# An input the truth does not have is an error record (exit 3).
expect_exit 3 "$ZOO" apply "$FACE" data/img "$PHOTOS/baboon.jpg" --format coco-results --coco-truth data/truth.json \
  -o faces.results.json -q 2> results.err
grep -q "baboon.jpg.*not an image of the COCO truth data/truth.json" results.err || { cat results.err; fail "the input the truth lacks"; }
expect_exit 0 "$ZOO" eval faces.results.json --truth data/truth.json -o faces-results.report.json -q
/usr/bin/python3 - <<'PY' || fail "coco-results"
import json
from coco_reference import load_res, evaluate
truth = json.load(open("data/truth.json"))
results = json.load(open("faces.results.json"))
assert results and {r["category_id"] for r in results} == {3}, results[:3]
assert all(set(r) == {"image_id", "category_id", "bbox", "score"} for r in results), results[0]
want = evaluate(truth, load_res(truth, json.loads(json.dumps(results))))
for name in ("faces.report.json", "faces-results.report.json"):
    got = json.load(open(name))
    assert abs(got["map"] - want["map"]) < 2e-6 and abs(got["ap50"] - want["ap50"]) < 2e-6, (name, got["map"], want["map"])
# The same boxes and scores as the JSON Lines, in pixels.
ids = {"data/" + i["file_name"]: i["id"] for i in truth["images"]}
boxes = sorted((ids[r["filepath"]], round(d["bounding_box"][0] * r["width"], 2), round(d["confidence"], 5))
               for r in map(json.loads, open("faces.jsonl")) for d in r["predictions"]["detections"])
assert boxes == sorted((r["image_id"], round(r["bbox"][0], 2), round(r["score"], 5)) for r in results), "other boxes"
# A truth of bare file names, elsewhere (as COCO's own): matched by name.
bare = dict(truth, images=[dict(i, file_name=i["file_name"].split("/")[-1]) for i in truth["images"]])
import os
os.makedirs("annotations", exist_ok=True)
json.dump(bare, open("annotations/bare.json", "w"))
PY
expect_exit 0 "$ZOO" apply "$FACE" data/img --format coco-results --coco-truth annotations/bare.json -o bare.results.json -q
cmp <(/usr/bin/python3 -c "import json; print(json.load(open('bare.results.json')))") \
  <(/usr/bin/python3 -c "import json; print(json.load(open('faces.results.json')))") || fail "bare file names"
# No category of the truth is a class of the model; no --coco-truth; the
# old name; --coco-truth with another format.
/usr/bin/python3 -c "
import json; t = json.load(open('data/truth.json')); t['categories'] = [{'id': 9, 'name': 'cat'}]; t['annotations'] = []
json.dump(t, open('data/cats.json', 'w'))"
expect_exit 2 "$ZOO" apply "$FACE" data/img --format coco-results --coco-truth data/cats.json -o x.json -q 2> err.txt
grep -q "none of its categories (cat) is a class of" err.txt || { cat err.txt; fail "no category matches"; }
expect_exit 2 "$ZOO" apply "$FACE" data/img --format coco-results -o x.json -q 2> err.txt
grep -q "needs --coco-truth FILE" err.txt || { cat err.txt; fail "no --coco-truth"; }
expect_exit 2 "$ZOO" apply "$FACE" data/img --format coco -o x.json -q 2> err.txt
grep -q "coco is now coco-results" err.txt || { cat err.txt; fail "--format coco"; }
expect_exit 2 "$ZOO" apply "$FACE" data/img --coco-truth data/truth.json -o x.jsonl -q

# The detector run by zoo eval itself.
expect_exit 0 "$ZOO" eval "$FACE" --truth data/truth.json -o model.report.json -q
/usr/bin/python3 check.py faces model.report.json || fail "zoo eval MODEL on box truth"

# Gates.
ap50=$(/usr/bin/python3 -c "import json; print(json.load(open('both.report.json'))['ap50'])")
expect_exit 0 "$ZOO" eval both.jsonl --truth data/truth.json --min "ap50=$ap50" --max failed=1 -q
expect_exit 1 "$ZOO" eval both.jsonl --truth data/truth.json --min map=0.95 --max fn=0 -q 2> err.txt
grep -q "2 of 2 gates failed: map>=0.95, fn<=0" err.txt || { cat err.txt; fail "failed gates not named"; }
expect_exit 0 "$ZOO" eval both.jsonl --truth data/truth.json --min ap:face=0 -q
expect_exit 2 "$ZOO" eval both.jsonl --truth data/truth.json --min ap:fcae=0.5 2> err.txt
grep -q 'did you mean "face"' err.txt || fail "no suggestion for a misspelt class"
expect_exit 2 "$ZOO" eval both.jsonl --truth data/truth.json --min accuracy=0.5 2> /dev/null
expect_exit 2 "$ZOO" eval both.jsonl --truth data/truth.json --baseline faces.jsonl 2> /dev/null
expect_exit 2 "$ZOO" eval both.jsonl --truth data/truth.json --average all 2> /dev/null

# Classifier labels, or a classifier, against box truth: refused.
expect_exit 0 "$ZOO" apply model.yaml data/img -q -o classes.jsonl
expect_exit 1 "$ZOO" eval classes.jsonl --truth data/truth.json 2> err.txt
grep -q 'classes.jsonl:1: "predictions" is not a Detections label' err.txt || { cat err.txt; fail "classifications on box truth"; }
expect_exit 2 "$ZOO" eval model.yaml --truth data/truth.json 2> err.txt
grep -q "box truth" err.txt || { cat err.txt; fail "a classifier MODEL on box truth"; }
echo ok
