# OpenCV's pretrained detectors through zoo apply, with the repository's
# configs and real data: HOG people on frames of vtest.avi, the Haar face
# cascade on messi5.jpg; FiftyOne Detections with relative boxes inside the
# image, --confidence-thresh, --format coco-dataset, and config errors.
source "$(dirname "$0")/lib.sh"

HOG=$ZOO_SOURCE_DIR/configs/opencv-hog-people.yaml
FACE=$ZOO_SOURCE_DIR/configs/opencv-haar-face.yaml

# People walking in vtest.avi: found on (nearly) every sampled frame.
expect_exit 0 "$ZOO" apply "$HOG" "$PHOTOS/vtest.avi" --frame-stride 40 -o people.jsonl 2> people_err.txt
/usr/bin/python3 - <<'PY' || fail "HOG people detections are wrong"
import json
records = [json.loads(l) for l in open("people.jsonl")]
assert [r["frame_number"] for r in records] == list(range(1, 796, 40)), [r["frame_number"] for r in records]
counts = [len(r["predictions"]["detections"]) for r in records]
print("people per frame:", counts)
assert sum(c > 0 for c in counts) >= 0.9 * len(counts), counts
for r in records:
    assert (r["width"], r["height"]) == (768, 576), r
    assert r["predictions"]["_cls"] == "Detections", r
    for d in r["predictions"]["detections"]:
        assert d["_cls"] == "Detection" and d["label"] == "person", d
        x, y, w, h = d["bounding_box"]
        assert 0 <= x and 0 <= y and w > 0 and h > 0 and x + w <= 1 + 1e-6 and y + h <= 1 + 1e-6, d
        # Upright people: the detector's window is 64x128, taller than wide.
        assert h * 576 > w * 768, d
        assert 0 < d["confidence"] <= 1, d
PY

# --confidence-thresh drops the weaker detections, never adds any.
expect_exit 0 "$ZOO" apply "$HOG" "$PHOTOS/vtest.avi" --frame-stride 40 --confidence-thresh 0.9 -o strong.jsonl -q
/usr/bin/python3 - <<'PY' || fail "--confidence-thresh did not filter detections"
import json
everything = [json.loads(l) for l in open("people.jsonl")]
strong = [json.loads(l) for l in open("strong.jsonl")]
all_n = sum(len(r["predictions"]["detections"]) for r in everything)
strong_n = sum(len(r["predictions"]["detections"]) for r in strong)
assert 0 < strong_n < all_n, (strong_n, all_n)
for a, s in zip(everything, strong):
    kept = [d for d in a["predictions"]["detections"] if d["confidence"] >= 0.9]
    assert s["predictions"]["detections"] == kept, (a, s)
PY

