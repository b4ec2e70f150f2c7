#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit, end-to-end,
# reference against PyTorch) with ctest. Extra arguments go to ctest, e.g.
#   ./scripts/test.sh -R e2e_test_apply_resume
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
cd "${ZOO_BUILD_DIR:-build}"
# One test at a time: the tests time real runs and use both cores.
ctest --output-on-failure "$@"
