#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing, then runs the Rust
# tests (unit, doc and integration: real HTTP on loopback, real redis-server processes,
# the chat app inside a local AWS Lambda and as a Vercel function process) and the
# JavaScript client's tests (Node, and headless Chromium), the latter also against the
# serverless entry points.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

# Tests that run binaries as processes (as the README and the platforms do) need them:
# the chat example, its Lambda function and Vercel function, the local Lambda, the CLI,
# the namespaces, cursors, notifications and dashboard examples (their browser tests), each
# with its `<name>-lambda` and `<name>-vercel` entry points (every binary of the package).
cargo build -p chat -p chat-lambda -p chat-vercel -p socket-serve-cli -p namespaces -p cursors \
  -p notifications -p dashboard --bins
cargo build -p socket-serve-test-support --bin local-lambda

# Everything, with the server's behaviour tests on the in-memory store; then the same
# behaviour tests again on Redis (the store conformance suite: one suite, both stores).
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
  SOCKET_SERVE_TEST_STORE=redis cargo nextest run -p socket-serve --tests --no-fail-fast
  # And on a Redis Cluster node (one node serving every slot: it refuses any script whose
  # keys are not all in one slot), shared by the run, since a node takes 2 s to start.
  cluster_dir=$(mktemp -d)
  cluster_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  bus_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  redis-server --port "$cluster_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$cluster_dir" \
    --cluster-enabled yes --cluster-config-file nodes.conf --cluster-port "$bus_port" >/dev/null &
  cluster_pid=$!
  for _ in $(seq 100); do redis-cli -p "$cluster_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$cluster_port" cluster addslotsrange 0 16383 >/dev/null
  for _ in $(seq 100); do
    redis-cli -p "$cluster_port" cluster info | grep -q cluster_state:ok && break
    sleep 0.1
  done
  SOCKET_SERVE_TEST_STORE=redis-cluster SOCKET_SERVE_TEST_REDIS_URL="redis://127.0.0.1:$cluster_port" \
    cargo nextest run -p socket-serve --tests --no-fail-fast
  kill "$cluster_pid" 2>/dev/null || true
else
  cargo test --workspace --no-fail-fast --lib --bins --tests
  SOCKET_SERVE_TEST_STORE=redis cargo test -p socket-serve --tests --no-fail-fast
fi
cargo test --workspace --doc --all-features

target="$PWD/target/debug"
(cd clients/js && SOCKET_SERVE_CHAT_BIN="$target/chat" npm test)

# The JS client's integration tests again, against the serverless entry points on one
# Redis: chat-lambda under the local Lambda (one invocation per instance, frozen between
# invocations, a 20 s timeout), then chat-vercel as its own process.
redis_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
redis_pid=$!
trap 'kill "$redis_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
export REDIS_URL="redis://127.0.0.1:$redis_port"
serverless_tests=(test/resume.test.js test/resume-storage.test.js test/compat.test.js test/client.test.js test/polling.test.js test/binary.test.js test/acks.test.js)
echo "JS client suite against chat-lambda in the local Lambda"
(cd clients/js && SOCKET_SERVE_CHAT_BIN="$target/local-lambda" LOCAL_LAMBDA_FUNCTION="$target/chat-lambda" \
  LOCAL_LAMBDA_TIMEOUT_MS=20000 LOCAL_LAMBDA_FREEZE=1 node --test "${serverless_tests[@]}")
echo "JS client suite against chat-vercel"
(cd clients/js && SOCKET_SERVE_CHAT_BIN="$target/chat-vercel" node --test "${serverless_tests[@]}")

# The examples' browser tests on Redis (two instances, each page on its own), against their
# serverless entry points: each `<name>-lambda` in the local Lambda, the dashboard (whose
# ticker runs only while an instance serves a request) also as `dashboard-vercel`.
for name in cursors notifications dashboard; do
  echo "$name browser test against $name-lambda in the local Lambda"
  upper=$(echo "$name" | tr a-z A-Z)
  (cd clients/js && env "SOCKET_SERVE_${upper}_BIN=$target/local-lambda" LOCAL_LAMBDA_FUNCTION="$target/$name-lambda" \
    LOCAL_LAMBDA_TIMEOUT_MS=20000 LOCAL_LAMBDA_FREEZE=1 node --test --test-name-pattern="on Redis" "test/examples-$name.test.js")
done
echo "dashboard browser test against dashboard-vercel"
(cd clients/js && SOCKET_SERVE_DASHBOARD_BIN="$target/dashboard-vercel" \
  node --test --test-name-pattern="on Redis" test/examples-dashboard.test.js)
