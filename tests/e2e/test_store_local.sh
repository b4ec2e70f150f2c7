# The local model store: zoo save / ls / load / upload, references as MODEL,
# zoo train --save, identical digests for identical content, concurrent
# saves, kill -9 during a save, a tampered blob, bad names and references.
source "$(dirname "$0")/lib.sh"

export ZOO_STORE="$WORK/store" ZOO_CACHE_DIR="$WORK/cache"
digest_of() { /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["digest"])'; }

# A real model with real weights: resnet18 (random, fixed seed) as a state dict.
/usr/bin/python3 - <<'PY'
import torch, torchvision
torch.manual_seed(0)
m = torchvision.models.resnet18(num_classes=4).eval()
torch.save(m.state_dict(), "resnet18.pth")
torch.jit.script(m).save("resnet18.torchscript.pt")
PY
cat >> model.yaml <<'YAML'
weights: resnet18.pth
YAML
cp "$PHOTOS/baboon.jpg" "$PHOTOS/fruits.jpg" "$PHOTOS/messi5.jpg" .
mkdir photos && cp baboon.jpg fruits.jpg messi5.jpg photos/

# save: versions 1 and 2, NAME:VERSION and the digest on stdout.
"$ZOO" save model.yaml --name pets --meta author=ana --meta 'hyper={"lr":0.1}' > save1.out 2> save1.err
grep -qE '^pets:1 sha256:[0-9a-f]{64}$' save1.out || fail "save output: $(cat save1.out)"
echo '{"dataset": "photos", "metrics": {"accuracy": 0.5}}' > meta.json
"$ZOO" save model.yaml --name pets --meta-file meta.json -q > save2.out
grep -q '^pets:2 ' save2.out || fail "second save is not version 2: $(cat save2.out)"
[[ -f store/oci-layout && -f store/index.json ]] || fail "the store is not an OCI image layout"
# The dry run's warnings name the user's config, not its staged copy.
printf 'entrypoint: resnet18\nentrypoint_args: {num_classes: 4}\nimage_size: [64, 64]\n' > noweights.yaml
"$ZOO" save noweights.yaml --name noweights > /dev/null 2> noweights.err
grep -q '^zoo: warning: noweights.yaml: no weights given' noweights.err || fail "$(cat noweights.err)"
! grep -q '\.zoo-' noweights.err || fail "a warning names the staged copy: $(cat noweights.err)"
# OCI tools read it: skopeo finds each version, and NAME alone is the latest
# (as the tag latest is in a registry).
for ref in pets:1 pets:2 pets; do
  digest=sha256:$(skopeo inspect --raw "oci:store:$ref" | sha256sum | cut -d' ' -f1)
  want=$(cut -d' ' -f2 < save$([[ $ref == pets:1 ]] && echo 1 || echo 2).out)
  [[ $digest == "$want" ]] || fail "skopeo oci:store:$ref gives $digest, want $want"
done

"$ZOO" ls > ls.out
grep -qE '^pets +1 ' ls.out && grep -qE '^pets +2 ' ls.out || fail "zoo ls: $(cat ls.out)"
"$ZOO" ls pets --json > ls.json
/usr/bin/python3 - <<'PY' || fail "zoo ls --json: $(cat ls.json)"
import json
v = json.load(open("ls.json"))
assert [x["version"] for x in v] == [1, 2], v
m1, m2 = v[0]["metadata"], v[1]["metadata"]
assert m1["author"] == "ana" and m1["hyper"] == {"lr": 0.1}, m1
assert m1["framework"]["name"] == "torch" and m1["framework"]["version"].startswith("1.13"), m1
assert m2["dataset"] == "photos" and m2["metrics"] == {"accuracy": 0.5}, m2
assert all(x["size"] > 40_000_000 for x in v), v  # the weights are in it
PY
# Same weights: one blob, stored once.
[[ $(find store/blobs/sha256 -size +40M | wc -l) == 1 ]] || fail "the weights blob was stored twice"

