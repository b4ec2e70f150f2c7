# Input lists from a file and from stdin, top-k, thresholds, logits, label
# field, output to stdout.
source "$(dirname "$0")/lib.sh"

printf '%s\n' "$PHOTOS/baboon.jpg" "# a comment" "" "$PHOTOS/missing.jpg" "$PHOTOS/fruits.jpg" > list.txt
expect_exit 3 "$ZOO" apply model.yaml --files-from list.txt -o out.jsonl -q
jsonl_check out.jsonl "[r['filepath'] for r in records] == ['$PHOTOS/baboon.jpg', '$PHOTOS/missing.jpg', '$PHOTOS/fruits.jpg']"

ls "$PHOTOS"/baboon.jpg "$PHOTOS"/fruits.jpg | "$ZOO" apply model.yaml --files-from - -q > stdin.jsonl
jsonl_check stdin.jsonl "len(records) == 2 and all(r['predictions']['_cls'] == 'Classification' for r in records)"

# Arguments and a list together: arguments first.
echo "$PHOTOS/fruits.jpg" | "$ZOO" apply model.yaml "$PHOTOS/baboon.jpg" --files-from - -q > both.jsonl
jsonl_check both.jsonl "[r['filepath'].split('/')[-1] for r in records] == ['baboon.jpg', 'fruits.jpg']"

"$ZOO" apply model.yaml "$PHOTOS/baboon.jpg" --top-k 3 --store-logits --label-field labels -q > topk.jsonl
jsonl_check topk.jsonl "records[0]['labels']['_cls'] == 'Classifications' and len(records[0]['labels']['classifications']) == 3 and len(records[0]['labels']['logits']) == 4"
jsonl_check topk.jsonl "[c['confidence'] for c in records[0]['labels']['classifications']] == sorted([c['confidence'] for c in records[0]['labels']['classifications']], reverse=True)"
# The confidences are the softmax of the stored logits.
jsonl_check topk.jsonl "(lambda l, c: abs(max(__import__('math').exp(x - max(l)) for x in l) / sum(__import__('math').exp(x - max(l)) for x in l) - c) < 1e-6)(records[0]['labels']['logits'], records[0]['labels']['classifications'][0]['confidence'])"

# A threshold above every probability: FiftyOne stores None.
"$ZOO" apply model.yaml "$PHOTOS/baboon.jpg" --confidence-thresh 1.0 -q > thresh.jsonl
jsonl_check thresh.jsonl "records[0]['predictions'] is None"

# Deterministic: the same run twice gives the same bytes.
"$ZOO" apply model.yaml "$PHOTOS" -q --batch-size 5 > run1.jsonl 2>/dev/null || true
"$ZOO" apply model.yaml "$PHOTOS" -q --batch-size 7 --workers 1 > run2.jsonl 2>/dev/null || true
cmp -s run1.jsonl run2.jsonl || fail "two runs over the same photos differ"
jsonl_check run1.jsonl "len(records) > 50"

# Progress as JSON status lines on stderr.
"$ZOO" apply model.yaml "$PHOTOS/baboon.jpg" --progress json > /dev/null 2> progress.txt
grep -q '"status":"done","count":1,"total":1' progress.txt || fail "no JSON progress line"

# The bar (forced, as on a terminal) shows count/total.
"$ZOO" apply model.yaml "$PHOTOS/baboon.jpg" "$PHOTOS/fruits.jpg" --progress bar > /dev/null 2> bar.txt
grep -q '\] 2/2 img' bar.txt || fail "no progress bar"
echo ok
