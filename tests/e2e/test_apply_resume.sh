# --resume after kill -9 mid-run and after Ctrl-C: every input appears
# exactly once, a torn last line is dropped, the file stays valid JSONL.
source "$(dirname "$0")/lib.sh"

photos_twice photos
total=$(ls photos | wc -l)
# A larger input makes each batch take long enough to kill mid-run.
sed -i 's/image_size: \[64, 64\]/image_size: [320, 320]/' model.yaml

"$ZOO" apply model.yaml photos -o out.jsonl --batch-size 2 --threads 1 --workers 1 -q &
pid=$!
for _ in $(seq 1 600); do
  [[ -s out.jsonl && $(count_lines out.jsonl) -ge 6 ]] && break
  sleep 0.05
done
kill -9 $pid
wait $pid 2>/dev/null || true
done_before=$(count_lines out.jsonl)
(( done_before > 0 && done_before < total )) || fail "kill -9 was not mid-run ($done_before of $total done)"
# Simulate the torn write a crash can leave.
printf '{"filepath":"photos/torn' >> out.jsonl

expect_exit 0 "$ZOO" apply model.yaml photos -o out.jsonl --resume --batch-size 8 2> err.txt
grep -q "torn last line" err.txt || fail "resume did not report the torn line"
grep -q "skipped" err.txt || fail "resume did not report skipped inputs"
jsonl_check out.jsonl "len(records) == $total and len({r['filepath'] for r in records}) == $total"
jsonl_check out.jsonl "[r['filepath'] for r in records] == sorted(r['filepath'] for r in records)"

# Resume of a finished run does nothing and keeps the file.
cp out.jsonl before.jsonl
expect_exit 0 "$ZOO" apply model.yaml photos -o out.jsonl --resume -q
cmp -s out.jsonl before.jsonl || fail "resume of a finished run changed the output"

# Ctrl-C (SIGINT): exits 130 with a valid file; resume completes it.
rm -f int.jsonl
"$ZOO" apply model.yaml photos -o int.jsonl --batch-size 2 --threads 1 --workers 1 -q 2> int_err.txt &
pid=$!
for _ in $(seq 1 600); do
  [[ -s int.jsonl ]] && break
  sleep 0.05
done
kill -INT $pid
code=0
wait $pid || code=$?
[[ $code == 130 ]] || fail "SIGINT: expected exit 130, got $code"
grep -q "interrupted" int_err.txt || fail "SIGINT: no 'interrupted' message"
[[ $(tail -c 1 int.jsonl | od -An -c | tr -d ' ') == '\n' ]] || fail "SIGINT left a torn line"
jsonl_check int.jsonl "0 < len(records) < $total"
expect_exit 0 "$ZOO" apply model.yaml photos -o int.jsonl --resume -q
jsonl_check int.jsonl "len(records) == $total and len({r['filepath'] for r in records}) == $total"

# A list naming files twice: a record counts for one occurrence, so a run
# cut after the first copy of each resumes to one record per list line,
# and the summary counts what it skipped by occurrence.
printf '%s\n' photos/001_Blender_Suzanne1.jpg photos/003_Blender_Suzanne2.jpg photos/001_Blender_Suzanne1.jpg \
  photos/003_Blender_Suzanne2.jpg photos/001_Blender_Suzanne1.jpg > twice.txt
expect_exit 0 "$ZOO" apply model.yaml --files-from twice.txt -o twice.jsonl -q
head -n 3 twice.jsonl > cut.jsonl
expect_exit 0 "$ZOO" apply model.yaml --files-from twice.txt -o cut.jsonl --resume 2> err.txt
grep -q "resume: 3 inputs already done" err.txt || fail "resume miscounted: $(cat err.txt)"
grep -q "2 ok, 0 failed, 3 skipped" err.txt || fail "resume miscounted: $(cat err.txt)"
jsonl_check cut.jsonl "[r['filepath'] for r in records] == open('twice.txt').read().split()"

# --resume needs a file.
expect_exit 2 "$ZOO" apply model.yaml photos --resume
echo ok
