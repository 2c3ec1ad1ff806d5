// Server-to-client acks against the real Rust server: the chat example's `ask` makes the
// server emit `question` with `emit_with_ack` and answer the ask with the reply it got.
// Listeners of such an emit get `(data, ack, meta)`; the first `ack(x)` is the reply.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect } from "../src/index.js";
import { startChat, needsServer, NO_SERVER, next, recordingFetch } from "./helpers.js";

let server;
const sockets = [];

function open(opts = {}) {
  const s = connect(server.base, { reconnectionDelay: 50, reconnectionDelayMax: 500, ...opts });
  sockets.push(s);
  return s;
}

before(async () => {
  if (!NO_SERVER) server = await startChat();
});

after(async () => {
  for (const s of sockets) s.disconnect();
  if (server) await server.stop();
});

for (const transport of ["sse", "polling"]) {
  test(`${transport}: a listener's ack(x) is the reply the server waits for; a second call sends nothing`, needsServer, async () => {
    const log = [];
    const socket = open({ transports: [transport], fetch: recordingFetch(log) });
    const calls = [];
    socket.on("question", (data, ack, meta) => {
      calls.push({ data, meta });
      const first = ack({ got: data });
      assert.equal(ack("ignored"), first, "later calls return the first call's promise");
    });
    await next(socket, "connect");
    const reply = await socket.emitWithAck("ask", { question: "ready?" }, { timeout: 10000 });
    assert.deepEqual(reply, { answer: { got: "ready?" } });
    assert.equal(calls.length, 1);
    assert.equal(calls[0].data, "ready?");
    assert.equal(typeof calls[0].meta.cursor, "string", "meta comes after ack");
    const acks = log.filter((e) => e.url.endsWith("/ack"));
    assert.equal(acks.length, 1, "one POST /ack");
  });
}

test("an ack reply may carry bytes: they round-trip through the server as bytes", needsServer, async () => {
  const socket = open();
  socket.on("question", (_data, ack) => ack({ bytes: new Uint8Array([1, 2, 255]) }));
  await next(socket, "connect");
  const reply = await socket.emitWithAck("ask", { question: 0 }, { timeout: 10000 });
  assert.ok(reply.answer.bytes instanceof Uint8Array);
  assert.deepEqual([...reply.answer.bytes], [1, 2, 255]);
});

test("a listener that never acks lets the server's wait time out", needsServer, async () => {
  const socket = open();
  let asked = 0;
  socket.on("question", () => asked++);
  await next(socket, "connect");
  const reply = await socket.emitWithAck("ask", { question: 1, timeoutMs: 300 }, { timeout: 10000 });
  assert.deepEqual(reply, { error: "ack_timeout" });
  assert.equal(asked, 1);
});

test("events that ask for nothing keep the (data, meta) listener shape", needsServer, async () => {
  const socket = open();
  await next(socket, "connect");
  const echoed = next(socket, "echo", { timeout: 10000 });
  socket.emit("echo", 5);
  const [data, meta, extra] = await echoed;
  assert.equal(data, 5);
  assert.equal(typeof meta.cursor, "string");
  assert.equal(extra, undefined);
});
