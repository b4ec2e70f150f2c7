#!/usr/bin/env bash
# Models by name (zoo models, names as MODEL): downloads from a loopback
# HTTP server that misbehaves on request (tests/e2e/model_server.py), the
# user's own manifest, offline use, mirrors and proxies, two processes
# wanting one model, resolution order and ambiguity, and the TF.js entries
# fetched for real through npm.
source "$(dirname "$0")/lib.sh"
HERE="$ZOO_SOURCE_DIR/tests/e2e"

export ZOO_CACHE_DIR="$WORK/cache" ZOO_STORE="$WORK/store"

# json_true EXPR: true when EXPR holds for `doc`, the JSON on stdin.
json_true() { /usr/bin/python3 -c 'import json, sys; doc = json.load(sys.stdin); sys.exit(not eval(sys.argv[1]))' "$1"; }
# ranges: the Range header of each request in server.log ("None" for none).
ranges() { /usr/bin/python3 -c 'import json; [print(json.loads(l)["range"]) for l in open("server.log")]'; }
# predictions FILE: each record's predictions, one canonical JSON line each.
predictions() {
  /usr/bin/python3 -c 'import json, sys; [print(json.dumps(json.loads(l)["predictions"], sort_keys=True)) for l in open(sys.argv[1])]' "$1"
}
unset ZOO_OFFLINE ZOO_MODELS_MIRROR http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy no_proxy NO_PROXY

# Files to serve, made now: random bytes, and a real state dict of
# torchvision's resnet18 with 4 classes (random weights).
mkdir served
head -c 3000000 /dev/urandom > served/blob.bin
/usr/bin/python3 - <<'PY'
import torch, torchvision
torch.manual_seed(0)
torch.save(torchvision.models.resnet18(num_classes=4).state_dict(), "served/tiny-resnet18-0a1b2c3d.pth")
PY
blob_sha=$(sha256sum served/blob.bin | cut -c1-64)
blob_size=$(stat -c %s served/blob.bin)
pth_sha=$(sha256sum served/tiny-resnet18-0a1b2c3d.pth | cut -c1-64)

/usr/bin/python3 "$HERE/model_server.py" served server.log port &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do [[ -f port ]] && break; sleep 0.1; done
[[ -f port ]] || fail "the test server did not start"
port=$(cat port)
url="http://127.0.0.1:$port"

# One entry per server behaviour; each serves blob.bin (a config with
# weights that are never loaded: downloads only) except tiny-cnn.
entry() {  # NAME URL [SHA]
  cat <<YAML
  - name: $1
    task: classification
    description: test entry served by model_server.py
    licence: CC0-1.0
    files:
      - {url: "$2", sha256: ${3:-$blob_sha}, size: $blob_size}
    config: {entrypoint: resnet18, weights: blob.bin, classes: [a, b]}
YAML
}
{
  echo "models:"
  entry blob-ok "$url/ok/blob.bin"
  entry blob-drop "$url/drop3/blob.bin"
  entry blob-bad "$url/bad/blob.bin"
  entry blob-missing "$url/missing/blob.bin"
  entry blob-stall "$url/stall/blob.bin"
  entry blob-slow "$url/slow/blob.bin"
  entry blob-offline "$url/ok/blob.bin"
  entry blob-mirrored "http://models.invalid/ok/blob.bin"
  entry blob-proxied "http://models.invalid:9/ok/blob.bin"
  cat <<YAML
  - name: tiny-resnet18
    task: classification
    description: resnet18 with 4 classes, random weights, published with a sha256 prefix in its name
    licence: CC0-1.0
    tags: [test]
    files:
      - url: "$url/ok/tiny-resnet18-0a1b2c3d.pth"
        sha256_prefix: ${pth_sha:0:8}
    config:
      entrypoint: resnet18
      entrypoint_args: {num_classes: 4}
      weights: tiny-resnet18-0a1b2c3d.pth
      labels_path: labels.txt
      image_size: [64, 64]
      image_mean: [0.485, 0.456, 0.406]
      image_std: [0.229, 0.224, 0.225]
YAML
} > manifest.yaml
printf 'cat\ndog\nbird\nfish\n' > labels.txt
export ZOO_MANIFEST="$WORK/manifest.yaml"

