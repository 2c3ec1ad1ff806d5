#!/usr/bin/env bash
# Runs the peer benchmark harness (the team's shared bench-peers: Socket.IO with its Redis
# adapter, a bare Node SSE server, socket-serve 0.6.0) with this repo's chat example as the
# `socketserve` peer, all under the same load in one run. Loopback only; every loop bounded.
#
#   bash scripts/bench.sh                 # --quick: one run per peer, under a minute
#   bash scripts/bench.sh --repeat 3      # any other bench-peers options
#
# Compare figures as ratios within one run: the machine is shared and noisy.
set -euo pipefail
cd "$(dirname "$0")/.."

peers_src="${BENCH_PEERS:-../shared/bench-peers}"
[ -d "$peers_src" ] || { echo "bench-peers not found at $peers_src (set BENCH_PEERS)"; exit 2; }
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
