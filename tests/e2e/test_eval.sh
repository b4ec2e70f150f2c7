# zoo eval on real labels: a digits model zoo trains on 300 of OpenCV's
# digits, applied to 200 test digits and a corrupt file. The scores must
# match a plain Python count over the same JSON Lines; gates, the baseline
# comparison, top-k, missing records and usage errors are checked too.
source "$(dirname "$0")/lib.sh"

/usr/bin/python3 "$ZOO_SOURCE_DIR/scripts/make-digits.py" digits 2> /dev/null
for d in 0 1 2 3 4 5 6 7 8 9; do
  mkdir -p small/train/$d test/$d
  ls digits/train/$d | head -30 | while read -r f; do cp "digits/train/$d/$f" small/train/$d/; done
  ls digits/test/$d | head -20 | while read -r f; do cp "digits/test/$d/$f" test/$d/; done
done
head -c 300 "$PHOTOS/baboon.jpg" > test/4/truncated.png  # a test input that fails to decode
sed -e '/^augment:/,$d' -e '/^deskew:/d' "$ZOO_SOURCE_DIR/configs/digits-cnn.yaml" > digits.yaml
common=(--data small/train --val-split 0 --lr 0.003 --batch-size 16 --threads 1 -q)
expect_exit 0 "$ZOO" train digits.yaml "${common[@]}" --epochs 6 --seed 3 -o model6
expect_exit 0 "$ZOO" train digits.yaml "${common[@]}" --epochs 6 --seed 4 -o model_seed4
expect_exit 3 "$ZOO" apply model6 test -q -o new.jsonl
expect_exit 3 "$ZOO" apply model_seed4 test -q -o old.jsonl
expect_exit 3 "$ZOO" apply model6 test -q --top-k 3 -o top3.jsonl

# The report against an independent count.
expect_exit 0 "$ZOO" eval new.jsonl --truth test -o report.json > report.txt
/usr/bin/python3 - <<'PY' || fail "zoo eval's report differs from Python's count"
import json
records = [json.loads(l) for l in open("new.jsonl")]
report = json.load(open("report.json"))
truth = {r["filepath"]: r["filepath"].split("/")[-2] for r in records}
ok = [r for r in records if "error" not in r]
right = sum(r["predictions"]["label"] == truth[r["filepath"]] for r in ok)
assert report["samples"] == 201 and report["records"] == 201, report["samples"]
assert report["failed"] == 1 and report["missing"] == 0 and report["unmatched"] == 0, report
assert report["correct"] == right and abs(report["accuracy"] - right / 201) < 1e-6, (report["correct"], right)
assert 0.5 < report["accuracy"] < 1, report["accuracy"]
classes = [str(d) for d in range(10)]
assert report["classes"][:10] == classes
cm = report["confusion_matrix"]
for t in classes:
    for p in classes:
        n = sum(1 for r in ok if truth[r["filepath"]] == t and r["predictions"]["label"] == p)
        assert cm[int(t)][int(p)] == n, (t, p, cm[int(t)][int(p)], n)
for c in report["per_class"]:
    support = sum(1 for v in truth.values() if v == c["label"])
    predicted = sum(1 for r in ok if r["predictions"]["label"] == c["label"])
    correct = sum(1 for r in ok if r["predictions"]["label"] == c["label"] == truth[r["filepath"]])
    assert (c["support"], c["predicted"], c["correct"]) == (support, predicted, correct), c
    assert abs(c["recall"] - correct / support) < 1e-6 and abs(c["precision"] - (correct / predicted if predicted else 0)) < 1e-6, c
# The "(none)" column: the failed record; every row sums to its support.
assert report["confusion_columns"] == report["classes"] + ["(none)"], report["confusion_columns"]
for t in classes:
    failed = sum(1 for r in records if "error" in r and truth[r["filepath"]] == t)
    assert cm[int(t)][-1] == failed, (t, cm[int(t)][-1])
    assert sum(cm[int(t)]) == sum(1 for v in truth.values() if v == t), t