# load: a runnable folder with the card; every file matches the manifest.
"$ZOO" load pets:1 -o loaded > load.out
for f in model.yaml resnet18.pth labels.txt card.json; do [[ -f loaded/$f ]] || fail "loaded/$f missing"; done
cmp loaded/resnet18.pth resnet18.pth || fail "loaded weights differ"
/usr/bin/python3 - <<'PY' || fail "card.json"
import json
card = json.load(open("loaded/card.json"))
assert card["name"] == "pets" and card["version"] == 1, card
assert card["labels"] == ["cat", "dog", "bird", "fish"], card["labels"]
assert card["contract"]["inputs"][0]["shape"] == [-1, 3, 64, 64], card["contract"]
assert card["contract"]["outputs"][0]["shape"] == [-1, 4], card["contract"]
assert card["config"]["entrypoint"] == "resnet18", card["config"]
PY
expect_exit 2 "$ZOO" load pets:1 -o loaded 2> load-again.err
grep -q "never overwrites" load-again.err || fail "loading into a full folder: $(cat load-again.err)"

# A reference works wherever a config does, with the same labels.
"$ZOO" apply model.yaml photos -q > by-config.jsonl
"$ZOO" apply pets:1 photos -q > by-ref.jsonl
"$ZOO" apply pets photos -q > by-latest.jsonl
"$ZOO" apply loaded photos -q > by-folder.jsonl
cmp by-config.jsonl by-ref.jsonl && cmp by-config.jsonl by-latest.jsonl && cmp by-config.jsonl by-folder.jsonl ||
  fail "labels differ between the config and its store version"
d1=$(cut -d' ' -f2 save1.out)
"$ZOO" apply "pets@$d1" photos -q > by-digest.jsonl
cmp by-config.jsonl by-digest.jsonl || fail "NAME@sha256 reference"
"$ZOO" inspect pets:2 --json > inspect.json || fail "inspect on a reference"
"$ZOO" embed pets:1 photos -o emb.npy -q || fail "embed on a reference"

# Unknown names and versions, bad names: clear errors.
expect_exit 1 "$ZOO" load pest -o x 2> e1.err
grep -q 'no model named "pest"' e1.err && grep -q 'did you mean "pets"' e1.err || fail "unknown name: $(cat e1.err)"
expect_exit 1 "$ZOO" load pets:9 -o x 2> e2.err
grep -q "versions 1 to 2" e2.err || fail "unknown version: $(cat e2.err)"
for bad in 'Pets' '../x' 'a..b' '-x' 'x/y'; do
  expect_exit 2 "$ZOO" save model.yaml --name "$bad" 2> /dev/null
done
expect_exit 2 "$ZOO" load 'pets:0' -o x 2> /dev/null
expect_exit 2 "$ZOO" load 'pets@sha256:12' -o x 2> /dev/null
[[ ! -e x ]] || fail "a failed load left x/"

# Identical content gives identical digests (with a fixed clock).
SOURCE_DATE_EPOCH=1700000000 ZOO_STORE="$WORK/a" "$ZOO" save model.yaml --name same -q > a.out
SOURCE_DATE_EPOCH=1700000000 ZOO_STORE="$WORK/b" "$ZOO" save model.yaml --name same -q > b.out
cmp a.out b.out || fail "identical content, different digests: $(cat a.out b.out)"

# A reference is copied between stores with its version and digest.
ZOO_STORE="$WORK/copy" "$ZOO" save pets:2 --from "$WORK/store" -q > copy.out
[[ $(cat copy.out) == $(cat save2.out) ]] || fail "copy changed the digest: $(cat copy.out) vs $(cat save2.out)"

# upload: a TorchScript file alone; a state dict with a config; junk refused.
"$ZOO" upload resnet18.torchscript.pt --name ts -q > up1.out 2> up1.err
grep -q "no --config" up1.err || fail "upload without config did not warn"
"$ZOO" ls ts --json | /usr/bin/python3 -c '
import json, sys; v = json.load(sys.stdin); assert v[0]["metadata"]["uploaded_files"] == ["resnet18.torchscript.pt"], v'
"$ZOO" load ts -o ts-loaded -q > /dev/null
/usr/bin/python3 -c '
import json; c = json.load(open("ts-loaded/card.json"))["contract"]
assert c["inputs"][0]["shape"] == [-1, 3, 224, 224] and c["outputs"][0]["shape"] == [-1, 4], c' || fail "upload contract"
printf 'cat\ndog\nbird\nfish\n' > labels.txt
"$ZOO" upload resnet18.pth labels.txt --config model.yaml --name sd -q > /dev/null || fail "upload with --config"
head -c 5000 resnet18.pth > truncated.pth
before=$(find store/blobs -type f | wc -l)
expect_exit 1 "$ZOO" upload truncated.pth --config model.yaml --name broken 2> up3.err
grep -q "nothing was stored" up3.err && grep -q "truncated.pth" up3.err || fail "junk upload: $(cat up3.err)"
expect_exit 1 "$ZOO" load broken -o x 2> /dev/null
[[ $(find store/blobs -type f | wc -l) == "$before" ]] || fail "a refused upload stored blobs"

