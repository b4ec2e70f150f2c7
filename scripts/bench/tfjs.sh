#!/usr/bin/env bash
# Benchmark (not a test): zoo apply vs TensorFlow.js in Node
# (@tensorflow/tfjs 4.22.0, pure-JS cpu backend and the wasm backend) on the
# same real photos (the JPEGs of Debian's opencv-doc), same pretrained graphs
# (configs/centernet.yaml, configs/movenet.yaml), same 2 cores, end to end,
# one run each. Node has no JPEG decoder without more npm packages, so the
# photos are decoded and stretched to the model's size by Python's cv2 first
# (timed): tfjs is shown model only and with that decoding added; zoo's rate
# always includes its own decoding and resizing.
#   Target: zoo >= 2x the fastest tfjs. Also zoo's peak RSS for all photos
#   against 4 times as many (the list repeated): memory flat in the number of
#   images. (Below one batch, 16, fewer photos also take less memory: the
#   batch and the decode queue, about two batches, are what grows.)
#   PHOTOS_LIMIT=8 ./scripts/bench/tfjs.sh    # fewer photos (default: all 59)
#   TFJS_LIMIT=12 (default): the tfjs cpu backend takes several seconds per
#   CenterNet image, so it only does the first TFJS_LIMIT photos (rates are
#   per image); the wasm backend does them all.
set -euo pipefail
cd "$(dirname "$0")/../.."

build=${ZOO_BUILD_DIR:-build}
[[ -x $build/zoo ]] || ./scripts/setup.sh
zoo=$build/zoo
work=$build/bench-tfjs
# The configs name their graphs under ../build/tfjs; install there.
tfjs_dir=build/tfjs
threads=2
mkdir -p "$work"
./scripts/setup-tfjs.sh "$tfjs_dir"

# The same 2 cores for every run (the first two this shell may use).
cpus=$(/usr/bin/python3 -c "import os; print(','.join(map(str, sorted(os.sched_getaffinity(0))[:$threads])))")
pin=()
if command -v taskset >/dev/null 2>&1; then pin=(taskset -c "$cpus"); fi
# Peak RSS (KiB) of a command into a file, when GNU time is there.
peak_rss() {  # peak_rss FILE COMMAND...
  local out=$1
  shift
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -f %M -o "$out" "$@"
  else
    echo "n/a" > "$out"
    "$@"
  fi
}

