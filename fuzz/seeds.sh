#!/usr/bin/env bash
# Regenerates the seed corpus of the open_files target with the current
# engine (fuzz/examples/seeds.rs): small stores in FSYNC, FLUSH and NONE mode,
# captured while open, and torn or damaged copies. Replaces everything in
# corpus/open_files (entries built from older file formats only exercise the
# version check). Runs on the stable toolchain. Usage: fuzz/seeds.sh
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --example seeds -q
rm -rf corpus/open_files
mkdir -p corpus/open_files
cargo run --release --example seeds -q -- corpus/open_files
