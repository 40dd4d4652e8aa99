#!/usr/bin/env bash
# Runs the whole test suite from a fresh Debian 12 machine: installs what is missing, builds,
# runs every test through CTest; then builds again with AddressSanitizer and
# UndefinedBehaviorSanitizer (Debug) and runs the same tests there.
# SEYE_SKIP_SANITIZE=1 skips the second pass (for a quick local run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

jobs="$(nproc)"
echo "== tests (release build)"
(cd "${SEYE_BUILD_DIR:-build}" && ctest --output-on-failure -j "$jobs" --timeout 900)

if [ "${SEYE_SKIP_SANITIZE:-0}" != "1" ]; then
  echo "== tests (ASan + UBSan build)"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSEYE_SANITIZE=ON >/dev/null
  cmake --build build-asan -j "$jobs"
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
  export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  # Tests labelled release_only (the quick demo: training and retraining end to end) run in the
  # release pass only.
  (cd build-asan && ctest --output-on-failure -j "$jobs" --timeout 1800 -LE release_only)
fi
