# The registry store against a real OCI registry (Debian's docker-registry
# on 127.0.0.1 with TLS and htpasswd auth): save, ls, load, copies
# local -> remote -> local with equal digests, wrong or missing credentials
# (clear errors, nothing pushed, no secret printed), chunked uploads, zoo
# apply on a remote reference, concurrent saves, a tampered blob.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/registry.sh"
start_registry

export ZOO_STORE="$WORK/store" ZOO_CACHE_DIR="$WORK/cache"
R="oci://$REG_HOST/team"
catalog() { curl -s --cacert "$REG_CA" -u "$REG_USER:$REG_PASSWORD" "https://$REG_HOST/v2/_catalog"; }

/usr/bin/python3 - <<'PY'
import torch, torchvision
torch.manual_seed(0)
torch.save(torchvision.models.resnet18(num_classes=4).eval().state_dict(), "resnet18.pth")
PY
echo "weights: resnet18.pth" >> model.yaml
mkdir photos && cp "$PHOTOS/baboon.jpg" "$PHOTOS/fruits.jpg" "$PHOTOS/messi5.jpg" photos/
"$ZOO" save model.yaml --name pets -q > local1.out

# No credentials, wrong credentials: clear errors, nothing pushed, no secret shown.
unset ZOO_REGISTRY_USER ZOO_REGISTRY_PASSWORD
export HOME="$WORK/home"  # no ~/.docker/config.json
expect_exit 1 "$ZOO" save pets:1 --store "$R" --ca-file "$REG_CA" 2> nocreds.err
grep -q "ZOO_REGISTRY_USER" nocreds.err || fail "no credentials: $(cat nocreds.err)"
export ZOO_REGISTRY_USER="$REG_USER"
ZOO_REGISTRY_PASSWORD="wrong-$REG_PASSWORD" "$ZOO" save pets:1 --store "$R" --ca-file "$REG_CA" 2> wrongpw.err &&
  fail "a wrong password was accepted"
grep -q "access denied" wrongpw.err || fail "wrong password: $(cat wrongpw.err)"
grep -q -- "$REG_PASSWORD" wrongpw.err nocreds.err && fail "a password appeared in the output"
catalog | grep -q '"repositories":\[\]' || fail "something was pushed without valid credentials: $(catalog)"
export ZOO_REGISTRY_PASSWORD="$REG_PASSWORD"

# TLS is verified: without the CA the self-signed registry is refused.
expect_exit 1 "$ZOO" ls --store "$R" 2> tls.err
grep -q -- "--ca-file" tls.err || fail "TLS failure message: $(cat tls.err)"
expect_exit 2 "$ZOO" ls --store "oci://192.0.2.1:5000/team" --insecure 2> /dev/null  # http only on loopback

# local -> remote -> local: same version, same digest.
"$ZOO" save pets:1 --store "$R" --ca-file "$REG_CA" -q > remote1.out
[[ $(cat remote1.out) == $(cat local1.out) ]] || fail "copy to the registry changed the digest"
"$ZOO" save pets:1 --store "$R" --ca-file "$REG_CA" -q > remote1b.out  # again: nothing changes
[[ $(cat remote1b.out) == $(cat local1.out) ]] || fail "a repeated copy changed something"
ZOO_STORE="$WORK/store2" "$ZOO" save pets:1 --from "$R" --ca-file "$REG_CA" -q > back.out
[[ $(cat back.out) == $(cat local1.out) ]] || fail "copy back changed the digest"

# Save straight to the registry (version 2); ls; load; apply on the reference.
"$ZOO" save model.yaml --name pets --store "$R" --ca-file "$REG_CA" --meta author=ana -q > remote2.out
grep -q '^pets:2 ' remote2.out || fail "remote save: $(cat remote2.out)"
"$ZOO" ls --store "$R" --ca-file "$REG_CA" --json > ls.json
/usr/bin/python3 -c '
import json; v = json.load(open("ls.json"))
assert [(x["name"], x["version"]) for x in v] == [("pets", 1), ("pets", 2)], v
assert v[1]["metadata"]["author"] == "ana", v' || fail "remote ls: $(cat ls.json)"
"$ZOO" load pets --store "$R" --ca-file "$REG_CA" -o loaded -q > /dev/null
cmp loaded/resnet18.pth resnet18.pth || fail "weights changed on the way through the registry"
"$ZOO" apply model.yaml photos -q > by-config.jsonl
"$ZOO" apply pets:2 --store "$R" --ca-file "$REG_CA" photos -q > by-remote.jsonl
cmp by-config.jsonl by-remote.jsonl || fail "labels from the remote version differ"
curl -s --cacert "$REG_CA" -u "$REG_USER:$REG_PASSWORD" "https://$REG_HOST/v2/team/pets/tags/list" | grep -q '"latest"' ||
  fail "no latest tag"

# Chunked upload (PATCH) for large blobs: forced with a small chunk size.
ZOO_REGISTRY_CHUNK_BYTES=4000000 "$ZOO" save model.yaml --name chunked --meta x=1 --store "$R" --ca-file "$REG_CA" -q \
  > chunked.out
"$ZOO" load chunked --store "$R" --ca-file "$REG_CA" -o chunked -q > /dev/null
cmp chunked/resnet18.pth resnet18.pth || fail "chunked upload corrupted the weights"

