#!/usr/bin/env bash
# Benchmark (not a test): zoo train vs the same network trained in Python
# PyTorch on OpenCV's digits (2500 train / 2500 test), same batch size,
# optimizer (Adam 1e-3, cosine), threads and decode workers, no
# augmentation, one run. Prints seconds per epoch and test accuracy for
# each (zoo's measured by zoo apply on the test folder). Then the real
# target: configs/digits-cnn.yaml trained by its own train: recipe (no
# flags but the seed) once per seed in SEEDS (default "0 1 2 3 4"): mean
# test accuracy >= 98.8%, each run under 120 s:
#   SEEDS="0" ./scripts/bench/train.sh     # one run
set -euo pipefail
cd "$(dirname "$0")/../.."

build=${ZOO_BUILD_DIR:-build}
[[ -x $build/zoo ]] || ./scripts/setup.sh
zoo=$build/zoo
work=$build/bench-train
threads=${THREADS:-$(nproc)}
epochs=${EPOCHS:-5}
mkdir -p "$work"
./scripts/make-digits.sh "$build/digits"

accuracy() {  # accuracy LABELS.jsonl: the test accuracy zoo eval reports, as a fraction
  "$zoo" eval "$1" --truth "$build/digits/test" -q -o - |
    /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin)['accuracy'])"
}

sed -e '/^augment:/,$d' -e '/^deskew:/d' configs/digits-cnn.yaml > "$work/noaug.yaml"
rm -rf "$work/zoo-noaug"
"$zoo" train "$work/noaug.yaml" --data "$build/digits/train" --val-split 0 --epochs "$epochs" --batch-size 64 \
  --threads "$threads" --workers 2 -o "$work/zoo-noaug" -q
zoo_epoch=$(/usr/bin/python3 -c "
import json
e = [json.loads(l) for l in open('$work/zoo-noaug/events.jsonl')]
s = [r['data']['seconds'] for r in e if r['status'] == 'epoch']
print(sum(s) / len(s))")
"$zoo" apply "$work/zoo-noaug" "$build/digits/test" -q -o "$work/zoo-noaug.jsonl" 2>/dev/null
zoo_acc=$(accuracy "$work/zoo-noaug.jsonl")

# The network the config builds (small_cnn stages), in Python.
stages=$(sed -n 's/.*stages: *\([0-9]\).*/\1/p' configs/digits-cnn.yaml)
py=$(/usr/bin/python3 scripts/bench/baseline_train.py "$build/digits/train" "$build/digits/test" "$epochs" 64 "$threads" 2 "${stages:-2}")
py_flush=$(/usr/bin/python3 scripts/bench/baseline_train.py "$build/digits/train" "$build/digits/test" "$epochs" 64 "$threads" 2 "${stages:-2}" flush)

/usr/bin/python3 - "$zoo_epoch" "$zoo_acc" "$py" "$py_flush" "$epochs" <<'PY'
import json, sys
zoo_epoch, zoo_acc = float(sys.argv[1]), float(sys.argv[2])
py, flush, epochs = json.loads(sys.argv[3]), json.loads(sys.argv[4]), sys.argv[5]
print(f"digits, small_cnn, {epochs} epochs, batch 64, Adam, no augmentation:")
print(f"  python (plain PyTorch):           {py['seconds_per_epoch']:6.2f} s/epoch, test accuracy {py['test_accuracy']:.4f}")
print(f"  python (+ set_flush_denormal):    {flush['seconds_per_epoch']:6.2f} s/epoch, test accuracy {flush['test_accuracy']:.4f}")
print(f"  zoo train:                        {zoo_epoch:6.2f} s/epoch, test accuracy {zoo_acc:.4f}"
      f"  ({py['seconds_per_epoch'] / zoo_epoch:.1f}x plain, {flush['seconds_per_epoch'] / zoo_epoch:.1f}x flushed; target: zoo <= python)")
PY

# The config's own recipe once per seed in SEEDS: each run's test accuracy
# and training time, then their mean and range against the target.
results=()
for seed in ${SEEDS:-0 1 2 3 4}; do
  model=$work/digits-model-seed$seed
  rm -rf "$model"
  start=$(date +%s.%N)
  "$zoo" train configs/digits-cnn.yaml --data "$build/digits/train" --threads "$threads" --seed "$seed" \
    -o "$model" -q ${DIGITS_ARGS:-}
  end=$(date +%s.%N)
  "$zoo" apply "$model" "$build/digits/test" -q -o "$model/test.jsonl" 2>/dev/null
  acc=$(accuracy "$model/test.jsonl")
  seconds=$(/usr/bin/python3 -c "print($end - $start)")
  results+=("$seed $acc $seconds")
  /usr/bin/python3 -c "print(f'configs/digits-cnn.yaml, seed $seed: test accuracy {$acc*100:.2f}% after {$seconds:.1f} s of training (target < 120 s)')"
done
/usr/bin/python3 - "${results[@]}" <<'PY'
import sys
runs = [line.split() for line in sys.argv[1:]]
acc = [float(a) * 100 for _, a, _ in runs]
sec = [float(t) for _, _, t in runs]
mean = sum(acc) / len(acc)
print(f"configs/digits-cnn.yaml over {len(runs)} seeds ({', '.join(s for s, _, _ in runs)}): "
      f"mean test accuracy {mean:.2f}% (target >= 98.8%: {'met' if mean >= 98.8 else 'NOT met'}), "
      f"range {min(acc):.2f}-{max(acc):.2f}%; training {min(sec):.1f}-{max(sec):.1f} s per run "
      f"(target < 120 s: {'met' if max(sec) < 120 else 'NOT met'})")
PY
