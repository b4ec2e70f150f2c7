# zoo train on a small real subset of OpenCV's digits: outputs, events,
# accuracy above chance, zoo apply on the result, bit-identical reruns,
# resume after kill -9 giving the same weights, bad files, CSV lists, reruns
# after an early failure, one run per folder, errors.
source "$(dirname "$0")/lib.sh"

/usr/bin/python3 "$ZOO_SOURCE_DIR/scripts/make-digits.py" digits 2> /dev/null
# 30 training and 10 validation digits per class.
for d in 0 1 2 3 4 5 6 7 8 9; do
  mkdir -p small/train/$d small/val/$d
  ls digits/train/$d | head -30 | while read -r f; do cp "digits/train/$d/$f" small/train/$d/; done
  ls digits/test/$d | head -10 | while read -r f; do cp "digits/test/$d/$f" small/val/$d/; done
done
# The digits config without its augmentation: quicker to learn from 300 images.
sed -e '/^augment:/,$d' -e '/^deskew:/d' "$ZOO_SOURCE_DIR/configs/digits-cnn.yaml" > digits.yaml
# Bad files in the data are reported and skipped.
: > small/train/3/empty.png
echo "not an image" > small/train/5/text.png

common=(--data small/train --val small/val --epochs 6 --lr 0.003 --batch-size 16 --threads 1 --workers 2 --seed 7)
expect_exit 0 "$ZOO" train digits.yaml "${common[@]}" -o run1 --progress json 2> run1.err
for f in model.yaml model.pt labels.txt metrics.json events.jsonl train.json checkpoints/last/model.pt checkpoints/best/state.json; do
  [[ -e run1/$f ]] || fail "run1/$f missing"
done
grep -q '"status":"epoch"' run1.err || fail "--progress json did not stream events to stderr"
grep -q "small/train/3/empty.png" run1.err || fail "the empty file was not reported"
jsonl_check run1/events.jsonl "records[0] == {'status': 'start', 'epochs': 6} and records[-1]['status'] == 'success'"
jsonl_check run1/events.jsonl "[r['epoch'] for r in records if r['status'] == 'epoch'] == [1, 2, 3, 4, 5, 6] and all(r['epochs'] == 6 and set(r['data']) == {'loss', 'accuracy', 'val_loss', 'val_accuracy', 'lr', 'seconds'} for r in records if r['status'] == 'epoch')"
# Accuracy well above chance (10%) after 6 epochs on 300 digits.
jsonl_check run1/events.jsonl "max(r['data']['val_accuracy'] for r in records if r['status'] == 'epoch') > 0.5"
/usr/bin/python3 - <<'PY' || fail "metrics.json"
import json
m = json.load(open("run1/metrics.json"))
assert m["classes"] == [str(d) for d in range(10)], m["classes"]
assert m["train_samples"] == 302 and m["val_samples"] == 100, m
assert sorted(p.split("/small/")[-1] for p in m["bad_files"]) == ["train/3/empty.png", "train/5/text.png"], m["bad_files"]
cm = m["best"]["validation"]["confusion_matrix"]
assert len(cm) == 10 and all(len(row) == 10 for row in cm) and sum(map(sum, cm)) == 100, cm
assert len(m["best"]["validation"]["per_class"]) == 10
assert 0 < m["best"]["metrics"]["val_accuracy"] <= 1
PY
[[ $(cat run1/labels.txt | wc -l) == 10 ]] || fail "labels.txt should list 10 classes"

# The recipe in the config: its train: section sets what the flags leave
# out, and the run is the one the same options as flags give.
{ cat digits.yaml; printf 'train:\n  data: small/train\n  val: small/val\n  epochs: 2\n  batch_size: 16\n  lr: 0.003\n  threads: 1\n  seed: 7\n'; } > recipe.yaml
expect_exit 0 "$ZOO" train recipe.yaml --workers 2 -o recipe-run -q
expect_exit 0 "$ZOO" train digits.yaml --data small/train --val small/val --epochs 2 --batch-size 16 --lr 0.003 \
  --threads 1 --seed 7 --workers 2 -o flags-run -q
