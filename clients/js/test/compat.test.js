// The published npm socket-serve@0.6.0 client (`socket-serve/client`), unchanged, against
// our server: connect, emit, server emits, broadcast (all but the sender), rooms,
// ?transport=polling, disconnect, and `emit(event, data, cb)` answered by an `__ack` frame.
// It runs in Node here: it needs a global EventSource, which the `eventsource` package gives.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { EventSource } from "eventsource";
import { connect as connect06 } from "socket-serve/client";
import { connect } from "../src/index.js";
import { startChat, needsServer, NO_SERVER, connected, until } from "./helpers.js";

globalThis.EventSource ??= EventSource;

let server;
const old = [];
const ours = [];

// 0.6.0 logs every hiccup with console.error/console.log; keep the test output readable.
const quiet = { error: console.error, log: console.log };

before(async () => {
  if (!NO_SERVER) server = await startChat();
  console.error = (...a) => (process.env.COMPAT_VERBOSE ? quiet.error(...a) : undefined);
  console.log = (...a) => (process.env.COMPAT_VERBOSE ? quiet.log(...a) : undefined);
});

after(async () => {
  for (const s of old) s.disconnect();
  for (const s of ours) s.disconnect();
  console.error = quiet.error;
  console.log = quiet.log;
  if (server) await server.stop();
});

/** A 0.6.0 socket, with every event of `events` recorded in `got[event]`. */
async function open06(events, options) {
  const socket = connect06(server.base, options);
  old.push(socket);
  const got = {};
  const waiters = [];
  for (const e of ["connected", ...events]) {
    got[e] = [];
    socket.on(e, (data) => {
      got[e].push(data);
      for (const w of [...waiters]) if (w.event === e && w.pred(data)) w.resolve(data);
    });
  }
  /** Resolves with the first (past or future) `event` whose data matches `pred`. */
  const wait = (event, pred = () => true, timeout = 5000) => {
    const seen = got[event].find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { event, pred };
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(w), 1);
        reject(new Error(`0.6.0 client: no "${event}" within ${timeout} ms (got ${JSON.stringify(got[event])})`));
      }, timeout);
      w.resolve = (d) => {
        clearTimeout(timer);
        waiters.splice(waiters.indexOf(w), 1);
        resolve(d);
      };
      waiters.push(w);
    });
  };
  // connect() returns at once; the session exists once `id` is set (no event in 0.6.0).
  await until(() => socket.connected && socket.id, { what: "0.6.0 connect" });
  return { socket, got, wait };
}