photos=(/usr/share/doc/opencv-doc/examples/data/*.jpg)
photos=("${photos[@]:0:${PHOTOS_LIMIT:-${#photos[@]}}}")
n=${#photos[@]}
many=$((4 * n))
tfjs_cpu_n=$((n < ${TFJS_LIMIT:-12} ? n : ${TFJS_LIMIT:-12}))
printf '%s\n' "${photos[@]}" > "$work/photos.txt"
for _ in 1 2 3 4; do printf '%s\n' "${photos[@]}"; done > "$work/photos-$many.txt"
echo "bench: $n photos, cores $cpus, zoo --threads $threads, tfjs cpu on the first $tfjs_cpu_n" >&2

# The configs with weights: and labels_path: made absolute, to run from $work.
absolute_config() {  # absolute_config CONFIG OUT
  local dir line
  dir=$(cd "$(dirname "$1")" && pwd)
  while IFS= read -r line; do
    if [[ $line =~ ^(weights|labels_path):\ *([^/\ ].*)$ ]]; then
      line="${BASH_REMATCH[1]}: $(realpath -m "$dir/${BASH_REMATCH[2]}")"
    fi
    printf '%s\n' "$line"
  done < "$1" > "$2"
}

# Python's decoding for tfjs: each photo read by cv2, made RGB and stretched
# to SIZE x SIZE (bilinear) into a uint8 .npy; seconds per photo (without the
# .npy write) into decode-SIZE.json.
predecode() {  # predecode SIZE
  mkdir -p "$work/npy-$1"
  "${pin[@]}" /usr/bin/python3 - "$work" "$1" <<'PY'
import json, os, sys, time
import cv2, numpy as np
work, size = sys.argv[1], int(sys.argv[2])
seconds, files = [], []
for path in open(f"{work}/photos.txt").read().split():
    t0 = time.perf_counter()
    image = cv2.resize(cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB), (size, size),
                       interpolation=cv2.INTER_LINEAR)
    seconds.append(time.perf_counter() - t0)
    out = f"{work}/npy-{size}/{os.path.splitext(os.path.basename(path))[0]}.npy"
    np.save(out, np.ascontiguousarray(image))
    files.append(out)
json.dump(seconds, open(f"{work}/decode-{size}.json", "w"))
open(f"{work}/npy-{size}.txt", "w").write("\n".join(files) + "\n")
PY
}

tfjs_run() {  # tfjs_run NAME MODEL_JSON BACKEND SIZE INT LIST OUTPUT...: NAME.json, NAME.rss
  local name=$1 list=$6
  shift
  peak_rss "$work/$name.rss" "${pin[@]}" env TFJS_DIR="$tfjs_dir" THREADS=$threads \
    node scripts/bench/tfjs_bench.js "$1" "$2" "$3" "$4" "$list" "${@:6}" > "$work/$name.out" 2> "$work/$name.log"
  grep '^{' "$work/$name.out" > "$work/$name.json"
  grep '^tfjs_bench:' "$work/$name.log" >&2
}

rm -f "$work/results.txt"
# Other processes on the same cores spoil the figures: the time some task
# waited for a CPU (PSI), over the whole run, is printed at the end.
psi() { sed -n 's/^some .*total=\([0-9]*\)/\1/p' /proc/pressure/cpu 2>/dev/null || true; }
psi_start=$(psi)
run_start=$(date +%s.%N)
for model in centernet movenet; do
  absolute_config "configs/$model.yaml" "$work/$model.yaml"
  graph=$(sed -n 's/^weights: *//p' "$work/$model.yaml")
  size=$(sed -n 's/^image_size: *\[\([0-9]*\),.*/\1/p' "$work/$model.yaml")
  int=0
  outputs=(tower_0/detections)
  if [[ $model == movenet ]]; then int=1; outputs=(); fi

  # zoo: every photo, its own decoding included; the summary line's rate
  # (processing loop), the whole command's wall time, and its peak RSS.
  echo "bench: $model on zoo" >&2
  start=$(date +%s.%N)
  peak_rss "$work/$model-zoo.rss" "${pin[@]}" "$zoo" apply "$work/$model.yaml" --files-from "$work/photos.txt" \
    --threads $threads --workers $threads --progress none -o "$work/$model-zoo.jsonl" 2> "$work/$model-zoo.log"
  end=$(date +%s.%N)
  loop=$(grep -o '([0-9.]* images/s)' "$work/$model-zoo.log" | tr -d '(' | cut -d' ' -f1)
  peak_rss "$work/$model-zoo-$many.rss" "${pin[@]}" "$zoo" apply "$work/$model.yaml" \
    --files-from "$work/photos-$many.txt" --threads $threads --workers $threads -q -o "$work/$model-zoo-$many.jsonl"

  # tfjs: decode once with Python, then the cpu backend (first TFJS_LIMIT
  # photos), the wasm backend, and the wasm backend as 2 processes on half the
  # photos each (it runs on one thread in Node, so that is how it would use
  # both cores).
  predecode "$size"
  head -n "$tfjs_cpu_n" "$work/npy-$size.txt" > "$work/npy-$size-cpu.txt"
  echo "bench: $model on tfjs cpu ($tfjs_cpu_n photos), wasm ($n), wasm in 2 processes" >&2
  tfjs_run "$model-cpu" "$graph" cpu "$size" $int "$work/npy-$size-cpu.txt" "${outputs[@]}"
  tfjs_run "$model-wasm" "$graph" wasm "$size" $int "$work/npy-$size.txt" "${outputs[@]}"
  sed -n '1~2p' "$work/npy-$size.txt" > "$work/npy-$size-half0.txt"
  sed -n '2~2p' "$work/npy-$size.txt" > "$work/npy-$size-half1.txt"
  tfjs_run "$model-wasm2-0" "$graph" wasm "$size" $int "$work/npy-$size-half0.txt" "${outputs[@]}" &
  first=$!
  if [[ $n -gt 1 ]]; then
    tfjs_run "$model-wasm2-1" "$graph" wasm "$size" $int "$work/npy-$size-half1.txt" "${outputs[@]}"
  else
    echo '{"images": 0, "total_ms": 0}' > "$work/$model-wasm2-1.json"
    echo "n/a" > "$work/$model-wasm2-1.rss"
  fi
  wait "$first"
  echo "$model $n $loop $(/usr/bin/python3 -c "print($n / ($end - $start))") $size" >> "$work/results.txt"
done

psi_end=$(psi)
run_end=$(date +%s.%N)
/usr/bin/python3 - "$work" "$many" "$cpus" "$threads" "$psi_start" "$psi_end" "$run_start" "$run_end" <<'PY'
import json, sys
work, many, cpus, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
psi_start, psi_end, run_start, run_end = sys.argv[5:9]
def load(name):
    return json.loads(open(f"{work}/{name}.json").read().splitlines()[-1])
def mib(name):
    v = open(f"{work}/{name}.rss").read().split()[-1]
    return float(v) / 1024 if v != "n/a" else float("nan")
rows, notes, mem = [], [], []
first = True
for line in open(f"{work}/results.txt"):
    model, n, loop, wall, size = line.split()
    n, loop, wall = int(n), float(loop), float(wall)
    decode = json.load(open(f"{work}/decode-{size}.json"))
    cpu, wasm = load(f"{model}-cpu"), load(f"{model}-wasm")
    halves = [load(f"{model}-wasm2-{i}") for i in (0, 1)]
    if first:
        print(f"{n} photos of /usr/share/doc/opencv-doc/examples/data, cores {cpus}; zoo apply --threads {threads} "
              f"--workers {threads} (batch 16); tfjs {wasm['tfjs']} in Node, one image per call; one run each.")
        print(f"tfjs wasm: {wasm['detail']}. tfjs cpu: {cpu['detail']}, on the first {cpu['images']} photos only "
              f"(TFJS_LIMIT; its rate is per image).")
        print("zoo's rates include decoding the JPEGs and resizing. tfjs 'model only' = .npy read + tensor + "
              "execute + outputs read back; '+ decode' adds the time Python's cv2 took to decode and stretch the "
              "same photos (serially, 1 process; for the 2-process rows, the longer half's). Rates exclude model "
              "loading, except zoo's 'whole command'.")
        print()
        print(f"{'model':10s} {'engine':42s} {'images/s':>9s} {'zoo/this':>9s}")
        first = False
    e2e = lambda r, imgs: imgs / (r / 1000 + sum(decode[:imgs])) if imgs else float("nan")
    cpu_model = cpu["images_per_s"]
    cpu_e2e = e2e(cpu["total_ms"], cpu["images"])
    wasm_model = wasm["images_per_s"]
    wasm_e2e = e2e(wasm["total_ms"], wasm["images"])
    # Two processes at once: both halves' images over the longer one's time;
    # each half's decoding is its own (the Python step could be split too).
    span = max(h["total_ms"] for h in halves) / 1000
    dec2 = max(sum(decode[0::2]), sum(decode[1::2]))
    two_model = n / span
    two_e2e = n / (span + dec2)
    table = [
        ("zoo apply (processing loop)", loop),
        ("zoo apply (whole command, incl. model load)", wall),
        ("tfjs cpu: model only", cpu_model),
        ("tfjs cpu: + decode", cpu_e2e),
        (f"tfjs wasm ({wasm['threads']} thread): model only", wasm_model),
        (f"tfjs wasm ({wasm['threads']} thread): + decode", wasm_e2e),
        ("tfjs wasm, 2 processes: model only", two_model),
        ("tfjs wasm, 2 processes: + decode", two_e2e),
    ]
    for engine, rate in table:
        ratio = "" if engine.startswith("zoo") else f"{loop / rate:8.2f}x"
        print(f"{model:10s} {engine:42s} {rate:9.2f} {ratio:>9s}")
    fast_e2e, fast_model = max(cpu_e2e, wasm_e2e), max(cpu_model, wasm_model)
    r = loop / fast_e2e
    notes.append(f"{model}: zoo / fastest tfjs (one process, + decode) = {r:.2f}x "
                 f"(target >= 2x: {'met' if r >= 2 else 'NOT met'}); vs its model only {loop / fast_model:.2f}x; "
                 f"vs wasm in 2 processes + decode {loop / two_e2e:.2f}x, model only {loop / two_model:.2f}x")
    zn, zm = mib(f"{model}-zoo"), mib(f"{model}-zoo-{many}")
    zoo_mem = f"zoo {zn:.0f} MiB for {n} photos, {zm:.0f} MiB for {many} ({(zm / zn - 1) * 100:+.1f}%)"
    mem.append(f"{model}: {zoo_mem}; "
               f"tfjs cpu {mib(f'{model}-cpu'):.0f} MiB ({cpu['images']} photos), wasm {mib(f'{model}-wasm'):.0f} MiB "
               f"({n}), wasm 2 processes {mib(f'{model}-wasm2-0'):.0f} + {mib(f'{model}-wasm2-1'):.0f} MiB")
print()
for line in notes:
    print(line)
print("peak RSS (/usr/bin/time %M):")
for line in mem:
    print("  " + line)
if psi_start and psi_end:
    waited = (int(psi_end) - int(psi_start)) / 1e6 / (float(run_end) - float(run_start))
    print(f"CPU contention: some task waited for a CPU {waited * 100:.0f}% of the run's "
          f"{float(run_end) - float(run_start):.0f} s (/proc/pressure/cpu, this run included; much more than a few % = other load, figures suspect)")
PY
