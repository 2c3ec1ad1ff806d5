#!/usr/bin/env bash
# The benchmark (bench/): socket-serve's chat example beside Socket.IO 4.8 with its Redis
# adapter (WebSocket and long-polling), a bare Node SSE + Redis pub/sub server and the
# JavaScript socket-serve 0.6.0, under one load in one run; idle streams; Redis cost per
# operation; cold starts; the bare loopback-write floor. Loopback only, every loop bounded.
# Not part of the test suite. Compare figures within one run, as ratios: the machine is
# shared and noisy.
#
#   bash scripts/bench.sh --quick          # under 3 minutes
#   bash scripts/bench.sh --quick --docs   # and regenerate docs/BENCHMARKS.md from the run
#   bash scripts/bench.sh                  # 5000 messages per fan-out run
#   bash scripts/bench.sh --peers socketserve,sse-ref --n 20 --m 200 --only fanout
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -p chat -p chat-lambda -p socket-serve-bench
(cd bench/peers && { npm ls --silent >/dev/null 2>&1 || npm ci --no-audit --no-fund --loglevel=error; })
# Both ends of every idle stream are on this machine: as many descriptors as allowed.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
BENCH_COMMAND="bash scripts/bench.sh $*" exec "$target/release/bench" "$@"
