// The client against the real Rust server (the chat example): every API call and
// lifecycle event, buffering before connect, retries deduplicated by messageId.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { connect } from "../src/index.js";
import { startChat, needsServer, NO_SERVER, next, record, roundTrip, recordingFetch } from "./helpers.js";

const LIFECYCLE = ["connect", "disconnect", "reconnecting", "reconnect", "connect_error"];
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

test("connect: returns at once, then `connect` with the public id, and the server's welcome", needsServer, async () => {
  const socket = open();
  assert.equal(socket.connected, false);
  assert.equal(socket.state, "connecting");
  const welcome = next(socket, "welcome");
  const [info] = await next(socket, "connect");
  assert.equal(socket.connected, true);
  assert.equal(socket.recovered, false);
  assert.equal(socket.transport, "sse");
  assert.match(socket.id, /^[A-Za-z0-9_-]{16}$/, "a public id");
  assert.match(socket.sessionId, /^[0-9a-f]{32}$/, "the private session id");
  assert.deepEqual(info, { id: socket.id, recovered: false, resumed: false });
  const [data, meta] = await welcome;
  assert.deepEqual(data, { id: socket.id });
  assert.match(meta.cursor, /^\d+-\d+$/);
});

test("emits made before the socket is connected are queued and sent in order", needsServer, async () => {
  const socket = open();
  const got = [];
  socket.on("echo", (d) => got.push(d));
  const acks = [];
  for (let i = 0; i < 25; i++) acks.push(socket.emitWithAck("echo", { i }));
  assert.equal(socket.connected, false, "all emitted before connect");
  const replies = await Promise.all(acks);
  assert.deepEqual(replies, [...Array(25).keys()].map((i) => ({ i })));
  await roundTrip(socket);
  assert.deepEqual(got.filter((d) => typeof d === "object").map((d) => d.i), [...Array(25).keys()]);
});

test("emit with ack: ack(err, reply); emitWithAck resolves with the handler's reply", needsServer, async () => {
  const socket = open();
  const reply = await new Promise((resolve, reject) =>
    socket.emit("echo", { hello: "world" }, (err, r) => (err ? reject(err) : resolve(r))),
  );
  assert.deepEqual(reply, { hello: "world" });
  assert.deepEqual(await socket.emitWithAck("join", { room: "lobby" }, { timeout: 5000 }), { ok: true, room: "lobby" });
  assert.equal(await socket.emitWithAck("no-such-handler", 1), undefined, "an event with no handler: accepted, no reply");
});

test("a final error (400) fails that emit only; the queue goes on", needsServer, async () => {
  const socket = open();
  const bad = socket.emitWithAck("__reserved", 1);
  const badPayload = socket.emitWithAck("chat", { text: 42 });
  const good = socket.emitWithAck("echo", "after");
  await assert.rejects(bad, (e) => e.code === "invalid_event" && e.status === 400);
  await assert.rejects(badPayload, (e) => e.code === "invalid_payload" && e.status === 400);
  assert.equal(await good, "after");
});

test("a POST whose answer is lost is retried with the same messageId; the server runs it once", needsServer, async () => {
  const log = [];
  let lost = 0;
  const socket = open({
    fetch: async (url, init = {}) => {
      log.push({ url: String(url), body: init.body ? JSON.parse(init.body) : null });
      const res = await fetch(url, init);
      const body = init.body ? JSON.parse(init.body) : null;
      if (body && body.data === "once" && lost < 2) {
        lost++;
        await res.text();
        throw new TypeError("fetch failed (the test lost the answer)");
      }
      return res;
    },
  });
  const echoes = [];
  socket.on("echo", (d) => echoes.push(d));
  assert.equal(await socket.emitWithAck("echo", "once"), "once");
  const posts = log.filter((r) => r.url.endsWith("/message") && r.body.data === "once");
  assert.equal(posts.length, 3, "sent three times");
  assert.equal(new Set(posts.map((p) => p.body.messageId)).size, 1, "with one messageId");
  await roundTrip(socket);
  assert.deepEqual(echoes.filter((d) => d === "once"), ["once"], "the handler ran once");
});

