#!/usr/bin/env bash
# Lints the library for aarch64 and runs its unit tests and the store tests
# there under qemu-user: the NEON kernels against the portable ones and an
# f64 reference. Installs the cross linker, qemu-user and the Rust target
# when missing.
# Usage: scripts/aarch64.sh [cargo test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/need.sh
need qemu-aarch64:qemu-user aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu,libc6-dev-arm64-cross
rustup target list --installed | grep -q '^aarch64-unknown-linux-gnu$' \
  || rustup target add aarch64-unknown-linux-gnu
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
export CARGO_TARGET_DIR=target/aarch64
cargo clippy --locked --target aarch64-unknown-linux-gnu --lib --tests -- -D warnings
# Release: the optimised kernels are what ships, and under emulation they
# run in seconds where a debug build takes minutes.
cargo test --locked --release --target aarch64-unknown-linux-gnu --lib --test store "$@"
