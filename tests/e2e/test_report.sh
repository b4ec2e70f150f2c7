#!/usr/bin/env bash
# zoo report LABELS: the page in a real browser (Debian's chromium,
# headless): no console errors, the counts in the DOM, the filters (from the
# page's #hash) giving the records that match, a screenshot that is not
# blank, a click on a class (through Chromium's DevTools protocol,
# tests/e2e/cdp.py) filtering the gallery, thumbnails made once, and a
# 20,000-record report that opens in seconds and stays within its size
# bounds. Then zoo report OUTDIR (a training run) and zoo eval --html, whose
# confusion-matrix cells are clicked.
source "$(dirname "$0")/lib.sh"
export ZOO_CACHE_DIR="$WORK/cache"
command -v chromium > /dev/null || fail "chromium is not installed (./scripts/setup.sh installs it)"

# browse PAGE#HASH OUT: the DOM after the page's scripts ran, in OUT; the
# browser's console lines in OUT.console (none is expected).
browse() {
  chromium --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$WORK/chromium-profile" \
    --enable-logging=stderr --v=0 --virtual-time-budget=5000 --dump-dom "file://$WORK/$1" > "$2" 2> "$2.err" ||
    { cat "$2.err"; fail "chromium could not load $1"; }
  grep "CONSOLE" "$2.err" > "$2.console" || true
  [[ ! -s $2.console ]] || { cat "$2.console"; fail "console messages on $1"; }
}
# dom_check DOM EXPR: EXPR (Python) over `dom` (the text) and helpers
# text(id), attr(id, name), count(css class) holds.
dom_check() {
  /usr/bin/python3 - "$1" "$2" <<'PY' || fail "DOM check failed on $1: $2"
import html.parser, re, sys
dom = open(sys.argv[1]).read()
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.by_id = {}; self.classes = {}; self.stack = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs); self.stack.append([a.get("id"), a, ""])
        for c in (a.get("class") or "").split(): self.classes[c] = self.classes.get(c, 0) + 1
    def handle_endtag(self, tag):
        while self.stack:
            i, a, t = self.stack.pop()
            if i: self.by_id[i] = (a, t)
            if self.stack: self.stack[-1][2] += t
            if True: break
    def handle_data(self, d):
        if self.stack: self.stack[-1][2] += d
p = P(); p.feed(dom)
text = lambda i: p.by_id[i][1].strip()
attr = lambda i, n: p.by_id[i][0].get(n)
count = lambda c: p.classes.get(c, 0)
ok = eval(sys.argv[2])
if not ok:
    print({k: v[1][:80] for k, v in p.by_id.items()}, file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}

