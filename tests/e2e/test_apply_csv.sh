# zoo apply --format csv: the same labels and confidences as the JSON Lines
# records, top-k columns, error rows, awkward file names, resume after
# kill -9, shards merged, and the usage errors.
source "$(dirname "$0")/lib.sh"

photos_twice photos
head -c 2000 "$PHOTOS/fruits.jpg" > photos/000_truncated.jpg
cp "$PHOTOS/baboon.jpg" 'photos/zz, "quoted" name.jpg'
total=$(ls photos | wc -l)

expect_exit 3 "$ZOO" apply model.yaml photos -q -o labels.jsonl
expect_exit 3 "$ZOO" apply model.yaml photos -q --format csv -o labels.csv
expect_exit 3 "$ZOO" apply model.yaml photos -q --top-k 3 -o top3.jsonl
expect_exit 3 "$ZOO" apply model.yaml photos -q --top-k 3 --format csv -o top3.csv
# -o FILE.csv alone means CSV; an explicit --format wins.
expect_exit 3 "$ZOO" apply model.yaml photos -q -o inferred.CSV
cmp labels.csv inferred.CSV || fail "-o FILE.csv did not write CSV"
expect_exit 3 "$ZOO" apply model.yaml photos -q --format jsonl -o forced.csv
jsonl_check forced.csv "len(records) > 0 and all('filepath' in r for r in records)"
/usr/bin/python3 - "$total" <<'PY' || fail "the CSV rows differ from the JSON Lines records"
import csv, json, sys
total = int(sys.argv[1])
def check(jsonl, csvfile, k):
    records = [json.loads(l) for l in open(jsonl)]
    rows = list(csv.reader(open(csvfile, newline="")))
    want = ["filepath", "frame_number"] + (["label", "confidence"] if k == 0 else
            [f"{n}_{i}" for i in range(1, k + 1) for n in ("label", "confidence")]) + ["error"]
    assert rows[0] == want, rows[0]
    assert len(rows) == total + 1 == len(records) + 1, (len(rows), total)
    for r, row in zip(records, rows[1:]):
        assert row[0] == r["filepath"] and row[1] == "", (row, r["filepath"])
        if "error" in r:
            assert row[-1] == r["error"] and all(c == "" for c in row[2:-1]), row
            continue
        p = r["predictions"]
        labels = [p] if k == 0 else p["classifications"]
        cells = [x for c in labels for x in (c["label"], json.dumps(c["confidence"]))]
        assert row[2:-1] == cells and row[-1] == "", (row, cells)
        assert all(float(a) == b["confidence"] for a, b in zip(row[3:-1:2], labels))
check("labels.jsonl", "labels.csv", 0)
check("top3.jsonl", "top3.csv", 3)
names = [row[0] for row in csv.reader(open("labels.csv", newline=""))]
assert 'photos/zz, "quoted" name.jpg' in names, names[-3:]
PY

# kill -9 mid-run, then --resume: the same file as one uninterrupted run.
sed 's/image_size: \[64, 64\]/image_size: [320, 320]/' model.yaml > big.yaml
expect_exit 3 "$ZOO" apply big.yaml photos -q --format csv -o whole.csv
"$ZOO" apply big.yaml photos -o resumed.csv --format csv --batch-size 2 --threads 1 --workers 1 -q &
pid=$!
for _ in $(seq 1 600); do
  [[ -s resumed.csv && $(count_lines resumed.csv) -ge 6 ]] && break
  sleep 0.05
done
kill -9 $pid
wait $pid 2>/dev/null || true
before=$(count_lines resumed.csv)
(( before > 1 && before < total + 1 )) || fail "kill -9 was not mid-run ($before lines)"
printf 'photos/torn-row,,ca' >> resumed.csv
expect_exit 3 "$ZOO" apply big.yaml photos -o resumed.csv --format csv --resume 2> err.txt
grep -q "torn last line" err.txt || { cat err.txt; fail "resume did not report the torn row"; }
cmp resumed.csv whole.csv || fail "resumed CSV differs from an uninterrupted run"
# A file holding only its header (the run died before its first batch)
# resumes without a second header.
head -1 whole.csv > header-only.csv
expect_exit 3 "$ZOO" apply big.yaml photos -o header-only.csv --format csv --resume -q
cmp header-only.csv whole.csv || fail "resume from a header-only CSV"
# Another --top-k does not append to this file: its run record says so, and
# without one (an output of an older zoo) its header does.
expect_exit 2 "$ZOO" apply big.yaml photos -o resumed.csv --format csv --top-k 2 --resume 2> err.txt
grep -q "resumed.csv: written by another model or other settings (top_k 0 there, 2 now)" err.txt ||
  fail "$(cat err.txt)"
rm resumed.csv.run.json
expect_exit 1 "$ZOO" apply big.yaml photos -o resumed.csv --format csv --top-k 2 --resume 2> err.txt
grep -q "resumed.csv:1: the header is" err.txt || { cat err.txt; fail "header mismatch not reported"; }

# Two shards merged: the file one run writes (the header once).
expect_exit 3 "$ZOO" apply model.yaml photos -q --format csv -o sharded.csv --shard 0/2  # holds the truncated JPEG
expect_exit 0 "$ZOO" apply model.yaml photos -q --format csv -o sharded.csv --shard 1/2
expect_exit 3 "$ZOO" merge sharded.csv -q
cmp sharded.csv labels.csv || fail "merged CSV shards differ from the unsharded CSV"

# Usage errors.
expect_exit 2 "$ZOO" apply "$ZOO_SOURCE_DIR/configs/opencv-haar-face.yaml" "$PHOTOS/messi5.jpg" --format csv 2> err.txt
grep -q "format csv writes classifications" err.txt || fail "csv for a detector not refused"
expect_exit 2 "$ZOO" apply model.yaml "$PHOTOS/messi5.jpg" --format csv --store-logits 2> err.txt
grep -q "no column for logits" err.txt || fail "--store-logits with csv not refused"
expect_exit 2 "$ZOO" apply model.yaml "$PHOTOS/messi5.jpg" --format csv --label-field x 2> err.txt
grep -q "fixed columns" err.txt || fail "--label-field with csv not refused"
echo ok