expect_exit 0 "$ZOO" train recipe.yaml --epochs 1 --lr 0.01 -o override-run -q
/usr/bin/python3 - <<'PY' || fail "the config's train: section"
import json, torch
recipe, flags, override = (json.load(open(f"{d}/train.json")) for d in ("recipe-run", "flags-run", "override-run"))
a, b = dict(recipe["options"]), dict(flags["options"])
assert a.pop("model").endswith("/recipe.yaml") and b.pop("model").endswith("/digits.yaml")
assert a == b, (a, b)
assert recipe["from_config"] == ["batch_size", "data", "epochs", "lr", "seed", "threads", "val"], recipe["from_config"]
assert flags["from_config"] == []
o = override["options"]
assert (o["epochs"], o["lr"], o["batch_size"]) == (1, 0.01, 16), o
assert "epochs" not in override["from_config"] and "lr" not in override["from_config"]
wa, wb = (dict(torch.jit.load(f"{d}/model.pt").state_dict()) for d in ("recipe-run", "flags-run"))
assert all(torch.equal(wa[k], wb[k]) for k in wa), "the recipe gave other weights than its flags"
PY
printf 'train:\n  epoch: 3\n' | cat digits.yaml - > bad-recipe.yaml
expect_exit 2 "$ZOO" train bad-recipe.yaml --data small/train -o bad-recipe-run 2> err.txt
grep -q 'bad-recipe.yaml:[0-9]*:3: unknown key "train.epoch"; did you mean "epochs"' err.txt || { cat err.txt; fail "a misspelt recipe key"; }
[[ ! -e bad-recipe-run ]] || fail "a bad recipe left an output folder"
expect_exit 2 "$ZOO" train digits.yaml -o no-data-run 2> err.txt
grep -q "needs --data DIR|FILE (or data: in the train: section" err.txt || { cat err.txt; fail "no --data"; }

# The output folder is a model zoo apply takes as is.
expect_exit 0 "$ZOO" apply run1 small/val -q -o val.jsonl
jsonl_check val.jsonl "len(records) == 100 and sum(r['predictions']['label'] == r['filepath'].split('/')[-2] for r in records) > 50"

# zoo embed takes it too: by default the head's input (128 features for
# small_cnn with 3 stages of width 32), one row per digit.
grep -q '^embeddings_layer: "<classifier.1"$' run1/model.yaml || { cat run1/model.yaml; fail "model.yaml names no embeddings_layer"; }
expect_exit 0 "$ZOO" embed run1 small/val -q -o val.npy
/usr/bin/python3 -c "import numpy as np; a = np.load('val.npy'); assert a.shape == (100, 128), a.shape" || fail "embeddings shape"

# Same seed, data, options and threads: bit-identical weights.
expect_exit 0 "$ZOO" train digits.yaml "${common[@]}" -o run2 -q
/usr/bin/python3 - run1/model.pt run2/model.pt <<'PY' || fail "two identical runs gave different weights"
import sys, torch
a, b = (dict(torch.jit.load(p).state_dict()) for p in sys.argv[1:])
assert a.keys() == b.keys()
bad = [k for k in a if not torch.equal(a[k], b[k])]
assert not bad, bad
PY

# --seed also draws the initial weights: at a learning rate too small to
# move them, seeds 7 and 8 start (and end) from different weights.
expect_exit 0 "$ZOO" train digits.yaml --data small/train --epochs 1 --lr 1e-7 --threads 1 --seed 7 -o init7 -q
expect_exit 0 "$ZOO" train digits.yaml --data small/train --epochs 1 --lr 1e-7 --threads 1 --seed 8 -o init8 -q
/usr/bin/python3 - init7/model.pt init8/model.pt <<'PY' || fail "--seed did not change the initial weights"
import sys, torch
a, b = (dict(torch.jit.load(p).state_dict()) for p in sys.argv[1:])
diff = (a["features.0.weight"] - b["features.0.weight"]).abs().max().item()
assert diff > 0.05, f"first conv weights differ by only {diff}"
PY

# kill -9 mid-run, then --resume: same weights as the uninterrupted run.
"$ZOO" train digits.yaml "${common[@]}" -o run3 -q &
pid=$!
for _ in $(seq 1 1200); do
  [[ -e run3/checkpoints/last/state.json ]] && grep -q '"epochs_done":2' run3/checkpoints/last/state.json 2>/dev/null && break
  sleep 0.05
done
kill -9 $pid
wait $pid 2>/dev/null || true
[[ -e run3/checkpoints/last/state.json ]] || fail "no checkpoint before the kill"
[[ ! -e run3/model.yaml ]] || fail "the run finished before the kill; the test did not test resume"
# Whatever point the kill hit, also act out the two worst ones: killed after
# the checkpoint but before its epoch's event, and in the middle of writing
# an event. The resume must record the lost epoch and drop the torn line.
/usr/bin/python3 - run3/events.jsonl <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
kept = [l for l in lines if json.loads(l).get("epoch", 0) < 2]
open(sys.argv[1], "w").write("".join(l + "\n" for l in kept) + '{"status":"epo')
PY
expect_exit 0 "$ZOO" train --resume run3 -q
/usr/bin/python3 - run1/model.pt run3/model.pt <<'PY' || fail "resumed run differs from the uninterrupted one"
import sys, torch
a, b = (dict(torch.jit.load(p).state_dict()) for p in sys.argv[1:])
bad = [k for k in a if not torch.equal(a[k], b[k])]
assert not bad, bad
PY
jsonl_check run3/events.jsonl "[r['epoch'] for r in records if r['status'] == 'epoch'] == [1, 2, 3, 4, 5, 6] and records[-1]['status'] == 'success'"
jsonl_check run3/events.jsonl "(lambda got: got[:1] == [2] and got == list(range(2, 2 + len(got))))([r['epoch'] for r in records if r.get('recovered')])"

