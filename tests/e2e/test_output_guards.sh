# What guards an output: a run never writes over one of its own inputs, two
# runs never write one output at once, and a model's NaN or infinite output
# is an error record, never a label or an embedding row.
source "$(dirname "$0")/lib.sh"

mkdir photos
cp "$PHOTOS/baboon.jpg" "$PHOTOS/WindowsLogo.jpg" "$PHOTOS/fruits.jpg" photos/

# -o (or --index) naming an input, by any name: refused before anything is written.
cp photos/baboon.jpg keep.jpg
ln -s photos/fruits.jpg photos_link.jpg
expect_exit 2 "$ZOO" apply model.yaml photos -o photos/baboon.jpg -q 2> err.txt
grep -q 'photos/baboon.jpg: this output file is also an input (photos/baboon.jpg)' err.txt || fail "$(cat err.txt)"
cmp -s photos/baboon.jpg keep.jpg || fail "zoo apply wrote over its input"
expect_exit 2 "$ZOO" apply model.yaml photos -o photos_link.jpg --format csv -q 2> err.txt
grep -q 'also an input (photos/fruits.jpg)' err.txt || fail "a link to an input was not refused: $(cat err.txt)"
ln photos/WindowsLogo.jpg hardlink.jpg
expect_exit 2 "$ZOO" embed model.yaml photos -o emb.npy --index hardlink.jpg -q 2> err.txt
grep -q 'hardlink.jpg: this output file is also an input (photos/WindowsLogo.jpg)' err.txt || fail "$(cat err.txt)"
cmp -s photos/WindowsLogo.jpg "$PHOTOS/WindowsLogo.jpg" || fail "zoo embed wrote over its input"
[[ ! -e emb.npy ]] || fail "zoo embed wrote emb.npy before refusing"

