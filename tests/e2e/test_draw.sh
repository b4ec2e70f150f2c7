#!/usr/bin/env bash
# zoo draw and zoo apply --draw: pixel checks of every label kind on images
# made here (PNG, so colours are exact), EXIF orientation, real photos
# labelled by centernet-coco and movenet-lightning, and a real video.
source "$(dirname "$0")/lib.sh"
export ZOO_CACHE_DIR="$WORK/cache"
HELPERS="$WORK/helpers.py"
cat > "$HELPERS" <<'PY'
import base64, json
import cv2
import numpy as np

def class_color(label):
    """lib/draw/draw.cpp's class_color: FNV-1a of the name -> HSV -> BGR."""
    h = 2166136261
    for c in label.encode():
        h = ((h ^ c) * 16777619) & 0xFFFFFFFF
    hsv = np.uint8([[[h % 180, 200 + (h >> 8) % 56, 200 + (h >> 16) % 56]]])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(int)

def png_b64(mask):
    return base64.b64encode(cv2.imencode(".png", mask)[1].tobytes()).decode()

def same(pixel, color, tolerance=0):
    return int(np.abs(pixel.astype(int) - np.asarray(color).astype(int)).max()) <= tolerance
PY

echo "== every label kind, on images made here"
/usr/bin/python3 - <<'PY'
import json, sys
sys.path.insert(0, ".")
import cv2, numpy as np
from helpers import png_b64
gray = np.full((300, 400, 3), 128, np.uint8)
for name in ("a", "b", "c", "d"):
    cv2.imwrite(f"{name}.png", gray)
half = np.zeros((10, 10), np.uint8); half[:, :5] = 255
seg = np.zeros((300, 400), np.uint8); seg[:, :130] = 1
points = [[0.30 + 0.02 * i, 0.20 + 0.03 * i] for i in range(17)]
points[3] = None
records = [
    {"filepath": "a.png", "width": 400, "height": 300, "predictions": {"_cls": "Detections", "detections": [
        {"_cls": "Detection", "label": "cat", "bounding_box": [0.25, 0.3, 0.5, 0.4], "confidence": 0.9}]}},
    {"filepath": "b.png", "width": 400, "height": 300, "predictions": {"_cls": "Detections", "detections": [
        {"_cls": "Detection", "label": "cat", "bounding_box": [0.1, 0.5, 0.2, 0.3], "confidence": 0.5},
        {"_cls": "Detection", "label": "dog", "bounding_box": [0.5, 0.5, 0.4, 0.4], "confidence": 0.8,
         "mask_png": png_b64(half)}]}},
    {"filepath": "c.png", "width": 400, "height": 300,
     "predictions_keypoints": {"_cls": "Keypoints", "keypoints": [{"_cls": "Keypoint", "label": "person", "points": points}]},
     "predictions": {"_cls": "Classification", "label": "outdoor", "confidence": 0.75}},
    {"filepath": "d.png", "width": 400, "height": 300, "predictions": {"_cls": "Segmentation", "mask_png": png_b64(seg)}},
    {"filepath": "missing.png", "error": "cannot decode image"},
]
with open("made.jsonl", "w") as f:
    for r in records:
        f.write(json.dumps(r) + "\n")
PY
"$ZOO" draw made.jsonl -o made-drawn 2> err.txt || { cat err.txt; fail "zoo draw made.jsonl"; }
grep -q "drew 4 images into made-drawn; 1 error records had nothing to draw" err.txt || { cat err.txt; fail "summary"; }
/usr/bin/python3 - <<'PY' || fail "pixel checks"
import sys
sys.path.insert(0, ".")
import cv2, numpy as np
from helpers import class_color, same
a, b, c, d = (cv2.imread(f"made-drawn/{n}.png") for n in "abcd")
cat, dog, person = class_color("cat"), class_color("dog"), class_color("person")
assert not same(cat, dog, 30), "cat and dog must differ"
# a: the cat box [100, 90, 200, 120] px: its edges are cat's colour, its inside untouched.
for x, y in [(100, 150), (299, 150), (200, 209), (150, 90)]:
    assert same(a[y, x], cat), f"a: edge pixel {x},{y} is {a[y, x]}, not cat {cat}"