# Messi's face, where OpenCV's own face detection sample finds it (x 226, y 94, 38x38 pixels).
expect_exit 0 "$ZOO" apply "$FACE" "$PHOTOS/messi5.jpg" "$PHOTOS/baboon.jpg" -o faces.jsonl -q
/usr/bin/python3 - <<'PY' || fail "Haar face detection on messi5.jpg is wrong"
import json
records = [json.loads(l) for l in open("faces.jsonl")]
messi = records[0]
assert (messi["width"], messi["height"]) == (548, 342), messi
faces = messi["predictions"]["detections"]
assert len(faces) >= 1 and all(f["label"] == "face" for f in faces), faces
def iou(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    return w * h / (aw * ah + bw * bh - w * h)
known = [226 / 548, 94 / 342, 38 / 548, 38 / 342]
best = max(faces, key=lambda f: iou(f["bounding_box"], known))
print("face box:", best["bounding_box"], "iou with the known face:", round(iou(best["bounding_box"], known), 3))
assert iou(best["bounding_box"], known) > 0.7, (best, known)
for f in faces:
    x, y, w, h = f["bounding_box"]
    assert 0 <= x and 0 <= y and x + w <= 1 and y + h <= 1, f
assert records[1]["predictions"]["detections"] == [], records[1]  # a baboon is not a frontal human face
PY

# --format coco-dataset: one document, absolute boxes in the original image's pixels.
expect_exit 0 "$ZOO" apply "$FACE" "$PHOTOS/messi5.jpg" "$PHOTOS/baboon.jpg" --format coco-dataset -o faces.json -q
/usr/bin/python3 - <<'PY' || fail "COCO output is wrong"
import json
doc = json.load(open("faces.json"))
jsonl = [json.loads(l) for l in open("faces.jsonl")]
assert [i["file_name"].split("/")[-1] for i in doc["images"]] == ["messi5.jpg", "baboon.jpg"], doc["images"]
assert doc["categories"] == [{"id": 1, "name": "face"}], doc["categories"]
anns = doc["annotations"]
assert len(anns) == len(jsonl[0]["predictions"]["detections"]) and all(a["image_id"] == 1 for a in anns), anns
for a, d in zip(anns, jsonl[0]["predictions"]["detections"]):
    x, y, w, h = a["bbox"]
    rx, ry, rw, rh = d["bounding_box"]
    assert abs(x - rx * 548) < 1e-3 and abs(y - ry * 342) < 1e-3 and abs(w - rw * 548) < 1e-3, (a, d)
    assert a["category_id"] == 1 and a["score"] == d["confidence"] and a["iscrowd"] == 0, a
PY
expect_exit 0 "$ZOO" apply "$HOG" "$PHOTOS/vtest.avi" --frame-stride 200 --format coco-dataset -q > frames.json
/usr/bin/python3 -c "
import json
doc = json.load(open('frames.json'))
assert [i['frame_number'] for i in doc['images']] == [1, 201, 401, 601], doc['images']
assert len(doc['annotations']) > 0
" || fail "COCO output of video frames is wrong"
expect_exit 2 "$ZOO" apply model.yaml "$PHOTOS/baboon.jpg" --format coco-dataset -q
expect_exit 2 "$ZOO" apply "$FACE" "$PHOTOS/messi5.jpg" --format coco-dataset -o faces.json --resume -q

# Config errors are exit 2 and name the file and the argument.
cat > typo.yaml <<'YAML'
entrypoint: opencv_haar_cascade
entrypoint_args: {cascade: haarcascade_frontalface_default.xml, min_neighbours: 5}
output_processor: detector
YAML
expect_exit 2 "$ZOO" apply typo.yaml "$PHOTOS/messi5.jpg" 2> typo_err.txt
grep -q 'typo.yaml: entrypoint_args: unknown argument "min_neighbours".*did you mean "min_neighbors"' typo_err.txt ||
  fail "no did-you-mean for a misspelt argument: $(cat typo_err.txt)"
cat > nocascade.yaml <<'YAML'
entrypoint: opencv_haar_cascade
entrypoint_args: {cascade: cascades/missing.xml}
output_processor: detector
YAML
expect_exit 2 "$ZOO" apply nocascade.yaml "$PHOTOS/messi5.jpg" 2> nocascade_err.txt
grep -q "nocascade.yaml: entrypoint_args.cascade: cascades/missing.xml: no such file" nocascade_err.txt ||
  fail "missing cascade not reported: $(cat nocascade_err.txt)"
# A cascade path relative to the config file.
mkdir -p cascades
cp /usr/share/opencv4/haarcascades/haarcascade_frontalface_alt.xml cascades/face.xml
sed 's|missing.xml|face.xml|' nocascade.yaml > relative.yaml
expect_exit 0 "$ZOO" apply relative.yaml "$PHOTOS/messi5.jpg" -o relative.jsonl -q
jsonl_check relative.jsonl "len(records[0]['predictions']['detections']) >= 1 and records[0]['predictions']['detections'][0]['label'] == 'face'"
cd / && expect_exit 0 "$ZOO" apply "$WORK/relative.yaml" "$PHOTOS/messi5.jpg" -q > /dev/null && cd "$WORK"
sed 's|output_processor: detector|output_processor: classifier|' relative.yaml > classifier.yaml
expect_exit 2 "$ZOO" apply classifier.yaml "$PHOTOS/messi5.jpg" -q
expect_exit 2 "$ZOO" embed "$HOG" "$PHOTOS/messi5.jpg" -o emb.npy -q
"$ZOO" apply --list-entrypoints | grep -q "^opencv_haar_cascade" || fail "--list-entrypoints misses the OpenCV detectors"
echo ok
