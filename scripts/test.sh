#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing, then runs the Rust
# tests (unit, doc and integration: real HTTP on loopback, real redis-server processes)
# and the JavaScript client's tests (Node, and headless Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

# Tests that run the chat example as a process (as the README does) need its binary.
cargo build -p chat

# Everything, with the server's behaviour tests on the in-memory store; then the same
# behaviour tests again on Redis (the store conformance suite: one suite, both stores).
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
  SOCKET_SERVE_TEST_STORE=redis cargo nextest run -p socket-serve --tests --no-fail-fast
else
  cargo test --workspace --no-fail-fast --lib --bins --tests
  SOCKET_SERVE_TEST_STORE=redis cargo test -p socket-serve --tests --no-fail-fast
fi
cargo test --workspace --doc

(cd clients/js && SOCKET_SERVE_CHAT_BIN="$PWD/../../target/debug/chat" npm test)
