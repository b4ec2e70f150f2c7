# --shard K/N and zoo merge: shards of zoo apply (JSON Lines and COCO) and
# zoo embed, merged, give byte for byte what one unsharded run writes; a
# shard killed mid-run resumes when retried; a finished shard does nothing
# when retried; merge names missing shards and refuses parts of another
# input list.
source "$(dirname "$0")/lib.sh"

# The opencv-doc photos, twice, and one corrupt JPEG among them.
photos_twice photos
head -c 3000 "$PHOTOS/fruits.jpg" > photos/050_cut.jpg
total=$(ls photos | wc -l)

# --- zoo apply, JSON Lines: one run against 3 shards. A larger input size
# makes an image slow enough to kill shard 1 mid-run.
sed 's/image_size: \[64, 64\]/image_size: [320, 320]/' model.yaml > slow.yaml
expect_exit 3 "$ZOO" apply slow.yaml photos -o full.jsonl -q
"$ZOO" apply slow.yaml photos -o labels.jsonl --shard 1/3 --batch-size 1 --threads 1 --workers 1 -q &
pid=$!
for _ in $(seq 1 600); do
  [[ -s labels.part-1-of-3.jsonl && $(count_lines labels.part-1-of-3.jsonl) -ge 2 ]] && break
  sleep 0.02
done
kill -9 $pid
wait $pid 2>/dev/null || true
[[ -f labels.part-1-of-3.jsonl && ! -f labels.part-1-of-3.jsonl.done ]] || fail "shard 1 was not killed mid-run"
expect_exit 1 "$ZOO" merge labels.jsonl 2> merge_err.txt
grep -q "3 of 3 shards of labels.jsonl are not done: 0, 1 (started, not finished), 2" merge_err.txt ||
  fail "merge did not name the missing shards: $(cat merge_err.txt)"

for k in 0 1 2; do
  code=0
  "$ZOO" apply slow.yaml photos -o labels.jsonl --shard $k/3 2> "shard$k.txt" || code=$?
  [[ $code == 0 || $code == 3 ]] || fail "shard $k exited $code: $(cat "shard$k.txt")"
  [[ -f labels.part-$k-of-3.jsonl.done ]] || fail "shard $k wrote no done marker"
done
grep -q "resume:" shard1.txt || fail "the retried shard 1 did not resume its part"
# The corrupt file is in exactly one shard, which exits 3 and counts it.
python3 - <<'EOF' || fail "done markers: inputs or failures do not add up"
import json
markers = [json.load(open(f"labels.part-{k}-of-3.jsonl.done")) for k in range(3)]
assert sum(m["inputs"] for m in markers) == markers[0]["all_inputs"], markers
assert sum(m["failed"] for m in markers) == 1, markers
assert len({m["inputs_sha256"] for m in markers}) == 1, markers
EOF

expect_exit 3 "$ZOO" merge labels.jsonl 2> merge.txt
grep -q "merged 3 parts into labels.jsonl: $total records for $total inputs (1 failed)" merge.txt ||
  fail "merge summary: $(cat merge.txt)"
cmp full.jsonl labels.jsonl || fail "merged shards differ from the unsharded run"

# A retried finished shard does nothing.
cp labels.part-2-of-3.jsonl before.jsonl
expect_exit 0 "$ZOO" apply slow.yaml photos -o labels.jsonl --shard 2/3 2> again.txt
grep -q "shard 2 of 3 is already done" again.txt || fail "finished shard was not recognised"
cmp before.jsonl labels.part-2-of-3.jsonl || fail "a retried finished shard changed its part"

# The input list changed since the shard was done: refused, not mixed.
cp "$PHOTOS/baboon.jpg" photos/000_new.jpg
expect_exit 1 "$ZOO" apply slow.yaml photos -o labels.jsonl --shard 2/3 2> changed.txt
grep -q "another input list ($total inputs, now $((total + 1)))" changed.txt || fail "changed list: $(cat changed.txt)"
rm photos/000_new.jpg

