#!/usr/bin/env bash
# Benchmark (not a test): zoo against what a user could pick instead for
# fast CPU inference, on the same models, cores and fp32 numbers:
# ONNX Runtime (onnxruntime-node's CPU provider: all graph optimisations,
# THREADS intra-op threads) and OpenCV's DNN module (which reads ONNX).
#   Target (issue 24): zoo / ORT >= 1.0 for each model at batch 1 and 16.
# Each model is exported by scripts/bench/export_models.py with random
# weights (fixed seed) to a state dict (what zoo's built-in runs) and to
# ONNX (torch.onnx.export, opset 13, the batch dimension dynamic: what ORT
# and OpenCV run). Model only: random input tensors, no decoding.
# The engines run in turn, ROUNDS rounds of SECONDS_PER_RUN seconds each
# (zoo, ORT, OpenCV, zoo, ...), so the machine's speed swings (+-20% here)
# fall on all alike; each figure is the median of its rounds.
# Parity: one real photo through each engine, every output against
# PyTorch's (torchvision, the same weights): the largest difference over
# PyTorch's largest logit.
#   MODELS="resnet18 mobilenet_v2 efficientnet_b0"  torchvision names
#   BATCHES="1 16"  ROUNDS=3  SECONDS_PER_RUN=10  THREADS=$(nproc)
#   ZOO=build/zoo   the zoo binary measured
#   PEERS="ort opencv"  the peers run (opencv is the slow one to skip)
# Installs what it needs: Debian's python3-onnx (torch.onnx.export), and
# onnxruntime-node from npm into BUILD/bench/ort (its install script would
# download a GPU provider, which fails offline: skipped; the CPU library
# ships in the package).
set -euo pipefail
cd "$(dirname "$0")/../.."

build=${ZOO_BUILD_DIR:-build}
[[ -x $build/zoo ]] || ./scripts/setup.sh
zoo=${ZOO:-$build/zoo}
work=$build/bench/models
parity=$build/bench/parity
ort_dir=$build/bench/ort
ort_version=1.31.1
threads=${THREADS:-$(nproc)}
seconds=${SECONDS_PER_RUN:-10}
rounds=${ROUNDS:-3}
read -r -a models <<< "${MODELS:-resnet18 mobilenet_v2 efficientnet_b0}"
read -r -a batches <<< "${BATCHES:-1 16}"
read -r -a peers <<< "${PEERS:-ort opencv}"
photo=/usr/share/doc/opencv-doc/examples/data/messi5.jpg

if ! /usr/bin/python3 -c "import onnx" 2> /dev/null; then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends python3-onnx
fi
if [[ $(node -p "require('./$ort_dir/node_modules/onnxruntime-node/package.json').version" 2> /dev/null) != "$ort_version" ]]; then
  mkdir -p "$ort_dir"
  [[ -f $ort_dir/package.json ]] || echo '{"private": true}' > "$ort_dir/package.json"
  (cd "$ort_dir" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --ignore-scripts \
    "onnxruntime-node@$ort_version" > /dev/null)
fi
export ORT_NODE_MODULES=$ort_dir/node_modules

mkdir -p "$work" "$parity"
echo "bench: ${models[*]}; batches ${batches[*]}; $rounds rounds of ${seconds} s; $threads threads, $(nproc) cores;" \
  "onnxruntime-node $ort_version; load average $(cut -d' ' -f1-3 /proc/loadavg) at the start" >&2
/usr/bin/python3 scripts/bench/export_models.py --onnx "$work" "${models[@]}" 2> >(grep -v -i warning >&2)
/usr/bin/python3 scripts/bench/onnx_peers.py prepare "$parity" "$photo"

pre=$'image_mean: [0.485, 0.456, 0.406]\nimage_std: [0.229, 0.224, 0.225]'
echo "== parity on $(basename "$photo") (largest difference from PyTorch over its largest logit)"
for m in "${models[@]}"; do
  printf 'entrypoint: %s\nweights: %s.pth\nimage_dim: 256\ncenter_crop: 224\n%s\n' "$m" "$m" "$pre" > "$work/$m-builtin.yaml"
  # The parity photo is 224x224 already: the resize does nothing.
  printf 'entrypoint: %s\nweights: %s.pth\nimage_size: [224, 224]\n%s\n' "$m" "$m" "$pre" > "$work/$m-parity.yaml"
  /usr/bin/python3 scripts/bench/onnx_peers.py torch "$parity" "$work" "$m" 2> /dev/null
  rm -f "$parity/$m".{zoo.jsonl,ort.bin,opencv.bin}
  "$zoo" apply "$work/$m-parity.yaml" "$parity/parity.png" --store-logits -o "$parity/$m.zoo.jsonl" -q --threads "$threads" || true
  [[ " ${peers[*]} " == *" ort "* ]] &&
    { node scripts/bench/ort_bench.js "$work/$m.onnx" run "$parity/input.bin" "$parity/$m.ort.bin" 1,3,224,224 "$threads" || true; }
  [[ " ${peers[*]} " == *" opencv "* ]] &&
    { /usr/bin/python3 scripts/bench/onnx_peers.py opencv-run "$parity" "$work" "$m" "$threads" 2>&1 |
        grep -v -E '^\[ERROR' | sed 's/^/  /' || true; }
  printf '%-18s %s\n' "$m" "$(/usr/bin/python3 scripts/bench/onnx_peers.py compare "$parity" "$m" "$parity/$m.zoo.jsonl")"
done

# median VALUES...: the median, or "failed" when a run failed.
median() {
  printf '%s\n' "$@" | sort -g | awk '/failed/ { bad = 1 } { v[NR] = $1 } END {
    if (bad || NR == 0) print "failed"; else printf "%.1f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# ratio A B: A / B to 2 places, or "-".
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'; }

echo "== images/s (median of $rounds rounds of ${seconds} s; engines in turn)"
printf '%-18s %5s %10s %10s %10s %9s %12s\n' model batch zoo ORT OpenCV "zoo/ORT" "zoo/OpenCV"
for m in "${models[@]}"; do
  for b in "${batches[@]}"; do
    zs=() os=() cs=()
    for ((r = 0; r < rounds; ++r)); do
      zs+=("$("$zoo" bench "$work/$m-builtin.yaml" --batch-size "$b" --batches 3 --seconds "$seconds" \
                --threads "$threads" 2> /dev/null | cut -d' ' -f1 || echo failed)")
      [[ " ${peers[*]} " == *" ort "* ]] &&
        os+=("$(node scripts/bench/ort_bench.js "$work/$m.onnx" bench "$b" "$seconds" "$threads" | cut -d' ' -f1 || echo failed)")
      [[ " ${peers[*]} " == *" opencv "* ]] &&
        cs+=("$(/usr/bin/python3 scripts/bench/onnx_peers.py opencv-bench "$work/$m.opencv.onnx" "$b" "$seconds" "$threads" \
                 2> /dev/null | cut -d' ' -f1 || echo failed)")
    done
    z=$(median "${zs[@]}")
    o=$( ((${#os[@]})) && median "${os[@]}" || echo -)
    c=$( ((${#cs[@]})) && median "${cs[@]}" || echo -)
    printf '%-18s %5d %10s %10s %10s %9s %12s\n' "$m" "$b" "$z" "$o" "$c" "$(ratio "$z" "$o")" "$(ratio "$z" "$c")"
  done
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end" >&2