echo "== a real run: centernet-coco on the opencv-doc photos, one input missing"
"$ZOO" apply centernet-coco "$PHOTOS"/*.jpg "$WORK/missing.jpg" -o objects.jsonl -q || [[ $? == 3 ]] || fail "apply"
"$ZOO" report objects.jsonl -o objects.html 2> err.txt || { cat err.txt; fail "zoo report"; }
grep -q "thumbnails in objects_files: 59 made, 0 reused" err.txt || { cat err.txt; fail "thumbnails made"; }
[[ $(ls objects_files/thumbs | wc -l) == 59 ]] || fail "59 thumbnails expected"
/usr/bin/python3 - <<'PY' > expected.txt
import json
records = [json.loads(l) for l in open("objects.jsonl")]
ok = [r for r in records if "error" not in r]
classes = {d["label"] for r in ok for d in r["predictions"]["detections"]}
person = sum(any(d["label"] == "person" for d in r["predictions"]["detections"]) for r in ok)
strong = sum(any(d["confidence"] >= 0.5 for d in r["predictions"]["detections"]) for r in ok)
print(len(records), len(records) - len(ok), len(classes), person, strong)
PY
read -r n_records n_errors n_classes n_person n_strong < expected.txt
browse objects.html all.dom
dom_check all.dom "text('n-records') == '$n_records records' and text('n-errors') == '$n_errors failed'"
dom_check all.dom "count('pick') == $n_classes and attr('gallery-count', 'data-count') == '$n_records'"
dom_check all.dom "count('card') == min(60, $n_records) and count('error-row') == $n_errors and count('bar') == 20"
browse "objects.html#class=person" person.dom
dom_check person.dom "attr('gallery-count', 'data-count') == '$n_person' and count('card') == $n_person and count('on') == 1"
browse "objects.html#errors=1" errors.dom
dom_check errors.dom "attr('gallery-count', 'data-count') == '$n_errors' and 'no such file' in dom"
browse "objects.html#min=0.5" strong.dom
dom_check strong.dom "attr('gallery-count', 'data-count') == '$n_strong'"
echo "records $n_records, failed $n_errors, classes $n_classes; person in $n_person, confidence >= 0.5 in $n_strong"

echo "== a click on a class row filters the gallery"
/usr/bin/python3 "$ZOO_SOURCE_DIR/tests/e2e/cdp.py" "file://$WORK/objects.html" \
  'const row = [...document.querySelectorAll("tr.pick")].find((r) => r.dataset["class"] === "person"); row.click(); 1' \
  'document.getElementById("gallery-count").dataset.count' 'location.hash' 'document.querySelectorAll(".card").length' > click.json
/usr/bin/python3 - "$n_person" <<'PY' || fail "click on a class"
import json, sys
r = json.load(open("click.json"))
assert r["console"] == [], r["console"]
assert r["values"][1:] == [sys.argv[1], "#class=person", int(sys.argv[1])], r["values"]
PY

echo "== a screenshot that is not blank"
chromium --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$WORK/chromium-profile" \
  --window-size=1280,1400 --virtual-time-budget=5000 --screenshot="$WORK/shot.png" "file://$WORK/objects.html" 2> /dev/null
/usr/bin/python3 - <<'PY' || fail "blank screenshot"
from PIL import Image, ImageStat
img = Image.open("shot.png").convert("L")
assert img.size == (1280, 1400), img.size
std = ImageStat.Stat(img).stddev[0]
assert std > 20, f"the screenshot is nearly uniform (std {std:.1f})"
# The gallery's thumbnails are there: the lower part holds dark and light pixels.
low = img.crop((0, 1000, 1280, 1400)).getextrema()
assert low[0] < 60 and low[1] > 200, low
print(f"screenshot std {std:.1f}")
PY

echo "== again: the thumbnails are reused"
"$ZOO" report objects.jsonl -o objects.html 2> err.txt
grep -q "0 made, 59 reused" err.txt || { cat err.txt; fail "thumbnails not reused"; }

echo "== 20,000 records: the page opens in seconds, and its size does not grow"
/usr/bin/python3 - "$PHOTOS" <<'PY'
import json, os, random, sys
random.seed(1)
photos = sorted(f for f in os.listdir(sys.argv[1]) if f.endswith(".jpg"))[:20]
labels = ["person", "car", "dog", "cat", "bird", "boat", "chair", "cup"]
with open("big.jsonl", "w") as out:
    for i in range(20000):
        photo = photos[i % len(photos)]
        if i % 997 == 0:
            out.write(json.dumps({"filepath": f"{sys.argv[1]}/missing-{i}.jpg", "error": "no such file"}) + "\n")
            continue
        # The same labels for every record of a photo: one thumbnail each.
        rnd = random.Random(photo)
        dets = [{"_cls": "Detection", "label": rnd.choice(labels), "bounding_box": [0.1, 0.1, 0.3, 0.3],
                 "confidence": round(rnd.random(), 3)} for _ in range(3)]
        out.write(json.dumps({"filepath": f"{sys.argv[1]}/{photo}", "width": 1, "height": 1,
                              "predictions": {"_cls": "Detections", "detections": dets}}) + "\n")
PY
seconds_since() { /usr/bin/python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$EPOCHREALTIME"; }
start=$EPOCHREALTIME
"$ZOO" report big.jsonl -o big.html -q
report_s=$(seconds_since "$start")
start=$EPOCHREALTIME
browse big.html big.dom
open_s=$(seconds_since "$start")
dom_check big.dom "text('n-records') == '20000 records' and attr('gallery-count', 'data-count') == '20000' and count('card') == 60"
html_bytes=$(stat -c %s big.html)
big_name=big_files objects_name=objects_files
data_bytes=$(stat -c %s big_files/data.js)
echo "report ${report_s}s; browser ${open_s}s; page $html_bytes bytes; index $data_bytes bytes; $(ls big_files/thumbs | wc -l) thumbnails"
# Bounds: the page 16 KB whatever the run; the index under 100 bytes a record.
(( html_bytes < 16384 )) || fail "the page is $html_bytes bytes"
(( html_bytes - $(stat -c %s objects.html) == 2 * (${#big_name} - ${#objects_name}) )) || fail "the page's size depends on the run"
(( data_bytes < 100 * 20000 )) || fail "index over 100 bytes per record: $data_bytes"
/usr/bin/python3 -c "import sys; sys.exit(float(sys.argv[1]) >= 10)" "$open_s" || fail "the page took ${open_s}s to open"
echo "== a training run's report"
mkdir -p data/cat data/dog
cp "$PHOTOS"/baboon.jpg "$PHOTOS"/fruits.jpg "$PHOTOS"/apple.jpg "$PHOTOS"/butterfly.jpg data/cat/
cp "$PHOTOS"/messi5.jpg "$PHOTOS"/home.jpg "$PHOTOS"/building.jpg "$PHOTOS"/board.jpg data/dog/
"$ZOO" train model.yaml --data data -o run --epochs 3 --batch-size 4 --val-split 0.5 -q
"$ZOO" report run -o train.html 2> err.txt || { cat err.txt; fail "zoo report OUTDIR"; }
grep -q "3 epochs of the run in run (success)" err.txt || { cat err.txt; fail "training report summary"; }
/usr/bin/python3 "$ZOO_SOURCE_DIR/tests/e2e/cdp.py" "file://$WORK/train.html" \
  'document.getElementById("n-epochs").textContent' \
  '[...document.querySelectorAll("polyline.series")].map((p) => p.dataset.name + ":" + p.dataset.points)' \
  'document.querySelectorAll("#confusion-table td.cell").length' 'document.querySelectorAll("tr.class-row").length' \
  'document.querySelectorAll("tr.option-row").length' > train.json
/usr/bin/python3 - <<'PY' || fail "training report"
import json
r = json.load(open("train.json"))
assert r["console"] == [], r["console"]
epochs, series, cells, classes, options = r["values"]
assert epochs == "3 epochs", epochs
assert series == ["training:3", "validation:3", "training:3", "validation:3", "learning rate:3"], series
assert cells == 4 and classes == 2 and options >= 10, (cells, classes, options)
PY

echo "== zoo eval --html: click a confusion-matrix cell, see its inputs"
"$ZOO" apply model.yaml data -o first.jsonl -q
"$ZOO" apply run data -o second.jsonl -q
"$ZOO" eval second.jsonl --truth data --baseline first.jsonl --html eval.html -o eval.json -q ||
  fail "zoo eval --html"
[[ -f eval.html && -f eval_files/data.js ]] || fail "no eval page"
/usr/bin/python3 - <<'PY' > cell.txt
import json
r = json.load(open("eval.json"))
cells = {}
for m in r["mistakes"]:
    key = (m["truth"], m.get("predicted", "(none)"))
    cells[key] = cells.get(key, 0) + 1
(truth, predicted), n = max(cells.items(), key=lambda kv: kv[1]) if cells else (("", ""), 0)
print(truth, predicted, n, len(r["mistakes"]), len(r["baseline"]["fixed"]), len(r["baseline"]["broken"]))
PY
read -r c_truth c_predicted c_count n_mistakes n_fixed n_broken < cell.txt
echo "mistakes $n_mistakes; the largest cell: $c_truth -> $c_predicted ($c_count); fixed $n_fixed, broken $n_broken"
(( n_mistakes > 0 )) || fail "no mistakes to click"
/usr/bin/python3 "$ZOO_SOURCE_DIR/tests/e2e/cdp.py" "file://$WORK/eval.html" \
  'document.querySelectorAll("#confusion-table td.cell").length' \
  'document.getElementById("cell-box").hidden' \
  'const td = [...document.querySelectorAll("td.click")].find((t) => t.dataset.truth === "'"$c_truth"'" && t.dataset.predicted === "'"$c_predicted"'"); td.click(); new Promise((r) => setTimeout(r, 100)).then(() => 1)' \
  'document.getElementById("cell-box").hidden' 'document.getElementById("cell-title").dataset.count' \
  'document.querySelectorAll("#cell-gallery .card").length' 'document.querySelectorAll("#cell-gallery img").length' \
  'document.getElementById("mistakes-count").dataset.count' 'document.getElementById("fixed-count").dataset.count' \
  'document.getElementById("broken-count").dataset.count' 'document.querySelectorAll("tr.metric").length' > eval-click.json
/usr/bin/python3 - "$c_count" "$n_mistakes" "$n_fixed" "$n_broken" <<'PY' || fail "eval report click"
import json, sys
r = json.load(open("eval-click.json"))
assert r["console"] == [], r["console"]
cells, hidden_before, _, hidden_after, count, cards, images, mistakes, fixed, broken, metrics = r["values"]
c_count, n_mistakes, n_fixed, n_broken = sys.argv[1:]
assert cells == 2 * 3, cells  # 2 classes x (2 classes + no label)
assert hidden_before is True and hidden_after is False, (hidden_before, hidden_after)
assert count == c_count and cards == int(c_count) and images == int(c_count), (count, cards, images)
assert (mistakes, fixed, broken) == (n_mistakes, n_fixed, n_broken), (mistakes, fixed, broken)
assert metrics >= 8, metrics
PY
echo "== zoo eval --html of a detector: precision-recall curves"
cp "$ZOO_SOURCE_DIR/examples/darknet-truth.json" .
"$ZOO" eval centernet-coco --truth darknet-truth.json --html detect.html -o detect.json -q || fail "detector eval --html"
/usr/bin/python3 "$ZOO_SOURCE_DIR/tests/e2e/cdp.py" "file://$WORK/detect.html" \
  '[...document.querySelectorAll("polyline.pr-series")].map((p) => p.dataset["class"])' \
  'document.getElementById("confusion-box").hidden' 'document.querySelectorAll("tr.class-row").length' > detect-page.json
/usr/bin/python3 - <<'PY' || fail "detector eval page"
import json
page, report = json.load(open("detect-page.json")), json.load(open("detect.json"))
assert page["console"] == [], page["console"]
curves, no_matrix, rows = page["values"]
with_boxes = [c["label"] for c in report["per_class"] if c["objects"] > 0]
assert curves == with_boxes and no_matrix is True and rows == len(report["per_class"]), (curves, with_boxes, rows)
# Each curve is COCOeval's: 101 points whose mean is the class's AP50.
for c in report["per_class"]:
    if c["objects"]:
        assert len(c["pr50"]) == 101 and abs(sum(c["pr50"]) / 101 - c["ap50"]) < 1e-5, c["label"]
print(f"{len(curves)} precision-recall curves: {', '.join(curves)}")
PY
echo PASS
