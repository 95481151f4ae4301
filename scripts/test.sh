#!/usr/bin/env bash
# Runs every test of vecstore. Installs what it needs (cmake, clang, valgrind,
# pkg-config) from Debian's packages when missing. Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
step() { printf '\n==> %s\n' "$*"; }

need=()
for tool in cmake:cmake clang:clang valgrind:valgrind pkg-config:pkg-config; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  step "installing ${need[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

step "format and lint"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Rust tests (unit, model-based, SIGKILL crash trials, header drift)"
cargo test --workspace --locked
if ! git diff --quiet -- include/vecstore.h 2>/dev/null; then
  echo "include/vecstore.h changed when regenerated: commit the new header" >&2
  exit 1
fi

step "ABI check (ctest2)"
cargo run --locked -q -p vecstore-systest

step "C tests (CMake + ctest)"
cmake -S . -B build/c -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build/c -j2
ctest --test-dir build/c --output-on-failure

step "C tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DVECSTORE_SANITIZE=ON >/dev/null
cmake --build build/asan -j2
ctest --test-dir build/asan --output-on-failure

step "C tests under valgrind memcheck"
cmake -S . -B build/valgrind -DCMAKE_BUILD_TYPE=Debug -DVECSTORE_VALGRIND=ON >/dev/null
cmake --build build/valgrind -j2
ctest --test-dir build/valgrind --output-on-failure

step "install, then consumers via find_package and pkg-config"
prefix="$root/build/prefix"
rm -rf "$prefix"
cmake --install build/c --prefix "$prefix" >/dev/null
bash c_tests/consumer/check.sh "$prefix"

step "Clang module map (as Swift's importer reads it)"
clang -fmodules -fmodules-cache-path="$root/build/modules" -I include \
  -fmodule-map-file=include/module.modulemap -fsyntax-only -x objective-c - <<'C'
@import vecstore;
int main(void) { return vecstore_version_number() == VECSTORE_VERSION_NUMBER ? 0 : 1; }
C

echo
echo "all tests passed"
