// A 429 `rate_limited` from the real server (the chat example with a tiny /connect
// bucket) is retried like a 503, and not before its Retry-After.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect } from "../src/index.js";
import { startChat, needsServer, NO_SERVER, next } from "./helpers.js";

let server;
const sockets = [];

before(async () => {
  if (!NO_SERVER) {
    server = await startChat({ env: { SOCKET_SERVE_CONNECT_RATE: "1", SOCKET_SERVE_CONNECT_BURST: "1" } });
  }
});

after(async () => {
  for (const s of sockets) s.disconnect();
  if (server) await server.stop();
});

test("a rate-limited connect is retried after Retry-After, then connects", needsServer, async () => {
  const first = connect(server.base, { reconnectionDelay: 20, reconnectionDelayMax: 50 });
  sockets.push(first);
  await next(first, "connect");
  const started = Date.now();
  const second = connect(server.base, { reconnectionDelay: 20, reconnectionDelayMax: 50 });
  sockets.push(second);
  const [error] = await next(second, "connect_error");
  assert.equal(error.code, "rate_limited");
  assert.equal(error.status, 429);
  assert.equal(error.retryAfter, 1000);
  await next(second, "connect");
  const waited = Date.now() - started;
  // The backoff alone would have retried within 50 ms.
  assert.ok(waited >= 950, `connected after ${waited} ms, before Retry-After`);
});
