#!/usr/bin/env bash
# Installs every Debian package zoo needs to build, run and test, then
# configures and builds it in Release with ccache. Idempotent: when all
# packages are present and the build is up to date it only runs `cmake --build`.
#
#   ./scripts/setup.sh            install + build
#   ZOO_SKIP_BUILD=1 ./scripts/setup.sh   install only
set -euo pipefail

cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libdnnl-dev libopenblas0-pthread libopenblas0-openmp
  libopencv-dev libyaml-cpp-dev libfmt-dev libcli11-dev doctest-dev
  nlohmann-json3-dev libcurl4-openssl-dev libssl-dev libexpected-dev
  python3-torch python3-torchvision python3-numpy python3-pil python3-opencv
  opencv-doc opencv-data darknet
  docker-registry apache2-utils openssl skopeo
  slurmctld slurmd slurm-client munge procps
  chromium
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# opencv-doc ships some sample data compressed; the tests and the demo need
# the plain files.
data=/usr/share/doc/opencv-doc/examples/data
if [[ -d $data ]]; then
  for gz in "$data"/*.gz; do
    [[ -e $gz ]] || continue
    plain="${gz%.gz}"
    if [[ ! -e $plain ]]; then
      sudo=""; if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
      $sudo sh -c "gzip -dc '$gz' > '$plain'"
    fi
  done
fi

build=${ZOO_BUILD_DIR:-build}
# Pretrained TensorFlow.js models (configs/centernet.yaml, ...) and
# TensorFlow.js itself for the reference tests, from the npm registry.
./scripts/setup-tfjs.sh "$build/tfjs"

if [[ ${ZOO_SKIP_BUILD:-0} == 1 ]]; then exit 0; fi

if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
fi
cmake --build "$build" -j"$(nproc)"
