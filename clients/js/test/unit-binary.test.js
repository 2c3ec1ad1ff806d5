// Binary payloads (PROTOCOL.md section 6): the encoder and decoder of the marker object
// {"__ssbin": "<base64>"}, and the socket using them for emits, events, acks and
// emitWithAck replies (against the in-process fake server).
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, encodeBinary, decodeBinary, BINARY_MARKER } from "../src/index.js";
import { FakeServer, next } from "./fake-server.js";

const b64 = (bytes) => Buffer.from(bytes).toString("base64"); // the reference encoder
const marker = (bytes) => ({ __ssbin: b64(bytes) });

function everyByte() {
  const a = new Uint8Array(512);
  for (let i = 0; i < 256; i++) a[i] = i;
  for (let i = 0; i < 256; i++) a[256 + i] = 255 - i;
  return a;
}

test("the marker key", () => {
  assert.equal(BINARY_MARKER, "__ssbin");
});

test("encodeBinary: Uint8Array, ArrayBuffer, other views and Buffer become markers of their bytes", () => {
  const u8 = new Uint8Array([0, 1, 2, 255]);
  assert.deepEqual(encodeBinary(u8), { __ssbin: "AAEC/w==" });
  assert.deepEqual(encodeBinary(u8.buffer), { __ssbin: "AAEC/w==" });
  assert.deepEqual(encodeBinary(new Uint8Array(0)), { __ssbin: "" });
  // A view is its own window of its buffer, not the whole buffer.
  assert.deepEqual(encodeBinary(u8.subarray(1, 3)), marker([1, 2]));
  assert.deepEqual(encodeBinary(new DataView(u8.buffer, 2, 2)), marker([2, 255]));
  // Other typed arrays: their bytes in memory (little-endian on every platform Node runs on).
  assert.deepEqual(encodeBinary(new Uint16Array([1, 256])), marker([1, 0, 0, 1]));
  assert.deepEqual(encodeBinary(new Float64Array([1])), marker(new Uint8Array(new Float64Array([1]).buffer)));
  // Node's Buffer has a toJSON ({type, data}): the bytes win.
  assert.deepEqual(encodeBinary(Buffer.from("hi")), { __ssbin: "aGk=" });
  // Shared memory too.
  const shared = new SharedArrayBuffer(2);
  new Uint8Array(shared).set([9, 8]);
  assert.deepEqual(encodeBinary(shared), marker([9, 8]));
  // Every byte value, and sizes around the chunking of the encoder.
  for (const n of [1, 2, 3, 0x7fff, 0x8000, 0x8001, 200000]) {
    const a = new Uint8Array(n);
    for (let i = 0; i < n; i++) a[i] = (i * 31 + 7) & 0xff;
    assert.deepEqual(encodeBinary(a), marker(a), `${n} bytes`);
  }
  assert.deepEqual(encodeBinary(everyByte()), marker(everyByte()));
});

test("encodeBinary: nested anywhere; the rest is plain JSON.stringify", () => {
  const data = {
    name: "a.bin",
    file: new Uint8Array([1]),
    list: [new Uint8Array([2]), { deep: [[new Uint8Array([3]).buffer]] }],
    when: new Date(0),
    skip: undefined,
    n: 1,
  };
  assert.deepEqual(encodeBinary(data), {
    name: "a.bin",
    file: marker([1]),
    list: [marker([2]), { deep: [[marker([3])]] }],
    when: "1970-01-01T00:00:00.000Z",
    n: 1,
  });
  assert.equal(encodeBinary(undefined), undefined);
  assert.equal(encodeBinary(null), null);
  assert.deepEqual(encodeBinary([1, "x", true]), [1, "x", true]);
  // The input is not changed.
  assert.ok(data.file instanceof Uint8Array);
});

test("decodeBinary: markers become Uint8Arrays, nested anywhere, in place", () => {
  const bytes = decodeBinary({ __ssbin: "AAEC/w==" });
  assert.ok(bytes instanceof Uint8Array);
  assert.deepEqual([...bytes], [0, 1, 2, 255]);
  assert.deepEqual(decodeBinary({ __ssbin: "" }), new Uint8Array(0));
  assert.deepEqual(decodeBinary(marker(everyByte())), everyByte());

  const data = JSON.parse(JSON.stringify({ a: [marker([1, 2]), { b: { c: marker([3]) } }], d: "x", e: null }));
  const out = decodeBinary(data);
  assert.equal(out, data, "objects are changed in place and returned");
  assert.deepEqual(out, { a: [new Uint8Array([1, 2]), { b: { c: new Uint8Array([3]) } }], d: "x", e: null });
  for (const v of [null, 1, "s", true, undefined]) assert.equal(decodeBinary(v), v);
});