echo "== list: built-in and user entries"
"$ZOO" models list > list.txt
grep -q "^resnet50-imagenet-torch " list.txt || fail "resnet50-imagenet-torch not listed"
grep -q "^centernet-coco " list.txt || fail "centernet-coco not listed"
grep -q "^tiny-resnet18 .* no$" list.txt || fail "tiny-resnet18 not listed as not downloaded"
"$ZOO" models list --json > list.json
/usr/bin/python3 - <<'PY' || fail "list --json"
import json
entries = {e["name"]: e for e in json.load(open("list.json"))}
assert entries["resnet50-imagenet-torch"]["licence"] == "BSD-3-Clause"
assert entries["resnet50-imagenet-torch"]["files"][0]["sha256_prefix"] == "0676ba61"
assert entries["centernet-coco"]["npm"] == "@vladmandic/human@3.3.6"
assert entries["tiny-resnet18"]["downloaded"] is False
assert len([e for e in entries.values() if e["manifest"].startswith("built-in")]) == 32, len(entries)
PY
"$ZOO" models info resnet50-imagenet-torch | grep -q "sha256 starts with 0676ba61" || fail "info: checksum"
"$ZOO" models info resnet50-imagenet-torch --json | json_true '"image_dim: 256" in doc["config"]' ||
  fail "info --json: config"

echo "== a malformed entry names file, line and key"
bad="$WORK/bad-manifest.yaml"
sed 's/    licence: CC0-1.0/    licnece: CC0-1.0/' manifest.yaml > "$bad"
expect_exit 2 env ZOO_MANIFEST="$bad" "$ZOO" models list 2> err.txt
grep -q "bad-manifest.yaml:5: unknown key \"licnece\"; did you mean \"licence\"" err.txt || { cat err.txt; fail "misspelt key"; }
sed 's/image_size: \[64, 64\]/image_sise: [64, 64]/' manifest.yaml > "$bad"
expect_exit 2 env ZOO_MANIFEST="$bad" "$ZOO" models list 2> err.txt
grep -q "bad-manifest.yaml:[0-9]*:[0-9]*: unknown key \"image_sise\"" err.txt || { cat err.txt; fail "config key"; }
sed 's/^  - name: blob-ok/  - name: resnet50-imagenet-torch/' manifest.yaml > "$bad"
expect_exit 2 env ZOO_MANIFEST="$bad" "$ZOO" models list 2> err.txt
grep -q "model \"resnet50-imagenet-torch\" is already defined at built-in configs/zoo/torchvision.yaml" err.txt ||
  { cat err.txt; fail "duplicate name"; }

echo "== download, checked, with JSON progress"
"$ZOO" models download blob-ok --progress json > path.txt 2> err.txt || { cat err.txt; fail "download"; }
[[ $(cat path.txt) == "$ZOO_CACHE_DIR/zoo/blob-ok" ]] || fail "download printed $(cat path.txt)"
cmp served/blob.bin "$ZOO_CACHE_DIR/zoo/blob-ok/blob.bin" || fail "downloaded bytes differ"
grep -q '"status":"done","count":3000000,"total":3000000' err.txt || { cat err.txt; fail "json progress"; }
"$ZOO" models path blob-ok > /dev/null || fail "path after download"
expect_exit 1 "$ZOO" models path blob-bad > /dev/null

echo "== a dropped connection resumes where it stopped"
: > server.log
expect_exit 1 "$ZOO" models download blob-drop 2> err.txt
grep -q "run the command again to resume" err.txt || { cat err.txt; fail "drop: message"; }
part="$ZOO_CACHE_DIR/zoo/blob-drop/blob.bin.part"
[[ -f $part ]] || fail "drop: no partial file kept"
kept=$(stat -c %s "$part")
(( kept > 0 && kept < blob_size )) || fail "drop: kept $kept bytes"
[[ $(ranges | head -1) == None ]] || fail "the first request had a Range"
[[ $(ranges | sed -n 2p) =~ ^bytes=[1-9][0-9]*-$ ]] || fail "the retry did not resume: $(cat server.log)"
"$ZOO" models download blob-drop 2> err.txt || { cat err.txt; fail "drop: second run"; }
[[ $(ranges | tail -1) == "bytes=$kept-" ]] || fail "second run did not resume at $kept: $(cat server.log)"
cmp served/blob.bin "$ZOO_CACHE_DIR/zoo/blob-drop/blob.bin" || fail "resumed bytes differ"
[[ ! -e $part ]] || fail "the partial file stayed"

echo "== wrong bytes are refused and leave nothing"
expect_exit 1 "$ZOO" models download blob-bad 2> err.txt
grep -q "blob.bin of model blob-bad does not match the manifest .*expected sha256 $blob_sha and $blob_size bytes, got sha256 [0-9a-f]\{64\}" err.txt ||
  { cat err.txt; fail "bad: message"; }
