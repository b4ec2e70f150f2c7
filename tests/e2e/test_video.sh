# Videos as inputs of zoo apply and zoo embed, on opencv-doc's real clips:
# one record per selected frame with 1-based frame numbers, --frame-stride
# and --fps, input order kept between images and videos, a truncated video
# gives its frames plus an error record (exit 3), --resume per frame after
# kill -9, and embed rows indexed PATH#FRAME.
source "$(dirname "$0")/lib.sh"

MEGAMIND=$PHOTOS/Megamind.avi   # 720x528, 270 frames at 23.976 fps
VTEST=$PHOTOS/vtest.avi         # 768x576, 795 frames at 10 fps

# Every frame, numbered from 1, with the frame size.
expect_exit 0 "$ZOO" apply model.yaml "$MEGAMIND" -o all.jsonl -q
jsonl_check all.jsonl "[r['frame_number'] for r in records] == list(range(1, 271))"
jsonl_check all.jsonl "all(r['filepath'] == '$MEGAMIND' and r['width'] == 720 and r['height'] == 528 for r in records)"
jsonl_check all.jsonl "all(r['predictions']['_cls'] == 'Classification' for r in records)"

# --frame-stride N: frames 1, 1+N, ...; the same frame gets the same label as in the full run.
expect_exit 0 "$ZOO" apply model.yaml "$MEGAMIND" --frame-stride 25 -o stride.jsonl -q
jsonl_check stride.jsonl "[r['frame_number'] for r in records] == list(range(1, 271, 25))"
/usr/bin/python3 - <<'PY' || fail "a frame's label differs between the full and the strided run"
import json
full = {r["frame_number"]: r for r in map(json.loads, open("all.jsonl"))}
for r in map(json.loads, open("stride.jsonl")):
    assert r == full[r["frame_number"]], (r, full[r["frame_number"]])
PY

# --fps F: the first frame at or after every 1/F s (23.976 fps: 1, 25, 49, ...).
expect_exit 0 "$ZOO" apply model.yaml "$MEGAMIND" --fps 1 -o fps.jsonl -q
jsonl_check fps.jsonl "[r['frame_number'] for r in records] == [1 - (-k * 23976 // 1000) for k in range(12)]"
expect_exit 2 "$ZOO" apply model.yaml "$MEGAMIND" --fps 1 --frame-stride 2 -q

# Images and videos in input order; a video without a video extension is
# recognised by its content; a missing video is an error record.
cp "$VTEST" clip.data
expect_exit 3 "$ZOO" apply model.yaml "$PHOTOS/baboon.jpg" "$MEGAMIND" clip.data missing.mp4 "$PHOTOS/fruits.jpg" \
  --frame-stride 100 --workers 2 --batch-size 3 -o mixed.jsonl 2> mixed_err.txt
jsonl_check mixed.jsonl "[(r['filepath'].split('/')[-1], r.get('frame_number')) for r in records] == [('baboon.jpg', None)] + [('Megamind.avi', n) for n in (1, 101, 201)] + [('clip.data', n) for n in range(1, 796, 100)] + [('missing.mp4', None), ('fruits.jpg', None)]"
jsonl_check mixed.jsonl "'no such file' in records[-2]['error']"
grep -q "missing.mp4: no such file" mixed_err.txt || fail "no warning for the missing video"

# A truncated copy: the frames before the cut, then one error record; exit 3.
head -c 3000000 "$VTEST" > cut.avi
expect_exit 3 "$ZOO" apply model.yaml cut.avi -o cut.jsonl 2> cut_err.txt
jsonl_check cut.jsonl "len(records) > 100 and [r['frame_number'] for r in records[:-1]] == list(range(1, len(records)))"
jsonl_check cut.jsonl "'frame_number' not in records[-1] and 'truncated' in records[-1]['error'] and 'of the 795' in records[-1]['error']"
grep -q "cut.avi: video ends after frame" cut_err.txt || fail "no warning for the truncated video"
# A cut that leaves no readable header: one error record, no frames.
head -c 2000 "$VTEST" > header_only.avi
expect_exit 3 "$ZOO" apply model.yaml header_only.avi -o header_only.jsonl -q
jsonl_check header_only.jsonl "len(records) == 1 and 'error' in records[0]"
# Resuming a finished run with a truncated video adds nothing and still exits 3.
cp cut.jsonl cut_before.jsonl
expect_exit 3 "$ZOO" apply model.yaml cut.avi -o cut.jsonl --resume -q
cmp -s cut.jsonl cut_before.jsonl || fail "resume of a finished run with a truncated video changed the output"

