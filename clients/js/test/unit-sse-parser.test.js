// The SSE parser inside src/index.js: the event-stream grammar, chunked anywhere.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SseParser } from "../src/index.js";

function parseAll(chunks) {
  const frames = [];
  const comments = [];
  const p = new SseParser((f) => frames.push(f), (c) => comments.push(c));
  for (const c of chunks) p.push(c);
  return { frames, comments, parser: p };
}

const STREAM =
  'id: 1795624221000-0\ndata: {"event":"connected","data":{"id":"Qx3","recovered":true}}\n\n' +
  'id: 1795624221059-3\ndata: {"event":"chat","data":{"text":"hi ünïcødé ✓"},"timestamp":1795624221059}\n\n' +
  ": keepalive\n\n" +
  "id: 1795624236000-0\n\n" +
  "retry: 1000\n\n";

function expectStream(frames, comments) {
  assert.equal(frames.length, 4);
  assert.deepEqual(frames[0], {
    id: "1795624221000-0",
    data: '{"event":"connected","data":{"id":"Qx3","recovered":true}}',
    event: "message",
    retry: null,
  });
  assert.equal(frames[1].id, "1795624221059-3");
  assert.equal(JSON.parse(frames[1].data).data.text, "hi ünïcødé ✓");
  assert.deepEqual(frames[2], { id: "1795624236000-0", data: null, event: "message", retry: null }, "id-only frame");
  assert.deepEqual(frames[3], { id: null, data: null, event: "message", retry: 1000 });
  assert.deepEqual(comments, ["keepalive"]);
}

test("parses the protocol's frames: data, id-only, comment, retry", () => {
  const { frames, comments, parser } = parseAll([STREAM]);
  expectStream(frames, comments);
  assert.equal(parser.lastEventId, "1795624236000-0");
});

test("any split of the stream into two or three chunks gives the same frames", () => {
  for (let i = 0; i <= STREAM.length; i++) {
    const { frames, comments } = parseAll([STREAM.slice(0, i), STREAM.slice(i)]);
    expectStream(frames, comments);
  }
  for (let i = 0; i < STREAM.length; i += 7) {
    for (let j = i; j <= STREAM.length; j += 5) {
      const { frames, comments } = parseAll([STREAM.slice(0, i), STREAM.slice(i, j), STREAM.slice(j)]);
      expectStream(frames, comments);
    }
  }
});

test("one character at a time", () => {
  const { frames, comments } = parseAll([...STREAM]);
  expectStream(frames, comments);
});

test("CRLF and lone CR line ends, also with CRLF split between chunks", () => {
  const crlf = STREAM.replace(/\n/g, "\r\n");
  const cr = STREAM.replace(/\n/g, "\r");
  for (const s of [crlf, cr]) {
    expectStream(...Object.values(parseAll([s])).slice(0, 2));
    for (let i = 0; i <= s.length; i++) {
      const { frames, comments } = parseAll([s.slice(0, i), s.slice(i)]);
      expectStream(frames, comments);
    }
  }
});

test("bytes split inside a multi-byte character decode right with a streaming TextDecoder", () => {
  const bytes = new TextEncoder().encode(STREAM);
  for (let i = 0; i <= bytes.length; i += 3) {
    const dec = new TextDecoder();
    const frames = [];
    const comments = [];
    const p = new SseParser((f) => frames.push(f), (c) => comments.push(c));
    p.push(dec.decode(bytes.slice(0, i), { stream: true }));
    p.push(dec.decode(bytes.slice(i), { stream: true }));
    expectStream(frames, comments);
  }
});

test("multi-line data, no space after the colon, field without colon, unknown fields, event:", () => {
  const { frames } = parseAll(["data:a\ndata: b\ndata\nfoo: bar\nevent: custom\n\n"]);
  assert.deepEqual(frames, [{ id: null, data: "a\nb\n", event: "custom", retry: null }]);
});

test("only one leading space is stripped; values keep colons", () => {
  const { frames } = parseAll(["data:  two spaces: and a colon\n\n"]);
  assert.equal(frames[0].data, " two spaces: and a colon");
});

test("a leading BOM is skipped; a BOM later is data", () => {
  const { frames } = parseAll(["\ufeffdata: x\n\n", "data: \ufeffy\n\n"]);
  assert.deepEqual(frames.map((f) => f.data), ["x", "\ufeffy"]);
});

test("retry: with non-digits is ignored; an id with NUL is ignored", () => {
  const { frames } = parseAll(["retry: 10a\n\n", "id: a\0b\ndata: x\n\n"]);
  assert.deepEqual(frames, [{ id: null, data: "x", event: "message", retry: null }]);
});

test("blank lines without fields dispatch nothing; an unfinished block at the end is dropped", () => {
  const { frames, parser } = parseAll(["\n\n\n", "data: done\n\n", "id: 9-9\ndata: partial"]);
  assert.deepEqual(frames.map((f) => f.data), ["done"]);
  parser.end();
  assert.equal(parser.lastEventId, "", "the unfinished block's id is not recorded");
});

test("an empty id: resets the last event id", () => {
  const { frames, parser } = parseAll(["id: 1-1\ndata: x\n\n", "id:\ndata: y\n\n"]);
  assert.deepEqual(frames.map((f) => f.id), ["1-1", ""]);
  assert.equal(parser.lastEventId, "");
});

test("a large frame in many small chunks", () => {
  const big = JSON.stringify({ event: "big", data: "x".repeat(200000) });
  const s = `id: 5-0\ndata: ${big}\n\n`;
  const chunks = [];
  for (let i = 0; i < s.length; i += 1000) chunks.push(s.slice(i, i + 1000));
  const { frames } = parseAll(chunks);
  assert.equal(frames.length, 1);
  assert.equal(frames[0].data, big);
});