assert report["average"] == "truth" and report["averaged_classes"] == 10
wrong = {m["filepath"] for m in report["mistakes"]}
assert wrong == {r["filepath"] for r in records if "error" in r or r["predictions"]["label"] != truth[r["filepath"]]}
bad = [m for m in report["mistakes"] if m["filepath"] == "test/4/truncated.png"]
assert len(bad) == 1 and bad[0]["error"] == next(r["error"] for r in records if "error" in r), bad
PY
grep -q "^accuracy .*; 1 failed, 0 missing)$" report.txt || { cat report.txt; fail "text report: no accuracy line"; }
grep -q "^most confused: " report.txt || fail "text report: no confusions"

# --average all: macro averages over every class in the truth or the
# labels, as scikit-learn's precision_recall_fscore_support(average="macro")
# over the union of labels (a class never predicted has precision 0).
/usr/bin/python3 - <<'PY'
import json
records = [json.loads(l) for l in open("new.jsonl")]
# One record relabelled with a class the truth does not have.
for r in records:
    if "error" not in r:
        r["predictions"]["label"] = "not-a-digit"
        break
with open("odd.jsonl", "w") as f:
    for r in records: f.write(json.dumps(r) + "\n")
PY
expect_exit 0 "$ZOO" eval odd.jsonl --truth test --average all -o all.json > all.txt
expect_exit 0 "$ZOO" eval odd.jsonl --truth test -o truth-avg.json > /dev/null
/usr/bin/python3 - <<'PY' || fail "--average all differs from the union-of-labels macro average"
import json
records = [json.loads(l) for l in open("odd.jsonl")]
truth = {r["filepath"]: r["filepath"].split("/")[-2] for r in records}
pred = {r["filepath"]: (r["predictions"]["label"] if "error" not in r else None) for r in records}
labels = sorted(set(truth.values()) | {p for p in pred.values() if p is not None})
assert "not-a-digit" in labels and len(labels) == 11
def rates(c):
    tp = sum(1 for f in truth if truth[f] == c and pred[f] == c)
    predicted = sum(1 for f in truth if pred[f] == c)
    support = sum(1 for f in truth if truth[f] == c)
    p = tp / predicted if predicted else 0.0
    r = tp / support if support else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)
for name, over in (("all.json", labels), ("truth-avg.json", sorted(set(truth.values())))):
    report = json.load(open(name))
    ps, rs, fs = zip(*(rates(c) for c in over))
    assert report["averaged_classes"] == len(over), (name, report["averaged_classes"])
    for key, values in (("macro_precision", ps), ("macro_recall", rs), ("macro_f1", fs)):
        assert abs(report[key] - sum(values) / len(values)) < 1e-6, (name, key, report[key])
assert json.load(open("all.json"))["average"] == "all"
PY
grep -q "over 11 classes in the truth or the labels" all.txt || { cat all.txt; fail "the text report does not say what it averaged"; }
expect_exit 2 "$ZOO" eval odd.jsonl --truth test --average classes

# Gates: exit 1 when one fails, the JSON report says which.
expect_exit 0 "$ZOO" eval new.jsonl --truth test --min accuracy=50% --max failed=1 -q
expect_exit 1 "$ZOO" eval new.jsonl --truth test --min accuracy=0.999 --max failed=0 -q -o gates.json 2> gates.err
grep -q "2 of 2 gates failed" gates.err || { cat gates.err; fail "no gate summary on stderr"; }
/usr/bin/python3 -c "
import json; r = json.load(open('gates.json'))
assert r['passed'] is False and [g['passed'] for g in r['gates']] == [False, False], r['gates']
assert r['gates'][1] == {'gate': 'failed<=0', 'actual': 1, 'passed': False}, r['gates'][1]" || fail "gates in the JSON report"
# A per-class gate, at the class's own recall: passes; just above: fails.
recall4=$(/usr/bin/python3 -c "import json; print(json.load(open('report.json'))['per_class'][4]['recall'])")
expect_exit 0 "$ZOO" eval new.jsonl --truth test --min "recall:4=$recall4" -q
expect_exit 1 "$ZOO" eval new.jsonl --truth test --min "recall:4=$(/usr/bin/python3 -c "print(min(1, $recall4 + 0.001))")" -q 2> /dev/null

