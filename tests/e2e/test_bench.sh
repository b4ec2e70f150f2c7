# zoo bench: one model alone, and two run batch by batch in turn
# (--compare), on a built-in small_cnn against its TorchScript export.
source "$(dirname "$0")/lib.sh"

/usr/bin/python3 "$ZOO_SOURCE_DIR/scripts/bench/export_models.py" . small_cnn 2> export.log || { cat export.log; fail "export"; }
pre=$'image_channels: 1\nimage_size: [20, 20]\nimage_mean: [0.5]\nimage_std: [0.5]'
printf 'entrypoint: small_cnn\nweights: small_cnn.pth\n%s\n' "$pre" > builtin.yaml
printf 'entrypoint: torchscript\nweights: small_cnn.pt\n%s\n' "$pre" > script.yaml

# One model: --batches timed batches of the config's input size.
"$ZOO" bench builtin.yaml -b 4 -n 3 > one.txt 2> one.err || { cat one.err; fail "zoo bench"; }
grep -qE '^[0-9]+\.[0-9]+ images/s \(12 images of 1x20x20 in batches of 4, [0-9.]+ s\)$' one.txt \
  || fail "unexpected output: $(cat one.txt)"
# One of small_cnn's four 3x3 convolutions has 64 channels in and out:
# Winograd's, where oneDNN has it (AVX-512), on inputs larger than these.
winograd=""
grep -qw avx512bw /proc/cpuinfo && winograd=", up to 1 by Winograd's algorithm"
grep -qF "small_cnn (built-in) with state dict small_cnn.pth, optimized for inference (4 convolutions on oneDNN$winograd, activations fused)" one.err \
  || fail "the model is not named on stderr: $(cat one.err)"
! grep -q warning one.err || fail "zoo bench warned: $(cat one.err)"

# --seconds goes on past --batches.
"$ZOO" bench builtin.yaml -b 4 -n 1 --seconds 0.5 > long.txt 2> /dev/null
images=$(sed -E 's/.*\(([0-9]+) images.*/\1/' long.txt)
(( images > 4 )) || fail "--seconds 0.5 ran only $images images: $(cat long.txt)"

# --profile: the rate, then the ops that took the time, per batch, their
# shares adding up to at least 99% of the profiled time.
"$ZOO" bench builtin.yaml -b 4 -n 3 --profile > prof.txt 2> prof.err || { cat prof.err; fail "--profile"; }
/usr/bin/python3 - prof.txt <<'PY' || fail "--profile printed: $(cat prof.txt)"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
assert re.match(r"^[0-9.]+ images/s \(12 images", lines[0]), lines[0]
assert lines[2].split()[:2] == ["op", "(LibTorch"], lines[2]
ops = [l.replace("forward (unrecorded ops)", "forward").split() for l in lines[3:-1]]
assert ops and all(len(o) == 4 and o[3].endswith("%") for o in ops), ops
names = [o[0] for o in ops]
assert any(n.startswith("aten::") for n in names), names
shares = [float(o[3].rstrip("%")) for o in ops]
assert shares == sorted(shares, reverse=True) and sum(shares) >= 98.5, shares
assert lines[-1].startswith("total") and "(profiled, 3 batches)" in lines[-1], lines[-1]
PY
expect_exit 2 "$ZOO" bench builtin.yaml --compare script.yaml --profile 2> err.txt
grep -q -- '--compare excludes --profile' err.txt || fail "--profile with --compare: $(cat err.txt)"

# --compare: a line per model (same images, in batches run in turn), then
# the ratio, the median over the pairs.
"$ZOO" bench builtin.yaml --compare script.yaml -b 8 -n 6 > cmp.txt 2> cmp.err || { cat cmp.err; fail "--compare"; }
[[ $(count_lines cmp.txt) == 3 ]] || fail "--compare printed $(count_lines cmp.txt) lines: $(cat cmp.txt)"
sed -n 1p cmp.txt | grep -qE '^[0-9.]+ images/s \(48 images of 1x20x20 in batches of 8, [0-9.]+ s\): builtin.yaml$' \
  || fail "first line: $(cat cmp.txt)"
sed -n 2p cmp.txt | grep -qE '^[0-9.]+ images/s \(48 images of 1x20x20 in batches of 8, [0-9.]+ s\): script.yaml$' \
  || fail "second line: $(cat cmp.txt)"
sed -n 3p cmp.txt | grep -qE "^[0-9]+\.[0-9]{3} ratio: builtin.yaml's speed over script.yaml's \(median of 6 pairs" \
  || fail "third line: $(cat cmp.txt)"
grep -q -- '--compare model: torchscript small_cnn.pt, optimized for inference' cmp.err || fail "$(cat cmp.err)"
# The ratio is a median of per-pair ratios, so it lies between the
# smallest and largest; a model against itself is near 1 (loose bounds: this
# checks the arithmetic, not the speed).
"$ZOO" bench builtin.yaml --compare builtin.yaml -b 8 -n 21 > self.txt 2> /dev/null
/usr/bin/python3 - self.txt <<'PY' || fail "a model against itself: $(cat self.txt)"
import sys
lines = open(sys.argv[1]).read().splitlines()
ratio = float(lines[2].split()[0])
assert 0.5 < ratio < 2.0, ratio
PY

# Inputs that differ are an error naming both models; so is a missing file.
printf 'entrypoint: small_cnn\nentrypoint_args: {in_channels: 3}\nimage_size: [20, 20]\n' > rgb.yaml
expect_exit 2 "$ZOO" bench builtin.yaml --compare rgb.yaml -n 1 2> err.txt
grep -q 'builtin.yaml takes 1x20x20 input but --compare rgb.yaml takes 3x20x20' err.txt || fail "$(cat err.txt)"
expect_exit 2 "$ZOO" bench builtin.yaml --compare missing.yaml -n 1 2> err.txt
grep -q 'missing.yaml' err.txt || fail "a missing --compare model is not named: $(cat err.txt)"
expect_exit 2 "$ZOO" bench builtin.yaml --size 20by20 2> err.txt
grep -q -- '--size: expected WIDTHxHEIGHT' err.txt || fail "$(cat err.txt)"
echo ok
