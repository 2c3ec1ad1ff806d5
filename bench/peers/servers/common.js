'use strict';
// What every peer server shares: its flags (--port, --redis-url) and the READY line the Rust
// harness waits for, and a clean exit on SIGTERM.

function flag(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

function announce(server) {
  process.stdout.write(`READY ${server.address().port}\n`);
}

function exitOnSignal(stop) {
  const handler = () => { stop(); process.exit(0); };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

module.exports = { flag, announce, exitOnSignal };