# Killed after the last epoch moved `last` but before it moved `best`:
# `best` still names an older epoch (here one holding other weights), and
# nothing is written yet. The resume must take the best epoch the state
# records, not the stale link.
cp -r run1 stale
rm stale/model.pt stale/model.yaml
best=$(readlink stale/checkpoints/best)
cp -r "stale/checkpoints/$best" stale/checkpoints/epoch-0001
cp init7/model.pt stale/checkpoints/epoch-0001/model.pt
ln -sfn epoch-0001 stale/checkpoints/best
expect_exit 0 "$ZOO" train --resume stale -q
[[ $(readlink stale/checkpoints/best) == "$best" ]] || fail "best still points at $(readlink stale/checkpoints/best)"
cmp -s run1/model.pt stale/model.pt || fail "the resumed run wrote other weights than the best epoch's"

# A CSV list with a validation split instead of folders.
(cd small/train && for d in 0 1 2; do for f in $d/*; do echo "$f,digit$d"; done; done) > small/train/list.csv
expect_exit 0 "$ZOO" train digits.yaml --data small/train/list.csv --val-split 0.2 --epochs 1 --threads 1 -o run4 -q
[[ $(cat run4/labels.txt) == $'digit0\ndigit1\ndigit2' ]] || fail "CSV labels: $(cat run4/labels.txt)"

# A run that fails before its first epoch (here a bad CSV line) leaves
# nothing to keep: once the list is fixed, the same command works.
cp small/train/list.csv small/train/fixed.csv
echo "0/missing-label.png" >> small/train/list.csv
expect_exit 1 "$ZOO" train digits.yaml --data small/train/list.csv --epochs 1 --threads 1 -o run8 -q 2> run8.err
grep -q "list.csv:91: expected \`filepath,label\`" run8.err || { cat run8.err; fail "the bad CSV line was not named"; }
jsonl_check run8/events.jsonl "records[-1]['status'] == 'error' and 'list.csv:91' in records[-1]['message']"
expect_exit 0 "$ZOO" train digits.yaml --data small/train/fixed.csv --epochs 1 --threads 1 -o run8 2> run8.err
grep -q "starting over" run8.err || { cat run8.err; fail "the rerun did not say it starts over"; }
jsonl_check run8/events.jsonl "[r['status'] for r in records] == ['start', 'epoch', 'success']"

# One run at a time in an output folder: a second one (new or --resume)
# is refused while the first trains, and the first is not disturbed.
"$ZOO" train digits.yaml --data small/train --epochs 500 --threads 1 -o busy -q &
pid=$!
for _ in $(seq 1 600); do grep -q '"status":"start"' busy/events.jsonl 2>/dev/null && break; sleep 0.05; done
expect_exit 1 "$ZOO" train --resume busy -q 2> busy.err
grep -q "busy: another zoo train is running in this folder" busy.err || { cat busy.err; fail "no lock message"; }
expect_exit 1 "$ZOO" train digits.yaml --data small/train --epochs 1 -o busy -q
kill -0 $pid || fail "the first run died"
kill -INT $pid
expect_exit 130 wait $pid
jsonl_check busy/events.jsonl "records[-1]['status'] == 'error' and 'interrupted' in records[-1]['message']"

# Fine-tuning: --freeze trains only the head; start from run1's weights.
sed "s|^name: .*|name: finetune|" digits.yaml > finetune.yaml
echo "weights: run1/model.pt" >> finetune.yaml
expect_exit 0 "$ZOO" train finetune.yaml --data small/train --val small/val --epochs 1 --freeze --threads 1 -o run5 2> run5.err
grep -q "training 2 of" run5.err || { cat run5.err; fail "--freeze did not restrict training to the head"; }
/usr/bin/python3 - run1/model.pt run5/model.pt <<'PY' || fail "--freeze changed frozen weights"
import sys, torch
a, b = (dict(torch.jit.load(p).state_dict()) for p in sys.argv[1:])
assert torch.equal(a["features.0.weight"], b["features.0.weight"])
head = [k for k in a if k.endswith(".weight") and a[k].dim() == 2][-1]  # the last Linear
assert not torch.equal(a[head], b[head]), head
PY

# Errors: exit 2 with a message naming the problem.
expect_exit 2 "$ZOO" train digits.yaml "${common[@]}" -o run1 -q            # OUTDIR holds a run
rm -r run4/checkpoints
expect_exit 2 "$ZOO" train digits.yaml "${common[@]}" -o run4 -q            # a finished run, checkpoints deleted
expect_exit 2 "$ZOO" train digits.yaml "${common[@]}" --freeze-until featurs -o run6 -q
printf 'entrypoint: torchscript\nweights: run1/model.pt\n' > ts.yaml
expect_exit 2 "$ZOO" train ts.yaml "${common[@]}" -o run7 -q
expect_exit 2 "$ZOO" train --resume nowhere -q
echo ok
