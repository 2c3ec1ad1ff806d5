#!/usr/bin/env bash
# Schema-driven fuzzing of the wire protocol: schemathesis (from PyPI, in a venv under
# target/) generates requests from docs/openapi.json, as the chat example serves it, and
# fails on any 5xx or any answer the document does not describe (status, content type,
# headers, body schema). Needs target/debug/chat (`cargo build -p chat`).
#   SCHEMATHESIS_MAX_EXAMPLES  examples per operation (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-$PWD/target}"
venv="$target/schemathesis-venv"
version="4.32.5"
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

log="$(mktemp)"
# schemathesis keeps a cache (.schemathesis/) in its working directory: a fresh one per run.
work="$(mktemp -d)"
PORT=0 SOCKET_SERVE_POLL_TIMEOUT_MS=1000 "$target/debug/chat" >"$log" 2>&1 &
chat_pid=$!
trap 'kill "$chat_pid" 2>/dev/null || true; rm -rf "$log" "$work"' EXIT
origin=""
for _ in $(seq 100); do
  origin=$(sed -n 's|^socket-serve chat listening on \(http://[^ ]*\)$|\1|p' "$log")
  [ -n "$origin" ] && break
  sleep 0.1
done
[ -n "$origin" ] || { cat "$log"; echo "the chat example did not start" >&2; exit 1; }

# The served document names full paths (/socket/connect, ...). A stream with a live
# session never ends, so requests are bounded; but the streams schemathesis can ask for
# are of sessions it does not have (404 at once). One worker: schemathesis's coverage
# phase is not thread-safe on Python 3.11.
(cd "$work" && "$venv/bin/schemathesis" run "$origin/socket/openapi.json" --url "$origin" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-200}" --seed 12 \
  --request-timeout 5 --workers 1 --no-color --generation-database none)
