#!/usr/bin/env bash
# Cold start of the chat example: process start (axum binary, memory store and Redis) or a
# fresh Lambda instance under the test suite's local Lambda, to its first answered
# /connect; median of 10. Release builds; loopback only. Not part of the test suite.
# `bash scripts/bench.sh` measures the same beside everything else.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release -p chat -p chat-lambda -p socket-serve-bench
exec "${CARGO_TARGET_DIR:-target}/release/cold-start"
