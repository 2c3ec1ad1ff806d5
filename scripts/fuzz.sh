#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ for a while (cargo-fuzz, nightly toolchain):
#   bash scripts/fuzz.sh            # 15 s each (CI)
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh [target...]   # longer runs, some targets
# Without a sanitizer (the code has no `unsafe`) but with debug assertions, so overflows
# panic. A crash leaves its input in fuzz/artifacts/<target>/; replay it with
#   cargo +nightly fuzz run -s none -a <target> fuzz/artifacts/<target>/<file>
set -euo pipefail
cd "$(dirname "$0")/.."

# cargo-fuzz needs the nightly toolchain: added when a fresh machine lacks it.
rustup run nightly rustc --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
seconds="${FUZZ_SECONDS:-15}"
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list --fuzz-dir fuzz)
cargo +nightly fuzz build -s none -a --fuzz-dir fuzz
for target in "${targets[@]}"; do
  echo "fuzzing $target for ${seconds}s"
  mkdir -p "fuzz/corpus/$target"
  cargo +nightly fuzz run -s none -a --fuzz-dir fuzz "$target" -- \
    -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 -print_final_stats=1 2>&1 |
    grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|==|SUMMARY|thread|Failing input|panicked)' || true
  # A crash, timeout or out-of-memory leaves its input there (the exit code went to `|| true`).
  if compgen -G "fuzz/artifacts/$target/*-*" >/dev/null; then
    echo "fuzz target $target crashed: see fuzz/artifacts/$target" >&2
    exit 1
  fi
done