[[ ! -e "$ZOO_CACHE_DIR/zoo/blob-bad" ]] || fail "bad: left $(ls -A "$ZOO_CACHE_DIR/zoo/blob-bad")"

echo "== 404"
expect_exit 1 "$ZOO" models download blob-missing 2> err.txt
grep -q "$url/missing/blob.bin: HTTP 404 Not Found" err.txt || { cat err.txt; fail "404: message"; }

echo "== a stalled server times out with a clear error"
start=$(date +%s)
expect_exit 1 env ZOO_DOWNLOAD_STALL_SECONDS=2 "$ZOO" models download blob-stall 2> err.txt
(( $(date +%s) - start < 30 )) || fail "stall: took $(( $(date +%s) - start )) s"
grep -q "$url/stall/blob.bin: download of blob.bin failed after 0 bytes.*Operation too slow" err.txt ||
  { cat err.txt; fail "stall: message"; }

echo "== two processes, one transfer"
: > server.log
"$ZOO" models download blob-slow > a.txt 2> a.err &
first=$!
"$ZOO" models download blob-slow > b.txt 2> b.err || { cat b.err; fail "second concurrent download"; }
wait $first || { cat a.err; fail "first concurrent download"; }
[[ $(grep -c '"/slow/blob.bin"' server.log) == 1 ]] || fail "expected one transfer: $(cat server.log)"
cmp a.txt b.txt || fail "the two printed different folders"

echo "== offline: one clear error naming URL and cache path; a file placed by hand is used"
expect_exit 1 env ZOO_OFFLINE=1 "$ZOO" models download blob-offline 2> err.txt
grep -q "downloads are off (ZOO_OFFLINE=1)" err.txt || { cat err.txt; fail "offline: message"; }
grep -q "$url/ok/blob.bin -> $ZOO_CACHE_DIR/zoo/blob-offline/blob.bin" err.txt || { cat err.txt; fail "offline: paths"; }
expect_exit 1 "$ZOO" models download --offline blob-offline 2> err.txt
grep -q "downloads are off (--offline)" err.txt || { cat err.txt; fail "--offline: message"; }
expect_exit 1 env ZOO_OFFLINE=1 "$ZOO" apply blob-offline "$PHOTOS/messi5.jpg" -o offline.jsonl 2> err.txt
grep -q "model blob-offline is not downloaded" err.txt || { cat err.txt; fail "offline apply: message"; }
[[ ! -s offline.jsonl ]] || fail "offline apply wrote records"
: > server.log
mkdir -p "$ZOO_CACHE_DIR/zoo/blob-offline"
cp served/blob.bin "$ZOO_CACHE_DIR/zoo/blob-offline/"
ZOO_OFFLINE=1 "$ZOO" models download blob-offline > /dev/null || fail "offline: the file placed by hand"
[[ ! -s server.log ]] || fail "offline touched the network: $(cat server.log)"

echo "== mirror and proxy"
ZOO_MODELS_MIRROR="$url/" "$ZOO" models download blob-mirrored > /dev/null 2> err.txt || { cat err.txt; fail "mirror"; }
http_proxy="$url" "$ZOO" models download blob-proxied > /dev/null 2> err.txt || { cat err.txt; fail "proxy"; }
grep -q '"proxied": true' server.log || fail "the download did not go through the proxy"

echo "== names wherever a MODEL goes"
"$ZOO" apply tiny-resnet18 "$PHOTOS/messi5.jpg" "$PHOTOS/baboon.jpg" -o named.jsonl 2> err.txt || { cat err.txt; fail "apply NAME"; }
jsonl_check named.jsonl 'len(records) == 2 and all(r["predictions"]["label"] in ("cat", "dog", "bird", "fish") for r in records)'
dir="$ZOO_CACHE_DIR/zoo/tiny-resnet18"
json_true "doc['files'][0]['sha256'] == '$pth_sha'" < "$dir/source.json" || fail "source.json: full digest"
"$ZOO" apply "$dir/model.yaml" "$PHOTOS/messi5.jpg" "$PHOTOS/baboon.jpg" -o by-path.jsonl 2> /dev/null
cmp named.jsonl by-path.jsonl || fail "the name and its folder labelled differently"
"$ZOO" inspect tiny-resnet18 --json | json_true 'doc["labels"]["count"] == 4' || fail "inspect NAME"
"$ZOO" embed zoo:tiny-resnet18 "$PHOTOS/messi5.jpg" -o named.npy 2> /dev/null || fail "embed zoo:NAME"
"$ZOO" bench tiny-resnet18 -n 1 -b 1 > /dev/null 2>&1 || fail "bench NAME"
expect_exit 1 "$ZOO" apply tiny-resnet19 "$PHOTOS/messi5.jpg" -o x.jsonl 2> err.txt
grep -q 'did you mean "tiny-resnet18"' err.txt || { cat err.txt; fail "unknown name: suggestion"; }

