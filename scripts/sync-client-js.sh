#!/usr/bin/env bash
# Copies the JavaScript client (developed in clients/js) into the server crate, which serves
# it as `client.js` and must carry it inside the crate to be published. Run it after any
# change to clients/js/src/index.js; crates/socket-serve/tests/client_js_copy.rs fails until
# the copy is fresh.
set -euo pipefail
cd "$(dirname "$0")/.."
cp clients/js/src/index.js crates/socket-serve/assets/client.js
