# zoo embed end to end: the .npy and its index after kill -9 and --resume
# (torn rows and lines, npy and index of different lengths), Ctrl-C, bad
# input files, --layer errors, float16, --normalize; and zoo inspect's text
# and JSON.
source "$(dirname "$0")/lib.sh"

# npy_check NPY INDEX PYTHON_EXPR: evaluates EXPR with `a` (the array numpy
# loads) and `paths` (the index lines); fails unless it is true.
npy_check() {
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY' || fail "check failed on $1 / $2: $3"
import sys
import numpy as np
a = np.load(sys.argv[1])
paths = [line.rstrip("\n") for line in open(sys.argv[2])] if sys.argv[2] != "-" else []
ok = eval(sys.argv[3])
if not ok:
    print("shape", a.shape, a.dtype, "paths", len(paths), paths[:5], file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}

photos_twice photos
total=$(ls photos | wc -l)

# A clean run: one row per photo, in order; the index lists them.
expect_exit 0 "$ZOO" embed model.yaml photos -o clean.npy --layer '<fc' -q
[[ -f clean.paths.txt && -f clean.errors.jsonl ]] || fail "index or error log missing"
[[ ! -s clean.errors.jsonl ]] || fail "error log not empty"
npy_check clean.npy clean.paths.txt "a.shape == ($total, 512) and a.dtype == np.float32 and paths == sorted(paths) and len(set(paths)) == $total"
# The header is 128 bytes, padded, aligned to 64.
head -c 128 clean.npy | tail -c 1 | od -An -c | grep -q '\\n' || fail "header is not 128 bytes ending in a newline"

# kill -9 mid-run, then --resume: every input once, rows == index lines.
sed 's/image_size: \[64, 64\]/image_size: [320, 320]/' model.yaml > big.yaml
"$ZOO" embed big.yaml photos -o out.npy --layer '<fc' --batch-size 2 --threads 1 --workers 1 -q &
pid=$!
for _ in $(seq 1 600); do
  [[ -s out.paths.txt && $(count_lines out.paths.txt) -ge 6 ]] && break
  sleep 0.05
done
kill -9 $pid
wait $pid 2>/dev/null || true
done_before=$(count_lines out.paths.txt)
(( done_before > 0 && done_before < total )) || fail "kill -9 was not mid-run ($done_before of $total done)"
# What a crash can leave: a partial row after the last complete one, and a
# torn index line.
printf 'partial-row-bytes' >> out.npy
printf 'photos/torn' >> out.paths.txt
expect_exit 0 "$ZOO" embed big.yaml photos -o out.npy --layer '<fc' --resume --batch-size 4 2> err.txt
grep -q "partial last row" err.txt || { cat err.txt; fail "resume did not report the partial row"; }
grep -q "inputs already done" err.txt || { cat err.txt; fail "resume did not report the inputs already done"; }
npy_check out.npy out.paths.txt "a.shape == ($total, 512) and len(paths) == $total and len(set(paths)) == $total and paths == sorted(paths)"

# The resumed rows equal a fresh run's (same image, same row).
expect_exit 0 "$ZOO" embed big.yaml photos -o fresh.npy --layer '<fc' -q
/usr/bin/python3 - <<'PY' || fail "resumed rows differ from a fresh run's"
import numpy as np
a, b = np.load("out.npy"), np.load("fresh.npy")
pa = open("out.paths.txt").read().split("\n")
pb = open("fresh.paths.txt").read().split("\n")
assert pa == pb, "index files differ"
diff = float(np.abs(a - b).max())
print("resumed vs fresh: max diff", diff)
assert diff < 1e-4
PY

# Rows without index lines (a crash between the two writes) are dropped and
# redone; index lines without rows too.
head -n -3 out.paths.txt > cut.txt && mv cut.txt out.paths.txt
expect_exit 0 "$ZOO" embed big.yaml photos -o out.npy --layer '<fc' --resume 2> err.txt
grep -q "kept the first $((total - 3))" err.txt || { cat err.txt; fail "resume did not report the longer npy"; }
npy_check out.npy out.paths.txt "a.shape == ($total, 512) and len(paths) == $total and len(set(paths)) == $total"
size=$(stat -c %s out.npy)
truncate -s $((size - 2 * 512 * 4)) out.npy
expect_exit 0 "$ZOO" embed big.yaml photos -o out.npy --layer '<fc' --resume 2> err.txt
grep -q "kept the first $((total - 2))" err.txt || { cat err.txt; fail "resume did not report the longer index"; }
npy_check out.npy out.paths.txt "a.shape == ($total, 512) and len(paths) == $total and len(set(paths)) == $total"

# Resume of a finished run does nothing and keeps the files.
cp out.npy before.npy
expect_exit 0 "$ZOO" embed big.yaml photos -o out.npy --layer '<fc' --resume -q
cmp -s out.npy before.npy || fail "resume of a finished run changed the npy"
# Another dtype or another width than the file's is refused.
expect_exit 2 "$ZOO" embed big.yaml photos -o out.npy --layer '<fc' --resume --dtype float16 -q
mkdir more && cp "$PHOTOS/baboon.jpg" more/
expect_exit 2 "$ZOO" embed big.yaml photos more -o out.npy --layer layer3 --resume -q 2> err.txt
grep -q "out.npy: written by another model or other settings (layer <fc there, layer3 now)" err.txt ||
  fail "$(cat err.txt)"
# Without a run record (an output of an older zoo), the rows' width tells.
mv out.npy.run.json out.record
expect_exit 2 "$ZOO" embed big.yaml photos more -o out.npy --layer layer3 --resume -q 2> err.txt
grep -q "holds rows of 512 values but this run gives 256" err.txt || { cat err.txt; fail "width mismatch not explained"; }
[[ ! -e out.npy.run.json ]] || fail "a resume without a run record wrote one"
mv out.record out.npy.run.json

# Ctrl-C: exit 130, valid files, --resume completes them.
"$ZOO" embed big.yaml photos -o int.npy --batch-size 2 --threads 1 --workers 1 -q 2> int_err.txt &
pid=$!
for _ in $(seq 1 600); do
  [[ -s int.paths.txt ]] && break
  sleep 0.05
done
kill -INT $pid
code=0
wait $pid || code=$?
[[ $code == 130 ]] || fail "SIGINT: expected exit 130, got $code"
grep -q "interrupted" int_err.txt || fail "SIGINT: no 'interrupted' message"
npy_check int.npy int.paths.txt "0 < a.shape[0] < $total and a.shape[0] == len(paths)"
expect_exit 0 "$ZOO" embed big.yaml photos -o int.npy --resume -q
npy_check int.npy int.paths.txt "a.shape == ($total, 4) and len(paths) == $total"

# Bad files are not rows: they are warnings and error records; exit 3.
mkdir mixed
cp "$PHOTOS/baboon.jpg" "$PHOTOS/fruits.jpg" mixed/
printf 'not an image' > mixed/broken.jpg
head -c 3000 "$PHOTOS/messi5.jpg" > mixed/truncated.jpg
expect_exit 3 "$ZOO" embed model.yaml mixed mixed/missing.jpg -o mixed.npy --layer layer4 2> err.txt
grep -q "zoo: warning: mixed/broken.jpg" err.txt || { cat err.txt; fail "no warning for broken.jpg"; }
npy_check mixed.npy mixed.paths.txt "a.shape == (2, 512) and paths == ['mixed/baboon.jpg', 'mixed/fruits.jpg']"
jsonl_check mixed.errors.jsonl "sorted(r['filepath'] for r in records) == ['mixed/broken.jpg', 'mixed/missing.jpg', 'mixed/truncated.jpg'] and all(r['error'] for r in records)"
# A resume keeps them failed (exit 3) and does not retry them.
expect_exit 3 "$ZOO" embed model.yaml mixed mixed/missing.jpg -o mixed.npy --layer layer4 --resume -q
jsonl_check mixed.errors.jsonl "len(records) == 3"
npy_check mixed.npy mixed.paths.txt "a.shape == (2, 512) and len(paths) == 2"

# --layer errors: exit 2 naming the layer and listing the model's layers.
expect_exit 2 "$ZOO" embed model.yaml photos -o bad.npy --layer '<fcc' 2> err.txt
grep -q 'unknown layer "fcc"; did you mean "fc"?' err.txt || { cat err.txt; fail "no suggestion for fcc"; }
grep -q "layer4.1.conv2" err.txt || { cat err.txt; fail "the layers are not listed"; }
expect_exit 2 "$ZOO" embed model.yaml photos -o bad.npy --layer '<' 2> err.txt
grep -q "empty layer name" err.txt || { cat err.txt; fail "empty layer not explained"; }
printf 'embeddings_layer: "<head"\n' | cat model.yaml - > layered.yaml
expect_exit 2 "$ZOO" embed layered.yaml photos -o bad.npy 2> err.txt
grep -q 'layered.yaml: embeddings_layer: unknown layer "head"' err.txt || { cat err.txt; fail "config layer error does not name the file"; }
# The config's layer is used unless --layer says otherwise ('' = the output).
printf 'embeddings_layer: layer2\n' | cat model.yaml - > layer2.yaml
expect_exit 0 "$ZOO" embed layer2.yaml "$PHOTOS/baboon.jpg" -o l2.npy -q
npy_check l2.npy l2.paths.txt "a.shape == (1, 128)"
expect_exit 0 "$ZOO" embed layer2.yaml "$PHOTOS/baboon.jpg" -o out4.npy --layer '' -q
npy_check out4.npy out4.paths.txt "a.shape == (1, 4)"
expect_exit 0 "$ZOO" embed layer2.yaml "$PHOTOS/baboon.jpg" -o flat.npy --pool flatten -q
npy_check flat.npy flat.paths.txt "a.shape == (1, 128 * 8 * 8)"
# Usage errors.
expect_exit 2 "$ZOO" embed model.yaml photos
expect_exit 2 "$ZOO" embed model.yaml photos -o x.npy --pool median
expect_exit 2 "$ZOO" embed model.yaml -o x.npy

# float16 and --normalize, with --index elsewhere.
expect_exit 0 "$ZOO" embed model.yaml photos -o half.npy --layer '<fc' --dtype float16 --normalize --index half-index.txt -q
[[ ! -e half.paths.txt ]] || fail "--index was not used"
npy_check half.npy half-index.txt "a.dtype == np.float16 and a.shape == ($total, 512) and np.allclose(np.linalg.norm(a.astype(np.float64), axis=1), 1, atol=2e-3)"
/usr/bin/python3 - <<'PY' || fail "float16 rows are not the float32 rows rounded"
import numpy as np
a, b = np.load("half.npy"), np.load("clean.npy")
b = b / np.linalg.norm(b, axis=1, keepdims=True)
assert np.array_equal(a, b.astype(np.float16)) or np.abs(a.astype(np.float64) - b).max() < 2 ** -11, np.abs(a - b).max()
PY

# zoo inspect: the layer tree with shapes and the contract, as text and JSON.
expect_exit 0 "$ZOO" inspect model.yaml > inspect.txt 2> err.txt
for want in "entrypoint    resnet18" "layer4.1.conv2" "BasicBlock" "[1, 512, 2, 2]" "contract:" "input   x        float32  [-1, 3, 64, 64]" "output  output   float32  [-1, 4]" 'labels        4: "cat", "dog", "bird", "fish"'; do
  grep -qF -- "$want" inspect.txt || { cat inspect.txt; fail "inspect text lacks: $want"; }
done
expect_exit 0 "$ZOO" inspect layered.yaml --json > inspect.json
/usr/bin/python3 - <<'PY' || fail "inspect --json is wrong"
import json
r = json.load(open("inspect.json"))
names = [l["name"] for l in r["layers"]]
assert names[:5] == ["conv1", "bn1", "relu", "maxpool", "layer1"], names[:5]  # torchvision's named_modules()
layers = {l["name"]: l for l in r["layers"]}
assert layers["fc"]["input_shape"] == [1, 512] and layers["fc"]["output_shape"] == [1, 4], layers["fc"]
assert layers["layer4"]["output_shape"] == [1, 512, 2, 2] and layers["layer4"]["kind"] == "Sequential"
assert layers["layer1.0.conv1"]["kind"] == "Conv2d" and layers["layer1.0.conv1"]["depth"] == 2
assert layers["fc"]["parameters"] == 512 * 4 + 4
assert r["contract"] == {"inputs": [{"name": "x", "dtype": "float32", "shape": [-1, 3, 64, 64]}],
                         "outputs": [{"name": "output", "dtype": "float32", "shape": [-1, 4]}]}, r["contract"]
assert r["weights"] is None and r["labels"]["count"] == 4
assert r["embeddings"] == {"layer": "<head", "error": 'unknown layer "head"'}, r["embeddings"]
PY
# With a weights file: its format and sha256.
/usr/bin/python3 - <<'PY'
import torch, torchvision
torch.manual_seed(0)
torch.jit.script(torchvision.models.resnet18(num_classes=4).eval()).save("scripted.pt")
PY
printf 'entrypoint: torchscript\nweights: scripted.pt\nimage_size: [64, 64]\nembeddings_layer: "<fc"\n' > scripted.yaml
expect_exit 0 "$ZOO" inspect scripted.yaml --json > scripted.json
want_sha=$(sha256sum scripted.pt | cut -d' ' -f1)
/usr/bin/python3 - "$want_sha" <<'PY' || fail "inspect of a TorchScript file is wrong"
import json, sys
r = json.load(open("scripted.json"))
assert r["weights"]["format"] == "torchscript" and r["weights"]["sha256"] == sys.argv[1], r["weights"]
assert r["embeddings"] == {"layer": "<fc", "shape": [-1, 512], "pooled_dims": 512}, r["embeddings"]
layers = {l["name"]: l for l in r["layers"]}
assert layers["avgpool"]["kind"] == "AdaptiveAvgPool2d" and layers["avgpool"]["output_shape"] == [1, 512, 1, 1]
PY
expect_exit 2 "$ZOO" inspect missing.yaml
echo ok