# --remove-parts leaves only the merged file.
expect_exit 3 "$ZOO" merge labels.jsonl --remove-parts -q
[[ -z $(ls labels.part-* 2>/dev/null) ]] || fail "--remove-parts left $(ls labels.part-*)"
cmp full.jsonl labels.jsonl || fail "merge --remove-parts changed the result"

# --- zoo embed in a Slurm job array (--array=1-2), with --index.
expect_exit 3 "$ZOO" embed model.yaml photos -o full.npy --layer '<fc' -q
for task in 1 2; do
  code=0
  SLURM_ARRAY_TASK_ID=$task SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=2 \
    "$ZOO" embed model.yaml photos -o emb.npy --index ids.txt --layer '<fc' --shard auto -q || code=$?
  [[ $code == 0 || $code == 3 ]] || fail "embed task $task exited $code"
done
[[ -f emb.part-0-of-2.npy && -f ids.part-1-of-2.txt && -f emb.part-1-of-2.errors.jsonl ]] || fail "embed parts: $(ls)"
expect_exit 3 "$ZOO" merge emb.npy --index ids.txt -q
cmp full.npy emb.npy || fail "merged embeddings differ from the unsharded run"
cmp full.paths.txt ids.txt || fail "merged index differs"
cmp full.errors.jsonl emb.errors.jsonl || fail "merged error log differs"
/usr/bin/python3 -c "import numpy; a = numpy.load('emb.npy'); assert a.shape == ($total - 1, 512), a.shape" ||
  fail "emb.npy does not load with numpy"

# --- zoo apply --format coco-dataset, as a Kubernetes Indexed Job of 2.
cfg="$ZOO_SOURCE_DIR/configs/opencv-haar-face.yaml"
expect_exit 3 "$ZOO" apply "$cfg" photos --format coco-dataset -o faces_full.json -q
for index in 0 1; do
  code=0
  JOB_COMPLETION_INDEX=$index "$ZOO" apply "$cfg" photos --format coco-dataset -o faces.json --shard auto/2 -q || code=$?
  [[ $code == 0 || $code == 3 ]] || fail "coco shard $index exited $code"
done
expect_exit 3 "$ZOO" merge faces.json -q
cmp faces_full.json faces.json || fail "merged COCO document differs from the unsharded run"
python3 -c "
import json; d = json.load(open('faces.json'))
assert len(d['images']) == $total - 1 and len(d['annotations']) > 0, (len(d['images']), len(d['annotations']))" ||
  fail "faces.json: not the images and detections expected"

# A record depends on its image alone, not on its batch neighbours: a real
# ImageNet head (1000 classes, 224x224), where BLAS kernels chosen by the
# batch's row count made an image's logits differ in the last bits between a
# batch of 16 and a smaller one. Any batch size, any sharding: the same bytes.
printf 'entrypoint: resnet18\nimage_size: [224, 224]\n' > imagenet.yaml
ls photos/*.jpg | head -n 34 > some.txt
expect_exit 0 "$ZOO" embed imagenet.yaml --files-from some.txt -o one.npy --batch-size 1 -q
expect_exit 0 "$ZOO" embed imagenet.yaml --files-from some.txt -o sixteen.npy --batch-size 16 -q
cmp one.npy sixteen.npy || fail "an image's embedding depends on its batch (batch 1 vs 16)"
for k in 0 1 2; do
  expect_exit 0 "$ZOO" embed imagenet.yaml --files-from some.txt -o sharded.npy --batch-size 16 --shard $k/3 -q
done
expect_exit 0 "$ZOO" merge sharded.npy -q
cmp one.npy sharded.npy || fail "a sharded embedding differs from the unsharded one"
cmp one.paths.txt sharded.paths.txt || fail "the sharded index differs"

# Usage errors.
expect_exit 2 "$ZOO" apply model.yaml photos --shard 0/2
expect_exit 2 "$ZOO" apply model.yaml photos -o x.jsonl --shard 2/2
expect_exit 2 "$ZOO" apply model.yaml photos -o x.jsonl --shard auto
expect_exit 1 "$ZOO" merge nothing.jsonl
echo "ok"
