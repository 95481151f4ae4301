#!/usr/bin/env bash
# Runs every test of vecstore. Installs what it needs (cmake, clang, valgrind,
# pkg-config) from Debian's packages when missing. Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
step() { printf '\n==> [%d s] %s\n' "$SECONDS" "$*"; }

. scripts/need.sh
need cmake:cmake clang:clang valgrind:valgrind pkg-config:pkg-config

step "format and lint"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

# Test counts, for the closing summary line.
counts="$root/build/test-counts"
mkdir -p build && : > "$counts"
count_cargo() { grep -E '^test result:' "$1" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/' >> "$counts"; }
count_ctest() { grep -E 'tests passed, [0-9]+ tests failed out of' "$1" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2 \1/' | awk '{print $1-$2, $2}' >> "$counts"; }

step "Rust tests (unit, model-based, SIGKILL crash, power cuts, corruption, I/O faults, full disk, lifecycle, concurrency, CLI, header drift)"
cargo test --workspace --locked 2>&1 | tee build/cargo-test.log
count_cargo build/cargo-test.log
# The drift test above already fails on a stale header; this says so plainly.
cargo run --locked -q -p vecstore-header -- --check

step "aarch64 under qemu-user (unit and store tests; NEON kernels)"
scripts/aarch64.sh 2>&1 | tee build/cargo-aarch64.log
count_cargo build/cargo-aarch64.log

step "ABI check (ctest2)"
cargo run --locked -q -p vecstore-systest

# The four CMake builds run one after another and share one cargo build.
cargo_dir="-DVECSTORE_CARGO_TARGET_DIR=$root/build/cargo-target"
# c_tests DIR TITLE CMAKE_ARGS...: configure build/DIR, build it, run its ctest.
c_tests() {
  local dir=$1 title=$2
  shift 2
  step "C tests $title"
  cmake -S . -B "build/$dir" "$@" "$cargo_dir" >/dev/null
  cmake --build "build/$dir" -j2
  ctest --test-dir "build/$dir" --output-on-failure | tee "build/ctest-$dir.log"
  count_ctest "build/ctest-$dir.log"
}
c_tests c "(CMake + ctest, Debug)" -DCMAKE_BUILD_TYPE=Debug
c_tests release "in Release (-O2: warnings only the optimiser sees)" -DCMAKE_BUILD_TYPE=Release
c_tests asan "under AddressSanitizer + UndefinedBehaviorSanitizer" -DCMAKE_BUILD_TYPE=Debug -DVECSTORE_SANITIZE=ON
c_tests valgrind "under valgrind memcheck" -DCMAKE_BUILD_TYPE=Debug -DVECSTORE_VALGRIND=ON

step "install, then consumers via find_package and pkg-config"
prefix="$root/build/prefix"
rm -rf "$prefix"
cmake --install build/c --prefix "$prefix" >/dev/null
bash c_tests/consumer/check.sh "$prefix"

step "Go and Zig bindings against the installed library"
bash bindings/test.sh "$prefix"

step "Python package (pip install ./bindings/python; pytest against the install)"
bash bindings/python/test.sh 2>&1 | tee build/python-test.log
grep -E '^=+ .* in [0-9.]+s =+$' build/python-test.log | tail -1 \
  | awk '{p=0; f=0; for (i = 2; i < NF; i++) { if ($(i+1) ~ /^passed/) p = $i; if ($(i+1) ~ /^failed/) f = $i } print p, f}' >> "$counts"

step "Clang module map (as Swift's importer reads it)"
clang -fmodules -fmodules-cache-path="$root/build/modules" -I include \
  -fmodule-map-file=include/module.modulemap -fsyntax-only -x objective-c - <<'C'
@import vecstore;
int main(void) { return vecstore_version_number() == VECSTORE_VERSION_NUMBER ? 0 : 1; }
C

step "ThreadSanitizer (concurrency stress, unit tests)"
bash scripts/tsan.sh

step "Miri (C boundary, codec)"
bash scripts/miri.sh

step "fuzzing (${VECSTORE_FUZZ_SECONDS:-20} s per target)"
bash fuzz/run.sh "${VECSTORE_FUZZ_SECONDS:-20}"

step "benchmark harness, quick mode (proves it runs; figures are not checked)"
cargo run --locked --release -q -p vecstore-bench -- --quick

echo
echo "test.sh took $SECONDS s"
awk '{p += $1; f += $2} END {printf "summary: %d passed, %d failed\n", p, f}' "$counts"
