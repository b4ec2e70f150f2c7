# File names are bytes: names that are not UTF-8, or hold a line break, are
# labelled, resumed, merged and evaluated like any other. JSON holds them as
# Python's json module holds os.fsdecode(name) (\udcXX for a byte that is
# not UTF-8), so Python opens the very file from each record; stderr shows
# them escaped, one message per line.
source "$(dirname "$0")/lib.sh"
export PYTHONPATH="$ZOO_SOURCE_DIR/tests/e2e"
FACE=$ZOO_SOURCE_DIR/configs/opencv-haar-face.yaml

mkdir photos
cp "$PHOTOS/baboon.jpg" photos/a_baboon.jpg
cp "$PHOTOS/fruits.jpg" "photos/b_$(printf '\xff\xfe').jpg"          # not UTF-8
cp "$PHOTOS/aloeL.jpg" "photos/c_caf$(printf '\xc3\xa9').jpg"         # UTF-8
cp "$PHOTOS/messi5.jpg" "photos/d_$(printf 'line\nzoo: error: forged').jpg"
printf 'junk' > "photos/e_$(printf '\xe9').jpg"                      # Latin-1, and not an image

# every_record_opens FILE KEY: each record's KEY, read by Python's json,
# names a file that exists (Python encodes it back with surrogateescape).
every_record_opens() {
  jsonl_check "$1" "all(__import__('os').path.isfile(r['$2']) for r in records) and len(records) == $3"
}

# zoo apply: every name a record, the bad image an error record naming it, exit 3.
expect_exit 3 "$ZOO" apply model.yaml photos -o out.jsonl 2> err.txt
every_record_opens out.jsonl filepath 5
grep -q 'filepath":"photos/b_\\udcff\\udcfe.jpg"' out.jsonl || fail "the bytes are not written as \\udcXX: $(cat out.jsonl)"
grep -q "filepath\":\"photos/c_caf$(printf '\xc3\xa9').jpg\"" out.jsonl || fail "UTF-8 was escaped"
jsonl_check out.jsonl "records[4]['filepath'] == 'photos/e_\udce9.jpg' and 'cannot decode' in records[4]['error']"
# stderr: the names escaped, one line per message; nothing forged a line.
grep -qF 'zoo: warning: photos/e_\xe9.jpg: cannot decode image' err.txt || fail "stderr: $(cat err.txt)"
! grep -q '^zoo: error: forged' err.txt || fail "a file name forged a line of stderr"

# --resume matches the same files again: cut the output after two records.
head -n 2 out.jsonl > cut.jsonl
expect_exit 3 "$ZOO" apply model.yaml photos -o cut.jsonl --resume 2> err.txt
grep -q 'resume: 2 inputs already done' err.txt || fail "resume did not match: $(cat err.txt)"
every_record_opens cut.jsonl filepath 5
jsonl_check cut.jsonl "[r['filepath'] for r in records] == [r['filepath'] for r in [__import__('json').loads(l) for l in open('out.jsonl')]]"

# CSV holds the bytes as they are (csv reads them with errors="surrogateescape").
expect_exit 3 "$ZOO" apply model.yaml photos --format csv -o out.csv -q
/usr/bin/python3 - <<'PY' || fail "CSV paths do not name the files"
import csv, os
rows = list(csv.DictReader(open("out.csv", newline="", errors="surrogateescape")))
assert len(rows) == 5 and all(os.path.isfile(r["filepath"]) for r in rows), rows
PY

# zoo embed: rows, the index (a path per line, bytes as they are), the error
# log; a name with a line break cannot be an index line: an error record.
expect_exit 3 "$ZOO" embed model.yaml photos -o emb.npy -q
[[ $(count_lines emb.paths.txt) == 3 ]] || fail "expected 3 rows, got $(count_lines emb.paths.txt)"
every_record_opens emb.errors.jsonl filepath 2
/usr/bin/python3 - <<'PY' || fail "the index does not name the files"
import os
paths = open("emb.paths.txt", errors="surrogateescape").read().splitlines()
assert all(os.path.isfile(p) for p in paths), paths
PY
head -n 1 emb.paths.txt > cut.paths.txt
cp emb.npy cut.npy
expect_exit 3 "$ZOO" embed model.yaml photos -o cut.npy --index cut.paths.txt --resume -q
cmp -s cut.paths.txt emb.paths.txt || fail "embed --resume did not match the names again"

# Shards and merge: COCO documents and JSON Lines keep the names.
for k in 0 1; do
  "$ZOO" apply "$FACE" photos --format coco-dataset --shard $k/2 -o faces.json -q || true
  "$ZOO" apply model.yaml photos --shard $k/2 -o parts.jsonl -q || true
done
expect_exit 3 "$ZOO" merge faces.json -q   # exit 3: the junk image failed
expect_exit 3 "$ZOO" merge parts.jsonl -q
/usr/bin/python3 - <<'PY' || fail "merged COCO file names do not open"
import json, os
doc = json.load(open("faces.json"))
assert len(doc["images"]) == 4 and all(os.path.isfile(i["file_name"]) for i in doc["images"]), doc["images"]
PY
every_record_opens parts.jsonl filepath 5

# zoo eval: class folders and a JSON Lines truth list whose names are
# escaped as Python's json.dumps(os.fsdecode(name)) writes them.
mkdir -p truth/animal truth/fruit
cp photos/a_baboon.jpg "truth/animal/$(printf '\xff').jpg"
cp "photos/b_$(printf '\xff\xfe').jpg" "truth/fruit/$(printf 'x\xfe').jpg"
expect_exit 0 "$ZOO" eval model.yaml --truth truth -o report.json 2> err.txt > report.txt
/usr/bin/python3 - <<'PY' || fail "the eval report does not name the files"
import json, os
report = json.load(open("report.json"))
assert report["samples"] == 2, report
assert all(os.path.isfile(m["filepath"]) for m in report["mistakes"]), report["mistakes"]
PY
/usr/bin/python3 - <<'PY'
import json, os
with open("truth.jsonl", "w") as f:
    for label in ("animal", "fruit"):
        for name in os.listdir(os.path.join("truth", label)):
            f.write(json.dumps({"filepath": os.path.join("truth", label, name), "label": label}) + "\n")
PY
expect_exit 0 "$ZOO" apply model.yaml truth -o truth-labels.jsonl -q
expect_exit 0 "$ZOO" eval truth-labels.jsonl --truth truth.jsonl -o list-report.json > list-report.txt
grep -q '"missing": 0' list-report.json || fail "the truth list's names did not match the labels: $(cat list-report.json)"
echo ok