# Concurrent saves to the registry: distinct versions, none lost.
pids=()
for i in 1 2 3 4; do
  "$ZOO" save model.yaml --name race --meta "i=$i" --store "$R" --ca-file "$REG_CA" -q > race.$i 2> race.$i.err &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent save failed: $(cat race.*.err)"; done
[[ $(cat race.[1-4] | cut -d' ' -f1 | sort -u | wc -l) == 4 ]] || fail "concurrent saves: $(cat race.[1-4])"
"$ZOO" ls race --store "$R" --ca-file "$REG_CA" --json > race.json
/usr/bin/python3 -c '
import json; v = json.load(open("race.json"))
assert sorted(x["version"] for x in v) == [1, 2, 3, 4], v
assert sorted(x["metadata"]["i"] for x in v) == [1, 2, 3, 4], v' || fail "a concurrent save was lost: $(cat race.json)"

# The same through a registry slow to take tags (a proxy holds each tag
# upload 1.5 s): a save that checked a version free while another's tag was
# in flight must not win it too. 4 concurrent saves, 4 versions, none lost.
/usr/bin/python3 "$ZOO_SOURCE_DIR/tests/e2e/slow_proxy.py" slow.port "$REG_HOST" "$REG_DIR/cert.pem" "$REG_DIR/key.pem" \
  "$REG_CA" 1.5 2> slow.log &
SLOW_PID=$!
trap 'kill $REG_PID $SLOW_PID 2> /dev/null || true' EXIT
for _ in $(seq 100); do [[ -s slow.port ]] && break; sleep 0.1; done
[[ -s slow.port ]] || { cat slow.log; fail "the slow proxy did not start"; }
SLOW="oci://127.0.0.1:$(cat slow.port)/team"
pids=()
for i in 1 2 3 4; do
  "$ZOO" save model.yaml --name slowrace --meta "i=$i" --store "$SLOW" --ca-file "$REG_CA" -q > slow.$i 2> slow.$i.err &
  pids+=($!)
  sleep 0.5  # more than the 300 ms a save used to wait before looking at its tag again
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent save failed: $(cat slow.*.err)"; done
[[ $(cat slow.[1-4] | cut -d' ' -f1 | sort -u | wc -l) == 4 ]] || fail "two saves claimed one version: $(cat slow.[1-4])"
"$ZOO" ls slowrace --store "$R" --ca-file "$REG_CA" --json > slowrace.json
/usr/bin/python3 -c '
import json, sys
v = json.load(open("slowrace.json"))
claimed = {l.split()[0]: l.split()[1] for i in range(1, 5) for l in open(f"slow.{i}")}
assert sorted(x["version"] for x in v) == [1, 2, 3, 4], v
assert sorted(x["metadata"]["i"] for x in v) == [1, 2, 3, 4], v
assert all(claimed["slowrace:%d" % x["version"]] == x["digest"] for x in v), (claimed, v)' ||
  fail "a concurrent save was lost behind a slow registry: $(cat slowrace.json) $(cat slow.[1-4])"
kill $SLOW_PID

# Credentials from ~/.docker/config.json (what `docker login` writes).
mkdir -p home/.docker
printf '{"auths": {"%s": {"auth": "%s"}}}' "$REG_HOST" "$(printf '%s:%s' "$REG_USER" "$REG_PASSWORD" | base64 -w0)" \
  > home/.docker/config.json
env -u ZOO_REGISTRY_USER -u ZOO_REGISTRY_PASSWORD HOME="$WORK/home" "$ZOO" ls pets --store "$R" --ca-file "$REG_CA" \
  > docker-config.out || fail "credentials from ~/.docker/config.json were not used"
grep -qE '^pets +2 ' docker-config.out || fail "ls with docker credentials: $(cat docker-config.out)"

# kill -9 in the middle of a push: no new version appears, and a rerun works.
for delay in 0.3 0.8; do
  "$ZOO" save model.yaml --name interrupted --meta "d=$delay" --store "$R" --ca-file "$REG_CA" -q > /dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
done
"$ZOO" ls --store "$R" --ca-file "$REG_CA" --json > after-kill.json
/usr/bin/python3 -c '
import json; [print(x["version"]) for x in json.load(open("after-kill.json")) if x["name"] == "interrupted"]' > kv
while read -r v; do  # a version that is listed must be complete
  rm -rf k && "$ZOO" load "interrupted:$v" --store "$R" --ca-file "$REG_CA" -o k -q > /dev/null ||
    fail "a killed push left interrupted:$v incomplete"
done < kv
"$ZOO" save model.yaml --name interrupted --store "$R" --ca-file "$REG_CA" -q > after-kill.out ||
  fail "save after a killed push"
"$ZOO" load interrupted --store "$R" --ca-file "$REG_CA" -o interrupted -q > /dev/null || fail "load after a killed push"

# A tampered blob in the registry's storage is detected, never used.
blob=$(find registry/data -path "*/blobs/sha256/*/data" -size +40M | head -1)
[[ -n $blob ]] || fail "no weights blob in the registry storage"
printf 'X' | dd of="$blob" bs=1 seek=100000 conv=notrunc 2> /dev/null
expect_exit 1 "$ZOO" load pets:1 --store "$R" --ca-file "$REG_CA" -o tampered 2> tamper.err
grep -q "is corrupt" tamper.err || fail "tampered registry blob: $(cat tamper.err)"
[[ ! -e tampered ]] || fail "a failed load left its folder"
echo ok