# Two runs of one output at once (a retried shard, --resume started twice):
# the second is refused while the first runs, and the first ends whole.
photos_twice many
sed 's/image_size: \[64, 64\]/image_size: [256, 256]/' model.yaml > slow.yaml
for args in "-o once.jsonl" "-o parts.jsonl --shard 1/2" "-o once.npy"; do
  cmd=apply
  [[ $args == *npy ]] && cmd=embed
  # shellcheck disable=SC2086
  "$ZOO" $cmd slow.yaml many $args --batch-size 1 --threads 1 --workers 1 -q 2>/dev/null &
  pid=$!
  out=${args#-o }
  out=${out%% *}
  [[ $args == *shard* ]] && out=parts.part-1-of-2.jsonl
  [[ $cmd == embed ]] && out=once.paths.txt
  for _ in $(seq 1 600); do
    [[ -s $out ]] && break
    sleep 0.05
  done
  kill -STOP $pid
  # shellcheck disable=SC2086
  expect_exit 1 "$ZOO" $cmd slow.yaml many $args --resume -q 2> err.txt
  grep -q 'another zoo run is writing this file' err.txt || fail "$cmd $args: $(cat err.txt)"
  kill -CONT $pid
  wait $pid || fail "$cmd $args: the first run failed"
done
total=$(ls many | wc -l)
jsonl_check once.jsonl "len(records) == $total and len({r['filepath'] for r in records}) == $total"
[[ $(count_lines once.paths.txt) == "$total" ]] || fail "once.paths.txt: $(count_lines once.paths.txt) lines, want $total"
[[ $(count_lines parts.part-1-of-2.jsonl) == $((total / 2)) ]] || fail "the part holds $(count_lines parts.part-1-of-2.jsonl) lines"

# An output records what made it (OUT.run.json; a shard's markers): --resume
# with another model, other weights or other settings is refused, naming
# what differs, and so is a merge of parts made by two models.
sed 's/image_size: \[64, 64\]/image_size: [48, 48]/' model.yaml > other.yaml   # same classes, same width
expect_exit 0 "$ZOO" apply model.yaml photos -o mixed.jsonl -q
cp mixed.jsonl mixed.before
jsonl_check mixed.jsonl.run.json "records[0]['producer']['model'].startswith('sha256:') and records[0]['producer']['settings']['top_k'] == 0"
expect_exit 2 "$ZOO" apply model.yaml photos -o mixed.jsonl --resume --top-k 2 -q 2> err.txt
grep -q 'mixed.jsonl: written by another model or other settings (top_k 0 there, 2 now)' err.txt || fail "$(cat err.txt)"
expect_exit 2 "$ZOO" apply other.yaml photos -o mixed.jsonl --resume -q 2> err.txt
grep -q 'written by another model or other settings (model sha256:.* there, sha256:.* now)' err.txt || fail "$(cat err.txt)"
cmp -s mixed.jsonl mixed.before || fail "a refused resume changed the output"
expect_exit 0 "$ZOO" apply model.yaml photos -o mixed.jsonl --resume -q   # the same model and settings: fine
/usr/bin/python3 -c "
import torch, torchvision
torch.manual_seed(1)
torch.save(torchvision.models.resnet18(num_classes=4).state_dict(), 'other.pth')"
{ cat model.yaml; echo 'weights: other.pth'; } > weights.yaml
expect_exit 0 "$ZOO" embed model.yaml photos -o mixed.npy -q
expect_exit 2 "$ZOO" embed weights.yaml photos -o mixed.npy --resume -q 2> err.txt
grep -q 'mixed.npy: written by another model or other settings (model ' err.txt || fail "other weights: $(cat err.txt)"
expect_exit 2 "$ZOO" embed model.yaml photos -o mixed.npy --resume --normalize -q 2> err.txt
grep -q '(normalize false there, true now)' err.txt || fail "$(cat err.txt)"

# Shards: a retried shard with another model is refused; parts of two
# models do not merge; a part changed after its done marker does not merge.
expect_exit 0 "$ZOO" apply model.yaml many -o sharded.jsonl --shard 0/2 -q
expect_exit 2 "$ZOO" apply other.yaml many -o sharded.jsonl --shard 0/2 -q 2> err.txt
grep -q 'sharded.part-0-of-2.jsonl.done: this shard was done with another model' err.txt || fail "$(cat err.txt)"
expect_exit 0 "$ZOO" apply other.yaml many -o sharded.jsonl --shard 1/2 -q
expect_exit 1 "$ZOO" merge sharded.jsonl 2> err.txt
grep -q 'sharded.part-1-of-2.jsonl.done: made by another model or other settings than sharded.part-0-of-2.jsonl.done (model ' err.txt ||
  fail "$(cat err.txt)"
rm sharded.part-1-of-2.jsonl*
expect_exit 0 "$ZOO" apply model.yaml many -o sharded.jsonl --shard 1/2 -q
sed -i '3d' sharded.part-1-of-2.jsonl
expect_exit 1 "$ZOO" merge sharded.jsonl 2> err.txt
grep -q 'sharded.part-1-of-2.jsonl: changed since its shard finished: .* bytes, sharded.part-1-of-2.jsonl.done pins' err.txt ||
  fail "$(cat err.txt)"
[[ ! -e sharded.jsonl ]] || fail "merge wrote an output from a changed part"

# Disk full (a file size limit makes writes fail as a full disk does): exit
# 1 with a message that says to resume; the files hold whole records, the
# .npy no row its index lacks; --resume completes them.
full_run() {  # full_run KiB ARGS...: zoo with writes failing past KiB
  local kib=$1
  shift
  ( trap '' XFSZ; ulimit -f "$kib"; exec "$ZOO" "$@" )
}
expect_exit 1 full_run 4 apply model.yaml many -o full.jsonl --batch-size 4 -q 2> err.txt
grep -q 'full.jsonl: write failed: File too large; the file holds every record before this batch, as whole lines: free space, then run the same command with --resume' err.txt ||
  fail "$(cat err.txt)"
[[ $(tail -c 1 full.jsonl | od -An -c | tr -d ' ') == '\n' ]] || fail "disk full left a torn line"
jsonl_check full.jsonl "0 < len(records) < $total"
expect_exit 0 "$ZOO" apply model.yaml many -o full.jsonl --batch-size 4 --resume -q
jsonl_check full.jsonl "len(records) == $total and len({r['filepath'] for r in records}) == $total"
for case in "16 --layer <fc" "1 --dtype float16"; do   # the .npy fills first; the index fills first
  rm -f full.npy full.paths.txt full.errors.jsonl full.npy.run.json
  # shellcheck disable=SC2086
  expect_exit 1 full_run ${case%% *} embed model.yaml many -o full.npy ${case#* } --batch-size 4 -q 2> err.txt
  grep -q 'write failed: File too large; the file holds every ' err.txt || fail "$case: $(cat err.txt)"
  /usr/bin/python3 -c "
import numpy as np
a = np.load('full.npy')
paths = open('full.paths.txt').read().splitlines()
assert 0 < a.shape[0] == len(paths) < $total, (a.shape, len(paths))" || fail "$case: the .npy and its index disagree"
  # shellcheck disable=SC2086
  expect_exit 0 "$ZOO" embed model.yaml many -o full.npy ${case#* } --batch-size 4 --resume -q
  [[ $(count_lines full.paths.txt) == "$total" ]] || fail "$case: resume did not complete the rows"
done

# A model whose output is NaN for some images (red ones) and infinite for
# none, then for all: error records naming what was wrong, exit 3.
/usr/bin/python3 - <<'PY'
import torch
class RedIsNaN(torch.nn.Module):
    def __init__(self, bad):
        super().__init__()
        self.bad = bad
    def forward(self, x):
        d = x[:, 0].mean(dim=[1, 2]) - x[:, 2].mean(dim=[1, 2])
        out = torch.stack([d, -d], dim=1)
        return torch.where((d > 0).unsqueeze(1), torch.full_like(out, self.bad), out)
for name, bad in (("nan", float("nan")), ("inf", float("inf"))):
    torch.jit.trace(RedIsNaN(bad), torch.rand(2, 3, 32, 32)).save(name + ".pt")
PY
for name in nan inf; do
  printf 'entrypoint: torchscript\nweights: %s.pt\nimage_size: [32, 32]\nclasses: [red, blue]\n' $name > $name.yaml
done
expect_exit 3 "$ZOO" apply nan.yaml photos -o nan.jsonl -q
nan_error="\"the model's output holds NaN (value 1 of 2)\""
jsonl_check nan.jsonl "[r['filepath'] for r in records] == ['photos/WindowsLogo.jpg', 'photos/baboon.jpg', 'photos/fruits.jpg']"
jsonl_check nan.jsonl "[r.get('error') for r in records] == [None, $nan_error, $nan_error]"
jsonl_check nan.jsonl "records[0]['predictions']['label'] == 'blue' and records[0]['predictions']['confidence'] > 0.5"
expect_exit 3 "$ZOO" apply inf.yaml photos --format csv -o inf.csv -q
grep -q "fruits.jpg,,,,the model's output holds an infinity (value 1 of 2)" inf.csv || fail "$(cat inf.csv)"
! grep -q null inf.csv || fail "a CSV row holds null: $(cat inf.csv)"
expect_exit 3 "$ZOO" embed nan.yaml photos -o nan.npy -q
[[ $(count_lines nan.paths.txt) == 1 ]] || fail "NaN rows were embedded: $(cat nan.paths.txt)"
jsonl_check nan.errors.jsonl "len(records) == 2 and all('NaN' in r['error'] for r in records)"
/usr/bin/python3 -c "import numpy; a = numpy.load('nan.npy'); assert a.shape == (1, 2) and numpy.isfinite(a).all(), a" ||
  fail "nan.npy holds a non-finite row"
echo ok
