#!/usr/bin/env bash
# Runs the whole test suite from a fresh Debian 12 machine: installs what is missing,
# builds, then runs every test through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cd "${SEYE_BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)" --timeout 900
