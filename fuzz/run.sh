#!/usr/bin/env bash
# Runs every fuzz target for a bounded time on its committed corpus (which it
# extends). Needs the nightly toolchain and cargo-fuzz; installs cargo-fuzz
# when missing. Usage: fuzz/run.sh [SECONDS_PER_TARGET]   (default 20)
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-20}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
cargo +nightly fuzz build -O
for target in $(cargo +nightly fuzz list); do
  mkdir -p "corpus/$target"
  echo "fuzzing $target for ${seconds}s"
  log="target/$target.log"
  if ! cargo +nightly fuzz run -O "$target" "corpus/$target" -- \
      -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    cat "$log"
    echo "fuzz target $target failed: the reproducer is in fuzz/artifacts/$target/" >&2
    exit 1
  fi
  grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$log"
done
