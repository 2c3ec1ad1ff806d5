#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing, then runs the Rust
# tests (unit, doc and integration: real HTTP on loopback, real redis-server processes)
# and the JavaScript client's tests (Node, and headless Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

# Tests that run the chat example as a process (as the README does) need its binary.
cargo build -p chat

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast --lib --bins --tests
fi
cargo test --workspace --doc

(cd clients/js && SOCKET_SERVE_CHAT_BIN="$PWD/../../target/debug/chat" npm test)
