#!/usr/bin/env bash
# Benchmark (not a test): for each built-in architecture, the images/s of
# zoo's built-in network (`entrypoint: NAME`, `weights: NAME.pth`, a
# state dict) against the same architecture exported from torchvision to
# TorchScript (`entrypoint: torchscript`, torch.jit.script), both loaded and
# optimised by zoo the same way. Model only (zoo bench: random input
# tensors, no decoding), fp32, batch 1 and 16, same weights (random, fixed
# seed; scripts/bench/export_models.py), same machine, one run.
#   Target: built-in / TorchScript >= 0.95 for every architecture.
# The two run in one process, batch by batch in turn (zoo bench BUILTIN
# --compare TORCHSCRIPT), so the machine's own speed swings (here +-20%
# from one second to the next) slow both alike; the ratio is the median
# over the pairs of adjacent batches. Each comparison runs about
# SECONDS_PER_RUN seconds (default 10, at least 3 pairs) after model
# loading and a warm-up batch of each.
# ARCHS="resnet18 mobilenet_v2" picks architectures (default: all);
# ZOO_BUILD_DIR the build (default build/); THREADS the Torch threads. On a
# machine shared with other jobs, OMP_WAIT_POLICY=passive (see README.md)
# keeps spinning threads from making single runs many times slower.
# Exports are kept in BUILD/bench/models (about 3.5 GB for all); delete it
# to export again.
set -euo pipefail
cd "$(dirname "$0")/../.."

build=${ZOO_BUILD_DIR:-build}
[[ -x $build/zoo ]] || ./scripts/setup.sh
zoo=$build/zoo
work=$build/bench/models
threads=${THREADS:-$(nproc)}
seconds=${SECONDS_PER_RUN:-10}
all="resnet18 resnet34 resnet50 resnet101 resnet152 resnext50_32x4d wide_resnet50_2 mobilenet_v2
     mobilenet_v3_small mobilenet_v3_large efficientnet_b0 efficientnet_b1 efficientnet_b2 efficientnet_b3
     densenet121 convnext_tiny vit_b_16 small_cnn"
read -r -a archs <<< "$(echo ${ARCHS:-$all})"
mkdir -p "$work"

for arch in "${archs[@]}"; do
  [[ " $(echo $all) " == *" $arch "* ]] || { echo "models.sh: unknown architecture \"$arch\" (known: $(echo $all))" >&2; exit 2; }
done

start=$(date +%s)
echo "bench: ${#archs[@]} architecture(s), fp32, $threads threads, $(nproc) cores," \
  "OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset}, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start" >&2
/usr/bin/python3 scripts/bench/export_models.py "$work" "${archs[@]}" 2> >(grep -v -i warning >&2)

for arch in "${archs[@]}"; do
  if [[ $arch == small_cnn ]]; then
    pre=$'image_channels: 1\nimage_size: [20, 20]\nimage_mean: [0.5]\nimage_std: [0.5]'
  else
    pre=$'image_dim: 256\ncenter_crop: 224\nimage_mean: [0.485, 0.456, 0.406]\nimage_std: [0.229, 0.224, 0.225]'
  fi
  printf 'entrypoint: %s\nweights: %s.pth\n%s\n' "$arch" "$arch" "$pre" > "$work/$arch-builtin.yaml"
  printf 'entrypoint: torchscript\nweights: %s.pt\n%s\n' "$arch" "$pre" > "$work/$arch-torchscript.yaml"
done

results=()
printf '%-20s %5s %16s %16s %7s\n' architecture batch "built-in img/s" "TorchScript img/s" ratio
for arch in "${archs[@]}"; do
  for batch in 1 16; do
    log=$work/$arch-b$batch.log
    if "$zoo" bench "$work/$arch-builtin.yaml" --compare "$work/$arch-torchscript.yaml" --batch-size "$batch" \
        --batches 3 --seconds "$seconds" --threads "$threads" > "$work/$arch-b$batch.out" 2> "$log"; then
      read -r builtin script ratio < <(cut -d' ' -f1 "$work/$arch-b$batch.out" | paste -sd' ')
      ratio=$(printf '%.2f' "$ratio")
    else
      builtin=failed script=failed ratio=-
      echo "  zoo bench failed: $(grep -m1 error "$log" | cut -c1-160) ($log)"
    fi
    printf '%-20s %5d %16s %16s %7s\n' "$arch" "$batch" "$builtin" "$script" "$ratio"
    if grep -q -E 'warning' "$log"; then echo "  $(grep -m1 -E 'warning' "$log" | cut -c1-160) ($log)"; fi
    results+=("$arch $batch $ratio")
  done
done

printf '%s\n' "${results[@]}" | awk -v took=$(( $(date +%s) - start )) -v load="$(cut -d' ' -f1-3 /proc/loadavg)" '
  { ok = ($3 != "-" && $3 + 0 >= 0.95); if (!($1 in pass)) { pass[$1] = 1; order[++n] = $1 }
    if (!ok) { pass[$1] = 0; low[$1] = low[$1] sprintf(" b%s %s", $2, $3) } }
  END {
    for (i = 1; i <= n; i++) if (pass[order[i]]) { met = met " " order[i]; m++ } else missed = missed sprintf(" %s (%s)", order[i], substr(low[order[i]], 2))
    printf "ratio >= 0.95 at batch 1 and 16: %d of %d:%s\n", m, n, (m ? met : " none")
    if (missed != "") printf "below 0.95:%s\n", missed
    printf "took %d s; load average %s at the end\n", took, load > "/dev/stderr"
  }'
