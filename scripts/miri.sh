#!/usr/bin/env bash
# Runs under Miri the unsafe code Miri can execute: the C boundary's pointer
# handling (src/ffi) and the file-header codec. Segments and the log need
# mmap, flock, posix_fallocate and real files, which Miri does not model;
# they are covered by ASan/valgrind (C tests) and ThreadSanitizer instead.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup component list --toolchain nightly --installed | grep -q miri \
  || rustup component add miri --toolchain nightly
export CARGO_TARGET_DIR=target/miri
cargo +nightly miri test --lib -- ffi:: codec::
