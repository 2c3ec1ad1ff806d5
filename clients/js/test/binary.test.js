// Binary payloads against the real Rust server (the chat example's `echo`, which emits its
// data back as `echo` and acks it): bytes sent as Uint8Array / ArrayBuffer / Buffer come
// back as Uint8Array with the same bytes, in the event and in the ack, over SSE and
// long-polling (PROTOCOL.md section 6).
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
  // Files up to the body limit: the data limit (64 KiB by default) raised to it.
  if (!NO_SERVER) server = await startChat({ env: { SOCKET_SERVE_MAX_MESSAGE_BYTES: String(1024 * 1024) } });
});

after(async () => {
  for (const s of sockets) s.disconnect();
  if (server) await server.stop();
});

function pattern(n, seed = 0) {
  const a = new Uint8Array(n);
  for (let i = 0; i < n; i++) a[i] = (i * 131 + seed) & 0xff;
  return a;
}

/** Emits `data` to `echo`; resolves [ack reply, echoed event data]. */
async function echo(socket, data) {
  const echoed = next(socket, "echo", { timeout: 10000 });
  const reply = await socket.emitWithAck("echo", data, { timeout: 10000 });
  const [event] = await echoed;
  return [reply, event];
}

for (const transport of ["sse", "polling"]) {
  test(`${transport}: a Uint8Array comes back as a Uint8Array with the same bytes, as the ack and the event`, needsServer, async () => {
    const socket = open({ transports: [transport] });
    await next(socket, "connect");
    assert.equal(socket.transport, transport);
    for (const bytes of [new Uint8Array(0), new Uint8Array([0]), new Uint8Array([255, 0, 128]), pattern(40000, 3)]) {
      const [reply, event] = await echo(socket, bytes);
      for (const got of [reply, event]) {
        assert.ok(got instanceof Uint8Array, `a Uint8Array (${bytes.length} bytes)`);
        assert.deepEqual(got, bytes);
      }
    }
  });

  test(`${transport}: bytes nested in objects and arrays, from every kind of binary value`, needsServer, async () => {
    const socket = open({ transports: [transport] });
    await next(socket, "connect");
    const u8 = pattern(1000, 1);
    const data = {
      name: "photo.jpg",
      file: u8,
      parts: [u8.subarray(10, 20), new Uint8Array([1, 2]).buffer, Buffer.from("buf"), { deep: [[new DataView(u8.buffer, 0, 3)]] }],
      meta: { size: 1000, tags: ["a"] },
      notBinary: { __ssbin: "AAE=", also: "a key" },
    };
    const expected = {
      name: "photo.jpg",
      file: u8,
      parts: [u8.slice(10, 20), new Uint8Array([1, 2]), new Uint8Array([98, 117, 102]), { deep: [[u8.slice(0, 3)]] }],
      meta: { size: 1000, tags: ["a"] },
      notBinary: { __ssbin: "AAE=", also: "a key" },
    };
    const [reply, event] = await echo(socket, data);
    assert.deepEqual(reply, expected);
    assert.deepEqual(event, expected);
    assert.ok(event.parts[3].deep[0][0] instanceof Uint8Array);
  });
}

test("on the wire: the POST body carries the marker object", needsServer, async () => {
  const log = [];
  const socket = open({ fetch: recordingFetch(log) });
  await next(socket, "connect");
  const reply = await socket.emitWithAck("echo", { file: new Uint8Array([104, 105]) });
  assert.deepEqual(reply, { file: new Uint8Array([104, 105]) });
  const post = log.find((r) => r.url.endsWith("/message") && r.body.event === "echo");
  assert.deepEqual(post.body.data, { file: { __ssbin: "aGk=" } });
});

test("max_body_size bounds the base64 form: 3/4 of the 1 MiB default fits, more is 413", needsServer, async () => {
  const socket = open();
  await next(socket, "connect");
  const fits = pattern(700 * 1024, 5);
  const [reply, event] = await echo(socket, fits);
  assert.deepEqual(reply, fits);
  assert.deepEqual(event, fits);
  await assert.rejects(socket.emitWithAck("echo", pattern(800 * 1024)), (err) => err.code === "payload_too_large" && err.status === 413);
});