# --resume per frame after kill -9 in the middle of a video: every frame once, in order.
sed 's/image_size: \[64, 64\]/image_size: [256, 256]/' model.yaml > slow.yaml
"$ZOO" apply slow.yaml "$PHOTOS/baboon.jpg" "$VTEST" "$PHOTOS/fruits.jpg" --frame-stride 5 -o resume.jsonl \
  --batch-size 2 --threads 1 --workers 1 -q &
pid=$!
for _ in $(seq 1 600); do
  [[ -s resume.jsonl && $(count_lines resume.jsonl) -ge 8 ]] && break
  sleep 0.05
done
kill -9 $pid
wait $pid 2>/dev/null || true
done_before=$(count_lines resume.jsonl)
(( done_before > 1 && done_before < 161 )) || fail "kill -9 was not mid-video ($done_before of 161 records)"
printf '{"filepath":"torn' >> resume.jsonl
expect_exit 0 "$ZOO" apply slow.yaml "$PHOTOS/baboon.jpg" "$VTEST" "$PHOTOS/fruits.jpg" --frame-stride 5 \
  -o resume.jsonl --resume 2> resume_err.txt
grep -q "skipped" resume_err.txt || fail "resume did not report skipped frames"
jsonl_check resume.jsonl "[(r['filepath'].split('/')[-1], r.get('frame_number')) for r in records] == [('baboon.jpg', None)] + [('vtest.avi', n) for n in range(1, 796, 5)] + [('fruits.jpg', None)]"

# zoo embed: one row per frame, index lines PATH#FRAME, the truncated video in the error log.
expect_exit 3 "$ZOO" embed model.yaml "$PHOTOS/baboon.jpg" "$MEGAMIND" cut.avi --frame-stride 30 -o emb.npy -q
/usr/bin/python3 - "$PHOTOS/baboon.jpg" "$MEGAMIND" <<'PY' || fail "embed rows and index do not match the frames"
import json, sys
import numpy as np
baboon, megamind = sys.argv[1:3]
rows = np.load("emb.npy")
index = open("emb.paths.txt").read().splitlines()
cut = [l for l in index if l.startswith("cut.avi#")]
assert index[:10] == [baboon] + [f"{megamind}#{n}" for n in range(1, 271, 30)], index[:10]
assert cut == [f"cut.avi#{n}" for n in range(1, 1 + 30 * len(cut), 30)] and len(cut) > 3, cut
assert rows.shape == (len(index), 4), (rows.shape, len(index))
errors = [json.loads(l) for l in open("emb.errors.jsonl")]
assert len(errors) == 1 and errors[0]["filepath"] == "cut.avi" and "truncated" in errors[0]["error"], errors
PY
# Resume after kill -9 keeps the rows and embeds the missing frames once.
"$ZOO" embed slow.yaml "$VTEST" --frame-stride 4 -o emb2.npy --batch-size 2 --threads 1 --workers 1 -q &
pid=$!
for _ in $(seq 1 600); do
  [[ -s emb2.paths.txt && $(count_lines emb2.paths.txt) -ge 6 ]] && break
  sleep 0.05
done
kill -9 $pid
wait $pid 2>/dev/null || true
rows_before=$(count_lines emb2.paths.txt)
(( rows_before > 0 && rows_before < 199 )) || fail "kill -9 was not mid-video ($rows_before of 199 rows)"
expect_exit 0 "$ZOO" embed slow.yaml "$VTEST" --frame-stride 4 -o emb2.npy --resume -q
/usr/bin/python3 - "$VTEST" <<'PY' || fail "resumed video embeddings are not one row per frame"
import sys
import numpy as np
index = open("emb2.paths.txt").read().splitlines()
assert index == [f"{sys.argv[1]}#{n}" for n in range(1, 796, 4)], index[:5]
assert np.load("emb2.npy").shape == (len(index), 4)
PY
echo ok
