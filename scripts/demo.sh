#!/usr/bin/env bash
# Builds libvecstore with CMake, compiles examples/quickstart.c against the
# build tree as the README says, then runs the quick start in a fresh directory.
# Installs cmake when missing. Usage: scripts/demo.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/need.sh
need cmake:cmake
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=Release -DVECSTORE_BUILD_TESTS=OFF >/dev/null
cmake --build build/demo -j2 --target vecstore_cargo
# The README's way to use a build that is not installed: link against the
# build tree's lib/ (the library under its SONAME) with an rpath to it.
lib="$PWD/build/demo/lib"
"${CC:-cc}" -std=c11 -O2 -Wall -Wextra examples/quickstart.c -o build/demo/quickstart \
  -I include -L "$lib" -lvecstore -Wl,-rpath,"$lib"
dir="${1:-$(mktemp -d)/store}"
./build/demo/quickstart "$dir"