function ack06(socket, event, data, timeout = 6000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for ${event}`)), timeout);
    socket.emit(event, data, (reply) => {
      clearTimeout(timer);
      if (reply instanceof Error) reject(reply);
      else resolve(reply);
    });
  });
}

test("0.6.0 over SSE: connect, server emit (welcome), emit + echo, ack via __ack", needsServer, async () => {
  const a = await open06(["welcome", "echo"]);
  assert.match(a.socket.id, /^[0-9a-f]{32}$/, "0.6.0 keeps the session id as its id");
  const connectedFrame = await a.wait("connected");
  assert.equal(typeof connectedFrame.id, "string", "the connected frame carries the public id");
  const welcome = await a.wait("welcome");
  assert.deepEqual(welcome, { id: connectedFrame.id });
  a.socket.emit("echo", { plain: true });
  assert.deepEqual(await a.wait("echo", (d) => d.plain), { plain: true });
  // emit with a callback: 0.6.0 waits for an `__ack` frame with its messageId (5 s timeout)
  assert.deepEqual(await ack06(a.socket, "echo", { acked: 1 }), { acked: 1 });
  assert.deepEqual(await ack06(a.socket, "join", { room: "x" }), { ok: true, room: "x" });
});

test("0.6.0 emit with a callback for an event with no handler: the __ack frame carries null", needsServer, async () => {
  // PROTOCOL.md section 2: "the reply (or null) also goes to the session's stream as __ack".
  const a = await open06([]);
  assert.equal(await ack06(a.socket, "no-such-handler", 1), null);
});

test("0.6.0 broadcast: every other client gets it (0.6.0 and ours), not the sender", needsServer, async () => {
  const a = await open06(["chat", "echo"]);
  const b = await open06(["chat"]);
  const c = connect(server.base);
  ours.push(c);
  await connected(c);
  const cGot = new Promise((resolve) => c.once("chat", resolve));
  await Promise.all([a.wait("connected"), b.wait("connected")]);
  a.socket.emit("chat", { text: "from 0.6.0" });
  const atB = await b.wait("chat", (d) => d.text === "from 0.6.0");
  const aPublic = (await a.wait("connected")).id;
  assert.deepEqual(atB, { from: aPublic, text: "from 0.6.0" });
  assert.deepEqual(await cGot, { from: aPublic, text: "from 0.6.0" });
  // and ours to them
  await c.emitWithAck("chat", { text: "from v1" });
  await a.wait("chat", (d) => d.text === "from v1");
  await b.wait("chat", (d) => d.text === "from v1");
  // the sender got none of its own: an echo sent after it arrives after anything before it
  a.socket.emit("echo", "marker");
  await a.wait("echo", (d) => d === "marker");
  assert.deepEqual(a.got.chat.map((d) => d.text), ["from v1"]);
});

test("0.6.0 rooms: join, say to the room, leave", needsServer, async () => {
  const a = await open06(["say", "echo"]);
  const b = await open06(["say", "echo"]);
  const c = await open06(["say", "echo"]);
  await ack06(a.socket, "join", { room: "old-room" });
  await ack06(b.socket, "join", { room: "old-room" });
  await ack06(a.socket, "say", { room: "old-room", text: "hello room" });
  const bPublic = (await b.wait("connected")).id;
  const aPublic = (await a.wait("connected")).id;
  assert.deepEqual(await b.wait("say"), { from: aPublic, room: "old-room", text: "hello room" });
  await ack06(b.socket, "leave", { room: "old-room" });
  await ack06(c.socket, "say", { room: "old-room", text: "from outside" });
  assert.deepEqual(await a.wait("say", (d) => d.text === "from outside"), { from: (await c.wait("connected")).id, room: "old-room", text: "from outside" });
  for (const s of [a, b, c]) {
    s.socket.emit("echo", "marker");
    await s.wait("echo", (d) => d === "marker");
  }
  assert.deepEqual(a.got.say.map((d) => d.text), ["from outside"], "not its own");
  assert.deepEqual(b.got.say.map((d) => d.text), ["hello room"], "not after leaving");
  assert.deepEqual(c.got.say, [], "not an outsider");
  assert.notEqual(bPublic, aPublic);
});

test("0.6.0 with { transport: 'polling' }: welcome, echo, ack, broadcast, rooms", needsServer, async () => {
  const p = await open06(["welcome", "echo", "chat", "say"], { transport: "polling" });
  const s = await open06(["chat"]);
  const welcome = await p.wait("welcome", undefined, 5000);
  assert.equal(typeof welcome.id, "string");
  p.socket.emit("echo", "polled");
  assert.equal(await p.wait("echo", (d) => d === "polled"), "polled");
  assert.deepEqual(await ack06(p.socket, "echo", "polled ack"), "polled ack");
  await ack06(p.socket, "join", { room: "poll-room" });
  s.socket.emit("chat", { text: "to the poller" });
  assert.equal((await p.wait("chat", (d) => d.text === "to the poller")).from, (await s.wait("connected")).id);
  await ack06(s.socket, "join", { room: "poll-room" });
  s.socket.emit("say", { room: "poll-room", text: "room poll" });
  assert.equal((await p.wait("say", (d) => d.text === "room poll")).room, "poll-room");
  p.socket.emit("chat", { text: "from the poller" });
  await s.wait("chat", (d) => d.text === "from the poller");
});

test("0.6.0 disconnect: the server runs it and forgets the session", needsServer, async () => {
  const a = await open06(["echo"]);
  await a.wait("connected");
  const sid = a.socket.id;
  a.socket.disconnect();
  const message = () =>
    fetch(`${server.base}/message`, {
      method: "POST",
      body: JSON.stringify({ sessionId: sid, event: "echo", data: 1 }),
    });
  await until(async () => (await message()).status === 404, { what: "the session to be removed" });
  const res = await message();
  assert.equal(res.status, 404);
  assert.equal((await res.json()).code, "unknown_session");
  // A poll within the recovery window gets the session's end instead of a 404.
  const polled = await (await fetch(`${server.base}/sse?sessionId=${sid}&transport=polling`)).json();
  assert.deepEqual(polled.messages, [{ event: "__disconnect", data: { reason: "client disconnect" } }]);
});
