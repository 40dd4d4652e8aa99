#!/usr/bin/env bash
# Installs everything steadyeye needs on Debian 12 (root or sudo), then builds it.
# Idempotent: re-running only installs what is missing and rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ccache
  libtorch-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  libsqlite3-dev libssl-dev zlib1g-dev
  libcpp-httplib-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libyaml-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  chromium
  dataset-fashion-mnist
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Web assets (the charting library of reports and dashboards) and the browser-test driver
# (playwright-core, which drives Debian's chromium; it never downloads a browser) come from npm. Node.js and npm are
# only installed from Debian when the machine has no npm of its own.
if ! command -v npm >/dev/null 2>&1; then
  echo "setup: installing nodejs npm"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends nodejs npm
fi
if [ ! -f web/node_modules/echarts/dist/echarts.min.js ] || [ ! -d web/node_modules/playwright-core ]; then
  echo "setup: installing web dependencies (npm ci in web/)"
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi

BUILD_TYPE="${SEYE_BUILD_TYPE:-Release}"
BUILD_DIR="${SEYE_BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" ${SEYE_CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j "$(nproc)"
