#!/usr/bin/env bash
# Builds libvecstore and examples/quickstart.c, then runs the quick start in a
# fresh directory. Installs cmake when missing. Usage: scripts/demo.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cmake >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq cmake >/dev/null
fi
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=Release -DVECSTORE_BUILD_TESTS=OFF >/dev/null
cmake --build build/demo -j2 --target quickstart
dir="${1:-$(mktemp -d)/store}"
./build/demo/quickstart "$dir"