echo "== a changed cached file is fetched again"
printf 'x' >> "$dir/tiny-resnet18-0a1b2c3d.pth"
"$ZOO" inspect tiny-resnet18 > /dev/null 2> err.txt || { cat err.txt; fail "modified cache"; }
grep -q "incomplete or was modified" err.txt || { cat err.txt; fail "modified cache: warning"; }
[[ $(sha256sum "$dir/tiny-resnet18-0a1b2c3d.pth" | cut -c1-64) == "$pth_sha" ]] || fail "not fetched again"

echo "== save a name into the store; then the name is ambiguous"
"$ZOO" save tiny-resnet18 > saved.txt 2> err.txt || { cat err.txt; fail "save NAME"; }
grep -q "^tiny-resnet18:1 sha256:" saved.txt || fail "save printed $(cat saved.txt)"
"$ZOO" ls tiny-resnet18 --json | json_true 'doc[0]["metadata"]["zoo_model"] == "tiny-resnet18"' || fail "save: metadata"
expect_exit 2 "$ZOO" apply tiny-resnet18 "$PHOTOS/messi5.jpg" -o amb.jsonl 2> err.txt
grep -q 'names both a model in store .* (version 1) and a zoo model (.*manifest.yaml:[0-9]*): say tiny-resnet18:1 for the store.s, or zoo:tiny-resnet18' err.txt ||
  { cat err.txt; fail "ambiguity: message"; }
"$ZOO" apply tiny-resnet18:1 "$PHOTOS/messi5.jpg" -o store.jsonl 2> /dev/null || fail "NAME:1"
"$ZOO" apply zoo:tiny-resnet18 "$PHOTOS/messi5.jpg" -o zoo.jsonl 2> /dev/null || fail "zoo:NAME"
cmp <(predictions store.jsonl) <(predictions zoo.jsonl) || fail "store copy and zoo model differ"

echo "== train from a named model's weights"
mkdir -p data/cat data/dog
cp "$PHOTOS"/baboon.jpg "$PHOTOS"/fruits.jpg data/cat/
cp "$PHOTOS"/messi5.jpg "$PHOTOS"/home.jpg data/dog/
"$ZOO" eval zoo:tiny-resnet18 --truth data > eval.txt 2> err.txt || { cat err.txt; fail "eval zoo:NAME"; }
grep -q "accuracy" eval.txt || { cat eval.txt; fail "eval zoo:NAME: no accuracy"; }
"$ZOO" train zoo:tiny-resnet18 --data data -o run --epochs 1 --batch-size 2 --val-split 0 > /dev/null 2> err.txt ||
  { cat err.txt; fail "train from a name"; }

echo "== rm"
"$ZOO" models rm tiny-resnet18 2> /dev/null
[[ ! -e $dir ]] || fail "rm left $dir"
expect_exit 1 "$ZOO" models path tiny-resnet18 > /dev/null

echo "== the TF.js entries, fetched for real with npm"
unset ZOO_MANIFEST
"$ZOO" models download centernet-coco blazeface movenet-lightning faceres faceres-age faceres-gender emotion > tfjs.txt
[[ $(count_lines tfjs.txt) == 7 ]] || fail "tfjs downloads: $(cat tfjs.txt)"
"$ZOO" apply centernet-coco "$PHOTOS"/messi5.jpg "$PHOTOS"/home.jpg -o centernet-named.jsonl 2> /dev/null
"$ZOO" apply "$ZOO_SOURCE_DIR/configs/centernet.yaml" "$PHOTOS"/messi5.jpg "$PHOTOS"/home.jpg -o centernet-config.jsonl 2> /dev/null
cmp <(predictions centernet-named.jsonl) <(predictions centernet-config.jsonl) ||
  fail "centernet-coco by name differs from configs/centernet.yaml"
jsonl_check centernet-named.jsonl 'any(d["label"] == "person" for d in records[0]["predictions"]["detections"])'
"$ZOO" apply blazeface "$PHOTOS"/messi5.jpg -o faces.jsonl 2> /dev/null
jsonl_check faces.jsonl 'len(records[0]["predictions_keypoints"]["keypoints"][0]["points"]) == 6'

echo "PASS"
