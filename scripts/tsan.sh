#!/usr/bin/env bash
# Runs the concurrency stress test and the library's unit tests under
# ThreadSanitizer (nightly, with std rebuilt instrumented so its atomics are
# seen). Installs the nightly rust-src component when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup component list --toolchain nightly --installed | grep -q rust-src \
  || rustup component add rust-src --toolchain nightly
target=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Zsanitizer=thread" RUSTDOCFLAGS="-Zsanitizer=thread"
export TSAN_OPTIONS="halt_on_error=1"
export CARGO_TARGET_DIR=target/tsan
VECSTORE_STRESS_ITERATIONS="${VECSTORE_STRESS_ITERATIONS:-5000}" \
  cargo +nightly test -Zbuild-std --target "$target" --lib --test concurrency -- --nocapture
