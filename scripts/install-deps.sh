#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine, and nothing that is already
# there: redis-server (tests start their own, on free ports), Debian's chromium (the
# browser tests drive it with playwright-core), python3-venv (for schemathesis), the JS
# client's npm packages, and with SOCKET_SERVE_FUZZ=1 cargo-fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# scripts/schemathesis.sh installs schemathesis from PyPI into a venv.
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The fuzz targets (fuzz/, run by scripts/fuzz.sh on the nightly toolchain).
if [ "${SOCKET_SERVE_FUZZ:-}" = 1 ] && ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
if [ -f clients/js/package-lock.json ]; then
  (cd clients/js && if ! npm ls --silent >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error; fi)
fi