# An OpenCV detector: no weights; a cascade file beside its config travels with it.
mkdir cv && cp /usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml cv/my-faces.xml
sed 's/cascade: haarcascade_frontalface_default.xml/cascade: my-faces.xml/' "$ZOO_SOURCE_DIR/configs/opencv-haar-face.yaml" > cv/faces.yaml
"$ZOO" save cv/faces.yaml --name faces -q > /dev/null
"$ZOO" load faces -o faces-loaded -q > /dev/null
[[ -f faces-loaded/my-faces.xml ]] || fail "the cascade file was not packaged: $(ls faces-loaded)"
rm -rf cv
"$ZOO" apply faces messi5.jpg -q > faces-by-ref.jsonl
"$ZOO" apply "$ZOO_SOURCE_DIR/configs/opencv-haar-face.yaml" messi5.jpg -q > faces-by-config.jsonl
cmp faces-by-ref.jsonl faces-by-config.jsonl || fail "a stored OpenCV detector gives other boxes"
jsonl_check faces-by-ref.jsonl "len(records[0]['predictions']['detections']) == 1"

# zoo train --save: the trained folder becomes a version with its metrics.
/usr/bin/python3 "$ZOO_SOURCE_DIR/scripts/make-digits.py" digits 2> /dev/null
mkdir -p small
for d in 0 1 2 3 4 5 6 7 8 9; do
  mkdir -p small/$d && ls digits/train/$d | head -8 | while read -r f; do cp "digits/train/$d/$f" small/$d/; done
done
sed -e '/^augment:/,$d' "$ZOO_SOURCE_DIR/configs/digits-cnn.yaml" > digits.yaml
"$ZOO" train digits.yaml --data small --val-split 0.25 --epochs 1 --threads 1 -o trained -q --save digits > train.out
grep -q '^digits:1 sha256:' train.out || fail "train --save: $(cat train.out)"
"$ZOO" ls digits --json | /usr/bin/python3 -c '
import json, sys; m = json.load(sys.stdin)[0]["metadata"]
assert m["seed"] == 0 and m["dataset"].endswith("/small") and "best" in m["metrics"] and "options" in m["training"], m' ||
  fail "train --save metadata"

# Concurrent saves: every one gets its own version, none is lost.
pids=()
for i in 1 2 3 4 5 6; do "$ZOO" save digits.yaml --name race -q > race.$i 2> race.$i.err & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent save failed: $(cat race.*.err)"; done
[[ $(cat race.[1-6] | cut -d' ' -f1 | sort -u | wc -l) == 6 ]] || fail "concurrent saves: $(cat race.[1-6])"
[[ $("$ZOO" ls race --json | /usr/bin/python3 -c 'import json,sys; print(sorted(v["version"] for v in json.load(sys.stdin)))') == "[1, 2, 3, 4, 5, 6]" ]] ||
  fail "concurrent saves lost a version"

# kill -9 at several moments of a save: the store still lists and loads.
for delay in 0.05 0.2 0.4 0.7 1.0; do
  "$ZOO" save model.yaml --name killed -q > /dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
  "$ZOO" ls > /dev/null || fail "zoo ls after kill -9 at ${delay}s"
  "$ZOO" ls killed --json 2> /dev/null | /usr/bin/python3 -c 'import json,sys; [print(v["version"]) for v in json.load(sys.stdin)]' > kv 2> /dev/null || true
  while read -r v; do
    rm -rf k && "$ZOO" load "killed:$v" -o k -q > /dev/null || fail "killed:$v does not load after kill -9"
  done < kv