test("every emit has its own messageId", needsServer, async () => {
  const log = [];
  const socket = open({ fetch: recordingFetch(log) });
  await Promise.all([1, 2, 3, 4, 5].map((i) => socket.emitWithAck("echo", i)));
  const ids = log.filter((r) => r.url.endsWith("/message")).map((r) => r.body.messageId);
  assert.equal(ids.length, 5);
  assert.equal(new Set(ids).size, 5);
});

test("on / once / off", needsServer, async () => {
  const socket = open();
  await next(socket, "connect");
  const seen = [];
  const a = (d) => seen.push(["a", d]);
  const b = (d) => seen.push(["b", d]);
  socket.on("echo", a);
  socket.once("echo", b);
  await socket.emitWithAck("echo", 1);
  await roundTrip(socket);
  socket.off("echo", a);
  await socket.emitWithAck("echo", 2);
  await roundTrip(socket);
  assert.deepEqual(seen.filter(([, d]) => typeof d === "number"), [["a", 1], ["b", 1]]);
});

test("broadcast: chat reaches every other socket, not the sender", needsServer, async () => {
  const [a, b, c] = [open(), open(), open()];
  await Promise.all([a, b, c].map((s) => next(s, "connect")));
  const got = { a: [], b: [], c: [] };
  a.on("chat", (d) => got.a.push(d));
  b.on("chat", (d) => got.b.push(d));
  c.on("chat", (d) => got.c.push(d));
  const atB = next(b, "chat");
  const atC = next(c, "chat");
  assert.deepEqual(await a.emitWithAck("chat", { text: "hi all" }), { ok: true });
  const [[dataB, metaB], [dataC]] = await Promise.all([atB, atC]);
  assert.deepEqual(dataB, { from: a.id, text: "hi all" });
  assert.deepEqual(dataC, { from: a.id, text: "hi all" });
  assert.equal(typeof metaB.timestamp, "number");
  await roundTrip(a);
  assert.deepEqual(got.a, [], "the sender does not get its own broadcast");
});

test("rooms: join, say to the room (not the sender, not outsiders), leave", needsServer, async () => {
  const [a, b, c] = [open(), open(), open()];
  await Promise.all([a.emitWithAck("join", { room: "r1" }), b.emitWithAck("join", { room: "r1" })]);
  const got = { a: [], c: [] };
  a.on("say", (d) => got.a.push(d));
  c.on("say", (d) => got.c.push(d));
  const atB = next(b, "say");
  await a.emitWithAck("say", { room: "r1", text: "in r1" });
  assert.deepEqual((await atB)[0], { from: a.id, room: "r1", text: "in r1" });
  await Promise.all([roundTrip(a), roundTrip(c)]);
  assert.deepEqual(got, { a: [], c: [] });
  await b.emitWithAck("leave", { room: "r1" });
  const bSay = [];
  b.on("say", (d) => bSay.push(d));
  await a.emitWithAck("say", { room: "r1", text: "after leave" });
  await roundTrip(b);
  assert.deepEqual(bSay, []);
});

test("session state: remember, then recall", needsServer, async () => {
  const socket = open();
  await socket.emitWithAck("remember", { key: "color", value: { name: "teal" } });
  const recalled = next(socket, "recall");
  assert.deepEqual(await socket.emitWithAck("recall", { key: "color" }), { key: "color", value: { name: "teal" } });
  assert.deepEqual((await recalled)[0], { key: "color", value: { name: "teal" } });
});