test("decodeBinary: what is not a marker stays as it is", () => {
  for (const v of [
    { __ssbin: "AAE=", name: "x" }, // the marker key with other keys: ordinary data
    { name: "x", __ssbin: "AAE=" },
    { __ssbin: 12 },
    { __ssbin: null },
    { __ssbin: "AAE" }, // no padding
    { __ssbin: "AAE==" }, // length
    { __ssbin: "A===" },
    { __ssbin: "AA=A" },
    { __ssbin: "AA E" },
    { __ssbin: "AAE-" }, // URL-safe alphabet
    { __ssbin: "é===" },
    { _ssbin: "AAE=" },
    { data: "AAE=" },
    "AAE=",
  ]) {
    const copy = JSON.parse(JSON.stringify(v));
    assert.deepEqual(decodeBinary(copy), v, JSON.stringify(v));
  }
  // Nested beside real markers.
  assert.deepEqual(decodeBinary([{ __ssbin: "AAE=", x: 1 }, { __ssbin: "AAE=" }]), [{ __ssbin: "AAE=", x: 1 }, new Uint8Array([0, 1])]);
  // A Uint8Array given to it is left alone.
  const u8 = new Uint8Array([5]);
  assert.equal(decodeBinary(u8), u8);
});

test("encode then decode is the identity on bytes (any view comes back as a Uint8Array)", () => {
  const data = { u8: everyByte(), ab: new Uint8Array([7, 7]).buffer, nested: [[new Int8Array([-1])]] };
  const back = decodeBinary(JSON.parse(JSON.stringify(encodeBinary(data))));
  assert.deepEqual(back, { u8: everyByte(), ab: new Uint8Array([7, 7]), nested: [[new Uint8Array([255])]] });
});

test("the socket: emits send markers, events and acks deliver Uint8Arrays", async (t) => {
  const server = new FakeServer();
  const socket = connect("http://fake.invalid/socket", { fetch: server.fetch, reconnectionDelay: 20 });
  t.after(() => socket.disconnect());
  await next(socket, "connect");

  const echoed = next(socket, "echo");
  const reply = await socket.emitWithAck("echo", { file: new Uint8Array([1, 2, 3]), name: "f", list: [Buffer.from([9])] });
  const sent = server.handled.find((h) => h.event === "echo").data;
  assert.deepEqual(sent, { file: marker([1, 2, 3]), name: "f", list: [marker([9])] }, "on the wire: markers");
  assert.deepEqual(reply, { file: new Uint8Array([1, 2, 3]), name: "f", list: [new Uint8Array([9])] });
  assert.ok(reply.file instanceof Uint8Array);
  const [data] = await echoed;
  assert.ok(data.file instanceof Uint8Array, "the emitted echo event");
  assert.deepEqual([...data.file], [1, 2, 3]);

  // A bare Uint8Array as the whole payload; the callback form of acks.
  const [err, bare] = await new Promise((resolve) => socket.emit("echo", new Uint8Array([0, 255]), (...a) => resolve(a)));
  assert.equal(err, null);
  assert.deepEqual(bare, new Uint8Array([0, 255]));

  // A server event with bytes, not caused by an emit.
  const pushed = next(socket, "push");
  server.emitTo(socket.sessionId, "push", { n: 1, bytes: marker([4, 5]), not: { __ssbin: "AAE=", x: 1 } });
  const [push] = await pushed;
  assert.deepEqual(push, { n: 1, bytes: new Uint8Array([4, 5]), not: { __ssbin: "AAE=", x: 1 } });
});

test("the socket: binary in auth is sent as markers too", async (t) => {
  const server = new FakeServer();
  const socket = connect("http://fake.invalid/socket", { fetch: server.fetch, auth: { key: new Uint8Array([1]) } });
  t.after(() => socket.disconnect());
  await next(socket, "connect");
  assert.deepEqual(server.sessions.get(socket.sessionId).auth, { key: marker([1]) });
});
