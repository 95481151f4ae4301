#!/usr/bin/env bash
# Builds c_tests/consumer/main.c against a CMake build tree, the supported way
# to use vecstore without installing it (README, "Without installing"):
#   cc app.c -I include -L BUILD/lib -lvecstore -Wl,-rpath,BUILD/lib
# then runs it with no LD_LIBRARY_PATH: the loader must find the library by
# its SONAME in BUILD/lib, where CMake staged it with its symlinks.
# Usage: build_tree.sh BUILD_DIR     (after: cmake --build BUILD_DIR)
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
cc=${CC:-cc}
work=$(mktemp -d /tmp/vecstore-build-tree-XXXXXX)
trap 'rm -rf "$work"' EXIT

"$cc" -std=c11 -Wall -Wextra -Werror "$here/main.c" -o "$work/app" \
  -I "$src/include" -L "$build/lib" -lvecstore -Wl,-rpath,"$build/lib"
line=$(env -u LD_LIBRARY_PATH ldd "$work/app" | grep libvecstore)
echo "ldd: $line"
if [[ $line != *"=> $build/lib/"* ]]; then
  echo "build_tree.sh: libvecstore was not found in $build/lib" >&2
  exit 1
fi
env -u LD_LIBRARY_PATH "$work/app"