done
# The temporary files killed saves left are removed by the next save once
# untouched for 10 minutes; a fresh one (a save in progress) stays.
touch store/blobs/sha256/.0123.tmp.99999999.0 store/.index.json.tmp.99999999.1 store/blobs/sha256/.4567.tmp.99999999.2
touch -d '11 minutes ago' store/blobs/sha256/.0123.tmp.99999999.0 store/.index.json.tmp.99999999.1
"$ZOO" save model.yaml --name killed > /dev/null 2> save.err || fail "save after kill -9: $(cat save.err)"
stale=$(find store -name '*.tmp.*' -mmin +10 | wc -l)
[[ $stale == 0 ]] || fail "stale temporary files remain: $(find store -name '*.tmp.*')"
[[ -e store/blobs/sha256/.4567.tmp.99999999.2 ]] || fail "a fresh temporary file was removed"
grep -q 'removed [0-9]* temporary files\? left by interrupted saves' save.err || fail "$(cat save.err)"

# Metadata past the limits is refused before anything is written: too large,
# too deep (JSON or YAML, which yaml-cpp parses recursively), or a YAML whose
# aliases expand without end.
find store -type f | sort > files.before
/usr/bin/python3 - <<'PY'
import json
json.dump({"blob": "x" * (2 << 20)}, open("big.json", "w"))
open("deep.json", "w").write("[" * 20000 + "]" * 20000)
open("deeper.yaml", "w").write("a: " + "[" * 200000 + "]" * 200000 + "\n")
lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
for i in range(1, 12):
    lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i-1}"] * 10) + "]")
open("laughs.yaml", "w").write("\n".join(lines) + "\n")
PY
for case in "big.json:bytes, more than the 1048576 a model card's metadata may hold" \
  "deep.json:nests 20000 levels deep, more than the 32" "deeper.yaml:nests 200000 levels deep" \
  "laughs.yaml:expands to more than 100000 values (YAML aliases?)"; do
  expect_exit 2 timeout 60 "$ZOO" save model.yaml --name limits --meta-file "${case%%:*}" -q 2> err.txt
  { grep -qF -- "--meta-file ${case%%:*}: " err.txt && grep -qF -- "${case#*:}" err.txt; } || fail "${case%%:*}: $(cat err.txt)"
done
expect_exit 2 "$ZOO" save model.yaml --name limits --meta "deep=$(printf '[%.0s' {1..100})$(printf ']%.0s' {1..100})" -q 2> err.txt
grep -q 'the metadata: nests more than 32 levels deep' err.txt || fail "$(cat err.txt)"
find store -type f | sort > files.after
cmp -s files.before files.after || fail "a refused save wrote to the store: $(diff files.before files.after)"

# One unreadable version (its card corrupt) does not hide the others: zoo ls
# lists every version, names the bad one, and exits 1.
"$ZOO" save model.yaml --name broken -q > /dev/null
card_blob=store/blobs/sha256/$("$ZOO" load broken:1 -o broken-loaded -q > /dev/null && /usr/bin/python3 -c '
import hashlib; print(hashlib.sha256(open("broken-loaded/card.json", "rb").read()).hexdigest())')
printf '{' > "$card_blob"
expect_exit 1 "$ZOO" ls > ls.txt 2> ls.err
grep -q '^pets  *1 ' ls.txt || fail "zoo ls hid the good versions: $(cat ls.txt)"
grep -q '^broken  *1  (unreadable)' ls.txt || fail "zoo ls: $(cat ls.txt)"
grep -q 'zoo: error: broken:1: .*is corrupt' ls.err || fail "$(cat ls.err)"
rm -rf broken-loaded

# A tampered blob is detected, never used.
weights_blob=store/blobs/sha256/$(/usr/bin/python3 -c '
import json; print([f["digest"] for f in json.load(open("loaded/card.json"))["files"] if f["name"] == "resnet18.pth"][0][7:])')
printf 'X' | dd of="$weights_blob" bs=1 seek=100000 conv=notrunc 2> /dev/null
expect_exit 1 "$ZOO" load pets:1 -o tampered 2> tamper.err
grep -q "is corrupt" tamper.err || fail "tampered blob: $(cat tamper.err)"
[[ ! -e tampered ]] || fail "a failed load left its folder"
rm -rf cache
expect_exit 1 "$ZOO" apply pets:1 photos -q 2> tamper2.err > /dev/null
grep -q "is corrupt" tamper2.err || fail "apply on a tampered version: $(cat tamper2.err)"
echo "ok"
