#!/usr/bin/env bash
# Benchmark (not a test): zoo apply vs a Python baseline doing what
# FiftyOne's apply_model does, same 200 JPEGs of 1-2 megapixels, same
# resnet18 weights, same machine, one run. Also zoo's model-only throughput
# on pre-decoded tensors (zoo bench), to show how well decoding hides
# behind the model.
#   Targets: zoo >= 1.8x the baseline; zoo apply >= 0.85x zoo bench.
set -euo pipefail
cd "$(dirname "$0")/../.."

build=${ZOO_BUILD_DIR:-build}
[[ -x $build/zoo ]] || ./scripts/setup.sh
zoo=$build/zoo
work=$build/bench
threads=${THREADS:-$(nproc)}
mkdir -p "$work"

[[ -d $work/photos ]] || /usr/bin/python3 scripts/bench/make_photos.py "$work/photos" 200
if [[ ! -f $work/resnet18.pt ]]; then
  /usr/bin/python3 - "$work" <<'PY'
import sys, torch, torchvision
torch.manual_seed(0)
m = torchvision.models.resnet18(num_classes=1000).eval()
torch.save(dict(m.state_dict()), f"{sys.argv[1]}/resnet18_state.pth")
torch.jit.script(m).save(f"{sys.argv[1]}/resnet18.pt")
PY
fi
cat > "$work/resnet18.yaml" <<YAML
entrypoint: torchscript
weights: resnet18.pt
labels_path: /usr/share/doc/opencv-doc/examples/data/dnn/classification_classes_ILSVRC2012.txt
image_dim: 256
center_crop: 224
image_mean: [0.485, 0.456, 0.406]
image_std: [0.229, 0.224, 0.225]
YAML

n=$(ls "$work/photos" | wc -l)
echo "bench: $n JPEGs (1-2 MP), resnet18 fp32, batch 16, $threads threads, $(nproc) cores" >&2

baseline=$(/usr/bin/python3 scripts/bench/baseline_apply.py "$work/resnet18_state.pth" "$work/photos" "$threads")

start=$(date +%s.%N)
"$zoo" apply "$work/resnet18.yaml" "$work/photos" --batch-size 16 --threads "$threads" -o "$work/labels.jsonl" \
  2> "$work/apply.log"
end=$(date +%s.%N)
zoo_loop=$(grep -o '([0-9.]* images/s)' "$work/apply.log" | tr -d '(' | cut -d' ' -f1)
zoo_wall=$(/usr/bin/python3 -c "print(f'{$n / ($end - $start):.2f}')")

model_only=$("$zoo" bench "$work/resnet18.yaml" --batch-size 16 --batches 12 --threads "$threads" 2>/dev/null | cut -d' ' -f1)

/usr/bin/python3 - "$baseline" "$zoo_loop" "$zoo_wall" "$model_only" <<'PY'
import sys
baseline, loop, wall, model = map(float, sys.argv[1:])
print(f"python baseline (FiftyOne-style DataLoader, eager): {baseline:7.2f} images/s")
print(f"zoo apply (processing loop):                        {loop:7.2f} images/s  ({loop / baseline:.2f}x baseline, target >= 1.8x)")
print(f"zoo apply (whole command, incl. model load):        {wall:7.2f} images/s  ({wall / baseline:.2f}x baseline)")
print(f"zoo bench (model only, pre-made tensors):           {model:7.2f} images/s  (apply/model = {loop / model:.2f}, target >= 0.85)")
PY
