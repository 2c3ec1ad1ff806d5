#!/usr/bin/env bash
# Runs an external peer benchmark harness (bench-peers: Socket.IO with its Redis adapter, a
# bare Node SSE server, socket-serve 0.6.0) with this repo's chat example as the
# `socketserve` peer, all under the same load in one run. Loopback only; every loop bounded.
# The harness is not part of this repository (a self-contained one in bench/ is planned):
# point BENCH_PEERS at a copy of it.
#
#   BENCH_PEERS=/path/to/bench-peers bash scripts/bench.sh              # --quick
#   BENCH_PEERS=/path/to/bench-peers bash scripts/bench.sh --repeat 3   # any of its options
#
# The cold-start benchmark needs nothing outside the repo: scripts/bench-cold-start.sh.
#
# Compare figures as ratios within one run: the machine is shared and noisy.
set -euo pipefail
cd "$(dirname "$0")/.."

peers_src="${BENCH_PEERS:-}"
if [ -z "$peers_src" ] || [ ! -d "$peers_src" ]; then
  echo "set BENCH_PEERS to a copy of the bench-peers harness (not in this repository)" >&2
  exit 2
fi
bash scripts/install-deps.sh
cargo build --release -p chat

# The shared folder is read-only: run a private copy.
work=target/bench-peers
rm -rf "$work"
cp -r "$peers_src" "$work"
chmod -R u+w "$work"
(cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
args=("$@")
[ "${#args[@]}" -gt 0 ] || args=(--quick)
cd "$work"
./run.sh "${args[@]}" --peers sse-ref,sio-ws,ss06,socketserve \
  --socketserve-cmd "$(cd ../.. && pwd)/target/release/chat"
