#!/usr/bin/env bash
# Runs every test of vecstore. Installs what it needs (cmake, clang, valgrind,
# pkg-config) from Debian's packages when missing. Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
step() { printf '\n==> [%d s] %s\n' "$SECONDS" "$*"; }

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

# The three CMake builds run one after another and share one cargo build.
cargo_dir="-DVECSTORE_CARGO_TARGET_DIR=$root/build/cargo-target"

step "C tests (CMake + ctest)"
cmake -S . -B build/c -DCMAKE_BUILD_TYPE=Debug "$cargo_dir" >/dev/null
cmake --build build/c -j2
ctest --test-dir build/c --output-on-failure | tee build/ctest-c.log
count_ctest build/ctest-c.log

step "C tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DVECSTORE_SANITIZE=ON "$cargo_dir" >/dev/null
cmake --build build/asan -j2
ctest --test-dir build/asan --output-on-failure | tee build/ctest-asan.log
count_ctest build/ctest-asan.log

step "C tests under valgrind memcheck"
cmake -S . -B build/valgrind -DCMAKE_BUILD_TYPE=Debug -DVECSTORE_VALGRIND=ON "$cargo_dir" >/dev/null
cmake --build build/valgrind -j2
ctest --test-dir build/valgrind --output-on-failure | tee build/ctest-valgrind.log
count_ctest build/ctest-valgrind.log

step "install, then consumers via find_package and pkg-config"
prefix="$root/build/prefix"
rm -rf "$prefix"
cmake --install build/c --prefix "$prefix" >/dev/null
bash c_tests/consumer/check.sh "$prefix"

step "Go and Zig bindings against the installed library"
bash bindings/test.sh "$prefix"

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