# A baseline: the same training with another seed, which gets other
# digits wrong. Fixed and broken as Python counts them.
expect_exit 0 "$ZOO" eval new.jsonl --truth test --baseline old.jsonl -o - 2> compare.txt > compare.json
/usr/bin/python3 - <<'PY' || fail "baseline comparison"
import json
def right(path):
    return {r["filepath"] for r in map(json.loads, open(path)) if "error" not in r and r["predictions"]["label"] == r["filepath"].split("/")[-2]}
new, old = right("new.jsonl"), right("old.jsonl")
b = json.load(open("compare.json"))["baseline"]
assert set(b["fixed"]) == new - old and set(b["broken"]) == old - new, (len(b["fixed"]), len(b["broken"]))
assert b["fixed"] and b["broken"], "the two models should differ both ways"
assert abs(b["accuracy"] - len(old) / 201) < 1e-6
PY
grep -q "^baseline old.jsonl: accuracy " compare.txt || fail "text report (on stderr with -o -) has no baseline line"
broken=$(/usr/bin/python3 -c "import json; print(len(json.load(open('compare.json'))['baseline']['broken']))")
expect_exit 0 "$ZOO" eval new.jsonl --truth test --baseline old.jsonl --max "broken=$broken" -q
expect_exit 1 "$ZOO" eval new.jsonl --truth test --baseline old.jsonl --max "broken=$((broken - 1))" -q 2> /dev/null

# Top-3 labels: the first is the prediction, top-3 accuracy counts any.
expect_exit 0 "$ZOO" eval top3.jsonl --truth test -o top3.report.json -q
/usr/bin/python3 - <<'PY' || fail "top-k"
import json
records = [json.loads(l) for l in open("top3.jsonl")]
r, n = json.load(open("top3.report.json")), json.load(open("report.json"))
assert r["top_k"] == 3 and r["correct"] == n["correct"], (r.get("top_k"), r["correct"], n["correct"])
hits = sum(r["filepath"].split("/")[-2] in [c["label"] for c in r["predictions"]["classifications"]] for r in records if "error" not in r)
assert r["top_k_accuracy"] >= r["accuracy"] and abs(r["top_k_accuracy"] - hits / 201) < 1e-6, (r["top_k_accuracy"], hits)
PY

# zoo apply --format csv labels score the same.
expect_exit 3 "$ZOO" apply model6 test -q --top-k 3 --format csv -o top3.csv
expect_exit 0 "$ZOO" eval top3.csv --truth test -o top3csv.report.json -q
/usr/bin/python3 -c "
import json; a, b = json.load(open('top3csv.report.json')), json.load(open('top3.report.json'))
for k in ('correct', 'failed', 'top_k', 'top_k_accuracy', 'confusion_matrix', 'per_class'): assert a[k] == b[k], k
assert [m['filepath'] for m in a['mistakes']] == [m['filepath'] for m in b['mistakes']]" || fail "CSV labels"

# A record lost: counted as missing and wrong. A truth in CSV works the same.
grep -v "test/7/" new.jsonl > partial.jsonl
expect_exit 1 "$ZOO" eval partial.jsonl --truth test --max missing=0 -o partial.json -q 2> /dev/null
/usr/bin/python3 -c "
import json; r = json.load(open('partial.json')); assert r['missing'] == 20 and r['per_class'][7]['recall'] == 0, r['missing']" \
  || fail "missing records"