test("disconnect(): `disconnect` with 'client disconnect'; queued emits still sent; the server forgets the session", needsServer, async () => {
  const log = [];
  const socket = open({ fetch: recordingFetch(log) });
  await next(socket, "connect");
  const sid = socket.sessionId;
  const events = record(socket, LIFECYCLE);
  const last = socket.emitWithAck("echo", "last words");
  socket.disconnect();
  assert.equal(socket.connected, false);
  assert.equal(socket.state, "disconnected");
  assert.deepEqual(events, [["disconnect", "client disconnect", { willReconnect: false }]]);
  assert.equal(await last, "last words");
  await assert.rejects(socket.emitWithAck("echo", "too late"), (e) => e.code === "disconnected");
  // POST /disconnect went out after the emit; then the session is gone
  const { until } = await import("./helpers.js");
  await until(() => log.some((r) => r.url.endsWith("/disconnect")), { what: "POST /disconnect" });
  const posts = log.filter((r) => r.method === "POST").map((r) => r.url.replace(/.*\/socket/, ""));
  assert.deepEqual(posts.slice(-2), ["/message", "/disconnect"]);
  // Gone: a message is refused; a poll gets the end it would have missed between streams.
  await until(async () => (await fetch(`${server.base}/message`, { method: "POST", body: JSON.stringify({ sessionId: sid, event: "echo", data: 1 }) })).status === 404, {
    what: "the session to be gone",
  });
  const polled = await (await fetch(`${server.base}/sse?sessionId=${sid}&transport=polling`)).json();
  assert.deepEqual(polled.messages, [{ event: "__disconnect", data: { reason: "client disconnect" } }]);
});

test("a session removed on the server (__disconnect frame): disconnect with its reason, no reconnect", needsServer, async () => {
  const log = [];
  const socket = open({ fetch: recordingFetch(log) });
  await next(socket, "connect");
  const events = record(socket, LIFECYCLE);
  const disc = next(socket, "disconnect");
  // Someone else ends the session (e.g. the same user's other tab, or an admin tool).
  const res = await fetch(`${server.base}/disconnect`, { method: "POST", body: JSON.stringify({ sessionId: socket.sessionId }) });
  assert.equal(res.status, 200);
  const [reason, details] = await disc;
  assert.equal(reason, "client disconnect");
  assert.deepEqual(details, { willReconnect: false });
  assert.equal(socket.state, "disconnected");
  // no new session is made: /connect was called once
  await roundTripOther();
  assert.equal(log.filter((r) => r.url.endsWith("/connect")).length, 1);
  assert.deepEqual(events.map((e) => e[0]), ["disconnect"]);
});

async function roundTripOther() {
  // Let the event loop and the server run a full request: a fresh socket connects.
  const s = open();
  await next(s, "connect");
  s.disconnect();
}

test("connect_error and reconnecting while nothing listens; connect when the server comes", needsServer, async () => {
  const { freePort } = await import("./helpers.js");
  const port = await freePort();
  const socket = connect(`http://127.0.0.1:${port}/socket`, { reconnectionDelay: 20, reconnectionDelayMax: 200 });
  sockets.push(socket);
  const [err] = await next(socket, "connect_error");
  assert.equal(err.code, "network_error");
  const [r] = await next(socket, "reconnecting");
  assert.equal(r.attempt >= 1, true);
  assert.equal(typeof r.delay, "number");
  const queued = socket.emitWithAck("echo", "kept while nobody listened");
  const late = await startChat({ port });
  try {
    const [info] = await next(socket, "connect", { timeout: 10000 });
    assert.equal(info.recovered, false);
    assert.equal(await queued, "kept while nobody listened");
  } finally {
    socket.disconnect();
    await late.stop();
  }
});

test("the server serves this very file at B/client.js (text/javascript, ETag)", needsServer, async () => {
  const res = await fetch(`${server.base}/client.js`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^text\/javascript/);
  const etag = res.headers.get("etag");
  assert.ok(etag);
  const served = await res.text();
  const ours = await readFile(new URL("../src/index.js", import.meta.url), "utf8");
  assert.ok(served === ours, "the chat binary embeds an older src/index.js: rebuild it (cargo build -p chat)");
  const again = await fetch(`${server.base}/client.js`, { headers: { "if-none-match": etag } });
  assert.equal(again.status, 304);
});
