// The server's per-session stream cap (max_streams_per_session, here 1): a newer stream of
// the same session ends this client's stream with `__replaced`; the client stops with
// reason "replaced" and does not reconnect (two clients must not take turns).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect } from "../src/index.js";
import { startChat, needsServer, NO_SERVER, next, recordingFetch } from "./helpers.js";

let server;

before(async () => {
  if (!NO_SERVER) server = await startChat({ env: { SOCKET_SERVE_MAX_STREAMS: "1" } });
});

after(async () => {
  if (server) await server.stop();
});

test("a newer stream of the session replaces this one: disconnect 'replaced', no reconnect", needsServer, async () => {
  const log = [];
  const socket = connect(server.base, { reconnectionDelay: 20, reconnectionDelayMax: 50, fetch: recordingFetch(log) });
  await next(socket, "connect");
  const disconnected = next(socket, "disconnect");
  const reconnecting = [];
  socket.on("reconnecting", (n) => reconnecting.push(n));

  // Another client of the same session (a second tab) opens its stream.
  const other = new AbortController();
  const res = await fetch(`${server.base}/sse?sessionId=${socket.sessionId}`, { signal: other.signal });
  assert.equal(res.status, 200);
  const reader = res.body.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  assert.match(first, /"event":"connected"/);

  const [reason, info] = await disconnected;
  assert.equal(reason, "replaced");
  assert.deepEqual(info, { willReconnect: false });
  assert.equal(socket.state, "disconnected");
  // Long enough for several reconnection delays: nothing more is asked of the server.
  const requests = log.length;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(log.length, requests, JSON.stringify(log.slice(requests)));
  assert.deepEqual(reconnecting, []);
  other.abort();
});
