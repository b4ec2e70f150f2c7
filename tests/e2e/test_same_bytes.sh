# Every record is a function of its input, the model and the settings:
# one run, the same job in three shards merged, and runs cut off at
# arbitrary records and resumed write the same bytes (labels with logits,
# embeddings). MKLDNN picks kernels by batch size, so zoo runs every batch
# at --batch-size, padding the last; without that, a shard's last partial
# batch gave other last digits.
source "$(dirname "$0")/lib.sh"

photos_twice photos
total=$(ls photos | wc -l)
common=(--batch-size 8 --threads 2 --workers 2 -q)

"$ZOO" apply model.yaml photos -o one.jsonl --store-logits "${common[@]}"
"$ZOO" embed model.yaml photos -o one.npy "${common[@]}"

# Three shards of 118 inputs (39, 40, 39: none a multiple of 8), merged.
for k in 0 1 2; do
  "$ZOO" apply model.yaml photos -o three.jsonl --store-logits --shard $k/3 "${common[@]}"
  "$ZOO" embed model.yaml photos -o three.npy --shard $k/3 "${common[@]}"
done
"$ZOO" merge three.jsonl -q
"$ZOO" merge three.npy -q
cmp three.jsonl one.jsonl || fail "three shards merged differ from one run (labels with logits)"
cmp three.npy one.npy || fail "three shards merged differ from one run (embeddings)"
cmp three.paths.txt one.paths.txt || fail "three shards' index differs from one run's"

# Cut off after 1, 5, 13 and 100 records (mid-batch), then resumed.
for keep in 1 5 13 100; do
  head -n $keep one.jsonl > cut.jsonl
  "$ZOO" apply model.yaml photos -o cut.jsonl --store-logits --resume "${common[@]}"
  cmp cut.jsonl one.jsonl || fail "cut after $keep records and resumed: the labels differ from one run"
  cp one.npy cut.npy
  head -n $keep one.paths.txt > cut.paths.txt  # resume keeps the rows the index names
  : > cut.errors.jsonl
  "$ZOO" embed model.yaml photos -o cut.npy --resume "${common[@]}" 2> /dev/null
  cmp cut.npy one.npy || fail "embeddings cut after $keep rows and resumed differ from one run"
done
jsonl_check one.jsonl "len(records) == $total and all('logits' in r['predictions'] for r in records)"
echo ok
