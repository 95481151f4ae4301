#!/usr/bin/env bash
# Builds c_tests/consumer/main.c against an installed vecstore and runs it:
#   1. CMake:      find_package(vecstore CONFIG REQUIRED) -> vecstore::vecstore
#                  (and vecstore::vecstore_static)
#   2. pkg-config: cc main.c $(pkg-config --cflags --libs vecstore), and a
#                  static link with --static (uses Libs.private)
#   3. the vecstore tool in PREFIX/bin runs (a pipe into a new store and a
#      read back), and its bash and zsh completions are installed
# Usage: check.sh PREFIX     (e.g. after: cmake --install build/c --prefix PREFIX)
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 PREFIX" >&2
  exit 2
fi
prefix=$(cd "$1" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cc=${CC:-cc}
work=$(mktemp -d /tmp/vecstore-consumer-build-XXXXXX)
trap 'rm -rf "$work"' EXIT

# Where the installed pkg-config file is (lib, lib64 or lib/<multiarch>).
pcdir=$(dirname "$(find "$prefix" -name vecstore.pc -path '*/pkgconfig/*' | head -n1)")
if [[ ! -f "$pcdir/vecstore.pc" ]]; then
  echo "check.sh: no vecstore.pc under $prefix" >&2
  exit 1
fi

echo "== CMake find_package (prefix $prefix)"
cmake -S "$here" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/cmake" >/dev/null
# The shared build needs no LD_LIBRARY_PATH: CMake puts the imported
# library's directory in the build-tree RPATH.
"$work/cmake/consumer_shared"
if [[ -x "$work/cmake/consumer_static" ]]; then
  "$work/cmake/consumer_static"
  if ldd "$work/cmake/consumer_static" | grep -q libvecstore; then
    echo "check.sh: consumer_static is dynamically linked to libvecstore" >&2
    exit 1
  fi
else
  echo "check.sh: vecstore::vecstore_static missing from the package" >&2
  exit 1
fi

echo "== pkg-config ($pcdir/vecstore.pc)"
export PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
pkg-config --exists --print-errors vecstore
echo "   version $(pkg-config --modversion vecstore)"
echo "   cflags  $(pkg-config --cflags vecstore)"
echo "   libs    $(pkg-config --libs vecstore)"
echo "   static  $(pkg-config --static --libs vecstore)"
libdir=$(pkg-config --variable=libdir vecstore)
# shellcheck disable=SC2046
"$cc" -std=c11 -Wall -Wextra -Werror "$here/main.c" -o "$work/pc_shared" \
  $(pkg-config --cflags --libs vecstore)
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$work/pc_shared"
# The loader must find it by its SONAME (libvecstore.so.0.MINOR while the major
# version is 0, libvecstore.so.MAJOR from 1.0 on), which the install provides.
ldd_line=$(LD_LIBRARY_PATH="$libdir" ldd "$work/pc_shared" | grep libvecstore)
echo "   ldd: $ldd_line"
if [[ $ldd_line != *"=> $libdir/"* ]]; then
  echo "check.sh: pc_shared does not find libvecstore in $libdir" >&2
  exit 1
fi

# Static: -lvecstore resolved to libvecstore.a, plus Libs.private.
static_libs=$(pkg-config --static --libs vecstore | sed 's/-lvecstore/-Wl,-Bstatic -lvecstore -Wl,-Bdynamic/')
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Wextra -Werror "$here/main.c" -o "$work/pc_static" \
  $(pkg-config --cflags vecstore) $static_libs
"$work/pc_static"
if ldd "$work/pc_static" | grep -q libvecstore; then
  echo "check.sh: pc_static is dynamically linked to libvecstore" >&2
  exit 1
fi

echo "== the vecstore tool ($prefix/bin/vecstore)"
tool="$prefix/bin/vecstore"
"$tool" --version
printf '{"id": 7, "vector": [0.5, 1.5]}\n' | "$tool" import "$work/store" - --format jsonl
if [[ $("$tool" get "$work/store" 7) != "0.5 1.5" ]]; then
  echo "check.sh: the installed tool did not read back what it imported" >&2
  exit 1
fi
"$tool" copy "$work/store" "$work/copy" >/dev/null
"$tool" verify "$work/copy" >/dev/null
for completion in share/bash-completion/completions/vecstore share/zsh/site-functions/_vecstore; do
  if ! grep -q "skip-damaged" "$prefix/$completion"; then
    echo "check.sh: $prefix/$completion missing or not vecstore's" >&2
    exit 1
  fi
done

echo "consumer check: all 4 builds (cmake shared/static, pkg-config shared/static) and the tool OK"