assert same(a[150, 200], [128, 128, 128]), "a: inside the box changed"
assert same(a[20, 20], [128, 128, 128]), "a: outside the box changed"
# b: cat again, the same colour; the dog's mask fills the left half of its box, translucent.
assert same(b[200, 40], cat), "b: cat's colour is not the same as in a"
assert same(b[250, 200], dog), "b: dog box edge"
inside_mask, outside_mask = b[240, 240].astype(int), b[240, 330].astype(int)
expected = (0.55 * 128 + 0.45 * dog).round()
assert np.abs(inside_mask - expected).max() <= 1, f"b: mask fill {inside_mask}, expected {expected}"
assert same(b[240, 330], [128, 128, 128]), f"b: right half of the dog box is not masked: {outside_mask}"
# c: each found keypoint is a dot of person's colour; the missing one is not drawn; skeleton 5-7 joined.
pts = [(round((0.30 + 0.02 * i) * 400), round((0.20 + 0.03 * i) * 300)) for i in range(17)]
for i, (x, y) in enumerate(pts):
    if i != 3:
        assert same(c[y, x], person), f"c: keypoint {i} at {x},{y} is {c[y, x]}"
(x5, y5), (x7, y7) = pts[5], pts[7]
mid = c[(y5 + y7) // 2, (x5 + x7) // 2]
assert same(mid, person, 60), f"c: skeleton 5-7 not drawn: {mid}"
# c: the classification caption, top-left, in the label's colour.
assert same(c[2, 2], class_color("outdoor")), f"c: caption {c[2, 2]}"
# d: class 1 covers the left third, half-tinted; the rest untouched; a legend bottom-left.
one = class_color("1")
assert np.abs(d[100, 60].astype(int) - (0.5 * 128 + 0.5 * one).round()).max() <= 1, f"d: overlay {d[100, 60]}"
assert same(d[100, 300], [128, 128, 128]), "d: outside the mask changed"
assert same(d[298, 2], one), f"d: no legend: {d[298, 2]}"
print("pixel checks ok")
PY

echo "== EXIF orientation: boxes are in the oriented image"
/usr/bin/python3 - <<'PY'
import json
from PIL import Image
img = Image.new("RGB", (400, 300), (128, 128, 128))  # stored 400x300, shown rotated: 300x400
exif = Image.Exif(); exif[0x0112] = 6
img.save("rotated.jpg", exif=exif.tobytes(), quality=95)
rec = {"filepath": "rotated.jpg", "width": 300, "height": 400, "predictions": {"_cls": "Detections", "detections": [
    {"_cls": "Detection", "label": "cat", "bounding_box": [0.1, 0.5, 0.5, 0.25], "confidence": 0.9}]}}
open("rotated.jsonl", "w").write(json.dumps(rec) + "\n")
PY
"$ZOO" draw rotated.jsonl -o rotated-drawn --image-format png -q
/usr/bin/python3 - <<'PY' || fail "EXIF"
import sys
sys.path.insert(0, ".")
import cv2
from helpers import class_color, same
out = cv2.imread("rotated-drawn/rotated.png")
assert out.shape[:2] == (400, 300), f"not the oriented size: {out.shape}"
assert same(out[250, 30], class_color("cat"), 8), f"box edge at the oriented place: {out[250, 30]}"
PY

echo "== real photos: centernet-coco boxes, movenet-lightning keypoints, with zoo apply --draw"
"$ZOO" apply centernet-coco "$PHOTOS"/messi5.jpg "$PHOTOS"/home.jpg "$PHOTOS"/fruits.jpg "$PHOTOS"/leuvenB.jpg \
  -o objects.jsonl --draw objects-drawn -q
for f in messi5 home fruits leuvenB; do [[ -f objects-drawn/$f.jpg ]] || fail "--draw: no $f.jpg"; done
"$ZOO" draw objects.jsonl -o objects-png --image-format png -q
/usr/bin/python3 - <<'PY' || fail "real photos"
import json, sys
sys.path.insert(0, ".")
import cv2
from helpers import class_color, same
checked = matched = 0
colors = {}
for line in open("objects.jsonl"):
    r = json.loads(line)
    name = r["filepath"].rsplit("/", 1)[1].rsplit(".", 1)[0]
    out = cv2.imread(f"objects-png/{name}.png")
    assert out.shape[:2] == (r["height"], r["width"]), name
    def rect(d):
        x, y, w, h = d["bounding_box"]
        x0, y0 = int(x * r["width"] + 0.5), int(y * r["height"] + 0.5)
        return x0, y0, x0 + max(1, int(w * r["width"] + 0.5)) - 1, y0 + max(1, int(h * r["height"] + 0.5)) - 1
    detections = r["predictions"]["detections"]
    for i, d in enumerate(detections):
        x0, y0, x1, y1 = rect(d)
        if any(rect(later) == (x0, y0, x1, y1) for later in detections[i + 1:]):
            continue  # the same box with another class (a bird also seen as a kite), drawn over it
        outline = [(x0, v) for v in range(y0, y1 + 1)] + [(x1, v) for v in range(y0, y1 + 1)] + \
                  [(u, y1) for u in range(x0, x1 + 1)]  # the top edge carries the label
        outline = [(u, v) for u, v in outline if 0 <= u < r["width"] and 0 <= v < r["height"]]
        if len(outline) < 10:
            continue
        checked += 1
        color = class_color(d["label"])
        share = sum(same(out[v, u], color) for u, v in outline) / len(outline)
        matched += share >= 0.3
        colors.setdefault(d["label"], set()).add(name)
# A later box, or its label, may cover part of an earlier one.
assert checked >= 10 and matched >= 0.9 * checked, f"{matched} of {checked} boxes outlined in their class colour"
print(f"{matched} of {checked} boxes outlined in their class colour; classes in several images:",
      sorted(k for k, v in colors.items() if len(v) > 1))
PY
"$ZOO" apply movenet-lightning "$PHOTOS"/messi5.jpg -o pose.jsonl -q
"$ZOO" draw pose.jsonl -o pose-drawn --image-format png -q
/usr/bin/python3 - <<'PY' || fail "keypoints on a real photo"
import json, math, sys
sys.path.insert(0, ".")
import cv2
from helpers import class_color, same
r = json.loads(open("pose.jsonl").read())
out = cv2.imread("pose-drawn/messi5.png")
points = [p for k in r["predictions_keypoints"]["keypoints"] for p in k["points"]
          if p is not None and all(v is not None and math.isfinite(v) for v in p)]
hits = sum(same(out[round(y * r["height"]), round(x * r["width"])], class_color("person"), 40) for x, y in points)
assert len(points) >= 10 and hits >= len(points) - 2, f"{hits} of {len(points)} keypoints drawn"
PY

echo "== a video: every frame copied, the labelled ones drawn"
"$ZOO" apply blazeface "$PHOTOS/Megamind.avi" --frame-stride 20 -o faces.jsonl -q
"$ZOO" draw faces.jsonl -o faces-drawn 2> err.txt || { cat err.txt; fail "draw a video"; }
grep -q "1 video (270 frames)" err.txt || { cat err.txt; fail "video summary"; }
/usr/bin/python3 - "$PHOTOS/Megamind.avi" <<'PY' || fail "video frames"
import json, sys
sys.path.insert(0, ".")
import cv2, numpy as np
from helpers import class_color, same
src, out = cv2.VideoCapture(sys.argv[1]), cv2.VideoCapture("faces-drawn/Megamind.avi")
labelled = {}
for line in open("faces.jsonl"):
    r = json.loads(line)
    if r["predictions_detections"]["detections"]:
        labelled[r["frame_number"]] = r
n = drawn = 0
while True:
    ok_a, a = src.read()
    ok_b, b = out.read()
    if not ok_a or not ok_b:
        assert ok_a == ok_b, f"frame counts differ after {n}"
        break
    n += 1
    diff = np.abs(a.astype(int) - b.astype(int)).mean()
    if n in labelled:
        d = labelled[n]["predictions_detections"]["detections"][0]
        x, y, w, h = d["bounding_box"]
        px, py = round(x * a.shape[1]), round((y + h / 2) * a.shape[0])
        drawn += same(b[py, px], class_color("face"), 70)
    else:
        assert diff < 4, f"frame {n} (no label) changed: {diff}"
assert n == 270 and len(labelled) >= 5 and drawn >= len(labelled) - 1, f"{n} frames, {drawn} of {len(labelled)} drawn"
print(f"{n} frames; {drawn} of {len(labelled)} labelled frames show the face box")
PY

echo "== zoo apply --draw draws batch by batch: a crash keeps what was drawn, --resume finishes"
mkdir -p many
for copy in 1 2 3 4 5; do
  mkdir -p many/$copy
  cp "$PHOTOS"/{messi5,home,fruits,leuvenB,baboon,squirrel_cls,building}.jpg many/$copy/
done
# wait_records FILE N PID: until FILE holds N lines; fails if PID ends first.
wait_records() {
  for _ in $(seq 1 3000); do
    [[ -f $1 && $(count_lines "$1") -ge $2 ]] && return 0
    kill -0 "$3" 2> /dev/null || fail "the run ended before $1 held $2 records"
    sleep 0.02
  done
  fail "$1: no $2 records after 60 s"
}
"$ZOO" apply centernet-coco many -o live.jsonl --draw live-drawn --batch-size 2 -q &
pid=$!
wait_records live.jsonl 8 $pid
kill -9 $pid
wait $pid 2> /dev/null || true
records=$(count_lines live.jsonl)
drawn=$(find live-drawn -name '*.jpg' | wc -l)
echo "killed with $records records written and $drawn images drawn"
# Drawn as written: all but the last image (drawn when the next file's
# record arrives) and, at most, a batch being drawn at the kill.
(( records < 35 && drawn >= records - 3 && drawn <= records )) || fail "--draw after a kill: $drawn drawn of $records"
first=$(find live-drawn -name '*.jpg' | sort | head -1)
before=$(stat -c %y "$first")
"$ZOO" apply centernet-coco many -o live.jsonl --draw live-drawn --batch-size 2 --resume -q 2> err.txt ||
  { cat err.txt; fail "--resume --draw"; }
[[ $(stat -c %y "$first") == "$before" ]] || fail "--resume drew $first again"
"$ZOO" draw live.jsonl many -o live-reference -q
diff -r -x '.*' live-drawn live-reference > /dev/null || fail "--draw and --resume differ from zoo draw of the same labels"
[[ $(find live-drawn -name '*.jpg' | wc -l) == 35 ]] || fail "--resume --draw: $(find live-drawn -name '*.jpg' | wc -l) of 35 drawn"

echo "== zoo apply --draw on a video: frames written as they are labelled; Ctrl-C leaves no video"
"$ZOO" apply centernet-coco "$PHOTOS/Megamind.avi" --frame-stride 5 -o vlive.jsonl --draw vlive --batch-size 1 -q &
pid=$!
wait_records vlive.jsonl 4 $pid
[[ -f vlive/.Megamind.part.avi ]] || fail "--draw: no video part file while the video is labelled"
kill -INT $pid
code=0
wait $pid || code=$?
[[ $code == 130 ]] || fail "--draw interrupted: exit $code, expected 130"
[[ -z $(ls -A vlive) ]] || fail "--draw interrupted: left $(ls -A vlive)"
"$ZOO" apply centernet-coco "$PHOTOS/Megamind.avi" --frame-stride 5 -o vlive.jsonl --draw vlive --batch-size 1 \
  --resume 2> err.txt || { cat err.txt; fail "--resume --draw of a video"; }
grep -q "drew 0 images, 1 video (270 frames) into vlive" err.txt || { cat err.txt; fail "video --draw summary"; }
"$ZOO" draw vlive.jsonl -o vlive-reference -q
cmp vlive/Megamind.avi vlive-reference/Megamind.avi || fail "--draw's video differs from zoo draw's"

echo "== only the inputs given; an input that cannot be read"
"$ZOO" draw objects.jsonl "$PHOTOS/home.jpg" -o only -q
[[ $(ls only) == home.jpg ]] || fail "INPUT: drew $(ls only)"
cp objects.jsonl broken.jsonl
echo '{"filepath": "gone.jpg", "width": 10, "height": 10, "predictions": {"_cls": "Detections", "detections": []}}' >> broken.jsonl
expect_exit 3 "$ZOO" draw broken.jsonl -o broken -q 2> err.txt
grep -q "gone.jpg: cannot read or decode the image" err.txt || { cat err.txt; fail "missing input: message"; }
expect_exit 2 "$ZOO" apply centernet-coco "$PHOTOS/home.jpg" --draw x 2> err.txt
grep -q "needs -o FILE" err.txt || { cat err.txt; fail "--draw without -o"; }
echo PASS