(echo "filepath,label"; find test -type f | sort | while read -r f; do echo "$f,$(basename "$(dirname "$f")")"; done) > truth.csv
expect_exit 0 "$ZOO" eval new.jsonl --truth truth.csv -o csv.json -q
/usr/bin/python3 -c "
import json; a, b = json.load(open('csv.json')), json.load(open('report.json'))
assert a['correct'] == b['correct'] and a['confusion_matrix'] == b['confusion_matrix']" || fail "CSV truth"

# A MODEL instead of labels: zoo eval runs it over the truth's files first,
# its labels in a private temporary folder that is gone afterwards.
mkdir tmp
export TMPDIR=$PWD/tmp
expect_exit 0 "$ZOO" eval model6 --truth test --save-labels saved.jsonl -o model.json -q --threads 1
cmp saved.jsonl new.jsonl || fail "--save-labels differs from zoo apply's labels"
/usr/bin/python3 -c "
import json; a, b = json.load(open('model.json')), json.load(open('report.json'))
assert a['labels'] == 'model6' and a['failed'] == 1, (a['labels'], a['failed'])
for k in ('correct', 'confusion_matrix', 'per_class', 'mistakes'): assert a[k] == b[k], k" || fail "zoo eval MODEL"
expect_exit 0 "$ZOO" eval model6 --truth test -k 3 -o model3.json -q
/usr/bin/python3 -c "
import json; a, b = json.load(open('model3.json')), json.load(open('top3.report.json'))
assert a['top_k'] == 3 and a['top_k_accuracy'] == b['top_k_accuracy']" || fail "zoo eval MODEL --top-k"
expect_exit 1 "$ZOO" eval model6 --truth test --min accuracy=1 -q 2> err.txt
grep -q "1 of 1 gates failed: accuracy>=1" err.txt || { cat err.txt; fail "the failed gate is not named"; }
[[ -z $(ls tmp) ]] || fail "temporary labels were left behind: $(ls tmp)"
# What would make the run useless is refused before the model runs.
expect_exit 2 "$ZOO" eval model6 --truth test --max broken=0 2> err.txt
grep -q "broken needs --baseline" err.txt || fail "broken without --baseline"
grep -q "images:" err.txt && fail "the model ran before a usage error"
expect_exit 2 "$ZOO" eval model6 --truth test --min recall:44=0.9 2> /dev/null
expect_exit 2 "$ZOO" eval "$ZOO_SOURCE_DIR/configs/opencv-haar-face.yaml" --truth test 2> err.txt
grep -q "a detector; zoo eval scores classifiers" err.txt || { cat err.txt; fail "a detector MODEL"; }
(echo "filepath,label"; echo "test/0/$(ls test/0 | head -1),0"; echo "/usr/share/doc/opencv-doc/examples/data/vtest.avi,1") > video.csv
expect_exit 1 "$ZOO" eval model6 --truth video.csv 2> err.txt
grep -q "vtest.avi is a video" err.txt || { cat err.txt; fail "a video in the truth"; }
expect_exit 2 "$ZOO" eval new.jsonl --truth test --top-k 3 2> /dev/null
unset TMPDIR

# Errors: usage (2), unreadable or foreign files (1), each naming the culprit.
expect_exit 2 "$ZOO" eval new.jsonl --truth test --min acuracy=0.9 2> err.txt
grep -q 'did you mean "accuracy"' err.txt || fail "no suggestion for a misspelt metric"
expect_exit 2 "$ZOO" eval new.jsonl 2> /dev/null
expect_exit 1 "$ZOO" eval nope.jsonl --truth test 2> err.txt
grep -q "nope.jsonl: cannot read" err.txt || fail "missing labels file not named"
# Detections are not classifications: refused, naming the file and line.
expect_exit 0 "$ZOO" apply "$ZOO_SOURCE_DIR/configs/opencv-haar-face.yaml" "$PHOTOS/messi5.jpg" -q -o faces.jsonl
expect_exit 1 "$ZOO" eval faces.jsonl --truth test 2> err.txt
grep -q 'faces.jsonl:1: "predictions" is a Detections label' err.txt || { cat err.txt; fail "detections not refused"; }
echo "eval: all checks passed"
