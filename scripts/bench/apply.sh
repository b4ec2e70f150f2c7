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

# The same with --precision bf16 (not the target's fp32; shown for reference).
"$zoo" apply "$work/resnet18.yaml" "$work/photos" --batch-size 16 --threads "$threads" --precision bf16 \
  -o "$work/labels-bf16.jsonl" 2> "$work/apply-bf16.log"
bf16_loop=$(grep -o '([0-9.]* images/s)' "$work/apply-bf16.log" | tr -d '(' | cut -d' ' -f1)
bf16_model=$("$zoo" bench "$work/resnet18.yaml" --batch-size 16 --batches 12 --threads "$threads" --precision bf16 \
  2>/dev/null | cut -d' ' -f1)

/usr/bin/python3 - "$baseline" "$zoo_loop" "$zoo_wall" "$model_only" "$bf16_loop" "$bf16_model" <<'PY'
import sys
baseline, loop, wall, model, bf16_loop, bf16_model = map(float, sys.argv[1:])
print(f"python baseline (FiftyOne-style DataLoader, eager): {baseline:7.2f} images/s")
print(f"zoo apply fp32 (processing loop):                   {loop:7.2f} images/s  ({loop / baseline:.2f}x baseline, target >= 1.8x)")
print(f"zoo apply fp32 (whole command, incl. model load):   {wall:7.2f} images/s  ({wall / baseline:.2f}x baseline)")
print(f"zoo bench fp32 (model only, pre-made tensors):      {model:7.2f} images/s  (apply/model = {loop / model:.2f}, target >= 0.85;"
      f" model-only is {model / baseline:.2f}x baseline)")
print(f"zoo apply bf16 (processing loop):                   {bf16_loop:7.2f} images/s  ({bf16_loop / baseline:.2f}x baseline)")
print(f"zoo bench bf16 (model only):                        {bf16_model:7.2f} images/s  (apply/model = {bf16_loop / bf16_model:.2f})")
PY

# Memory does not grow with the number of inputs: peak RSS for the 200
# photos vs the same photos listed 10 times (2000 inputs).
for i in $(seq 10); do ls "$work"/photos/*.jpg; done > "$work/list-2000.txt"
ls "$work"/photos/*.jpg > "$work/list-200.txt"
/usr/bin/python3 - "$zoo" "$work" "$threads" <<'PY'
import resource, subprocess, sys
zoo, work, threads = sys.argv[1:]
def peak(n):
    # A fresh child per measurement: ru_maxrss of RUSAGE_CHILDREN is the
    # largest child so far, so measure the small run first.
    subprocess.run([zoo, "apply", f"{work}/resnet18.yaml", "--files-from", f"{work}/list-{n}.txt", "-q",
                    "--threads", threads, "-o", f"{work}/labels-{n}.jsonl"], check=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
small = peak(200)
large = peak(2000)
print(f"peak RSS: {small:.0f} MiB for 200 inputs, {large:.0f} MiB for 2000 ({(large / small - 1) * 100:+.1f}%)")
PY
