// The client's state machine against an in-process fake server (test/fake-server.js):
// queueing, retries with the same messageId, silent stream rotation, resume by cursor,
// session loss, server disconnect, fallback to polling. Deterministic and fast; the same
// behaviours are checked against the real Rust server in the integration tests.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, SocketServeError } from "../src/index.js";
import { FakeServer, next, record } from "./fake-server.js";

const URL_ = "http://fake.invalid/socket";
const FAST = { reconnectionDelay: 20, reconnectionDelayMax: 100 };
const LIFECYCLE = ["connect", "disconnect", "reconnecting", "reconnect", "connect_error"];

function setup(opts = {}) {
  const server = new FakeServer();
  const socket = connect(URL_, { fetch: server.fetch, ...FAST, ...opts });
  const life = record(socket, LIFECYCLE);
  return { server, socket, life };
}

test("connect() returns at once; `connect` comes with the public id; server emits reach on()", async (t) => {
  const { server, socket } = setup();
  t.after(() => socket.disconnect());
  assert.equal(socket.connected, false);
  assert.equal(socket.state, "connecting");
  assert.equal(socket.id, "");
  const welcome = next(socket, "welcome");
  const [info] = await next(socket, "connect");
  assert.equal(socket.connected, true);
  assert.equal(socket.state, "connected");
  assert.equal(socket.recovered, false);
  assert.deepEqual(info, { id: socket.id, recovered: false, resumed: false });
  assert.match(socket.id, /^pub/);
  assert.equal(socket.transport, "sse");
  const [data, meta] = await welcome;
  assert.deepEqual(data, { id: socket.id });
  assert.equal(typeof meta.timestamp, "number");
  assert.match(meta.cursor, /^1000-\d+$/);
  assert.equal(server.requests.find((r) => r.path === "/connect").body, null, "no auth: empty body");
});

test("auth is sent in the /connect body (a value or a function)", async (t) => {
  const { server, socket } = setup({ auth: async () => ({ token: "t1" }) });
  t.after(() => socket.disconnect());
  await next(socket, "connect");
  assert.deepEqual(server.sessions.get(socket.sessionId).auth, { token: "t1" });
});

test("emits before connect are queued and sent in order, each with its own messageId", async (t) => {
  const { server, socket } = setup();
  t.after(() => socket.disconnect());
  for (let i = 0; i < 20; i++) socket.emit("note", { i });
  assert.equal(socket.pending, 20);
  await server.until(() => server.handled.length === 20);
  assert.deepEqual(server.handled.map((h) => h.data.i), [...Array(20).keys()]);
  const ids = new Set(server.handled.map((h) => h.messageId));
  assert.equal(ids.size, 20);
  for (const id of ids) assert.ok(id.length >= 1 && id.length <= 128);
  await server.until(() => socket.pending === 0);
});

test("emit with ack gets (err, reply); emitWithAck resolves with the `ack` field", async (t) => {
  const { socket } = setup();
  t.after(() => socket.disconnect());
  const reply = await new Promise((resolve, reject) => socket.emit("echo", { a: 1 }, (err, r) => (err ? reject(err) : resolve(r))));
  assert.deepEqual(reply, { a: 1 });
  assert.deepEqual(await socket.emitWithAck("echo", [1, 2]), [1, 2]);
  assert.equal(await socket.emitWithAck("noreply", 5), undefined, "no ack field: undefined");
  const [echoed] = await Promise.all([next(socket, "echo"), socket.emitWithAck("echo", "x")]);
  assert.equal(echoed[0], "x");
});

test("a POST that fails after the server ran it is retried with the same messageId; the handler ran once", async (t) => {
  const { server, socket } = setup();
  t.after(() => socket.disconnect());
  await next(socket, "connect");
  // the first two attempts reach the handler, then their answer is lost
  let failed = 0;
  const hook = async (req) => {
    if (req.body.event === "echo" && failed < 2) {
      failed++;
      delete server.hooks["POST /message"];
      try {
        await server.fetch("http://fake.invalid/socket/message", req.init);
      } finally {
        server.hooks["POST /message"] = hook;
      }
      return "network";
    }
  };
  server.hooks["POST /message"] = hook;
  const echoes = [];
  socket.on("echo", (d) => echoes.push(d));
  const p1 = socket.emitWithAck("echo", "once");
  const p2 = socket.emitWithAck("echo", "after");
  assert.equal(await p1, "once");
  assert.equal(await p2, "after");
  const attempts = server.requests.filter((r) => r.path === "/message" && r.body.data === "once");
  assert.ok(attempts.length >= 3, `attempts: ${attempts.length}`);
  assert.equal(new Set(attempts.map((r) => r.body.messageId)).size, 1, "same messageId on every attempt");
  assert.deepEqual(server.handled.filter((h) => h.event === "echo").map((h) => h.data), ["once", "after"]);
  await server.until(() => echoes.length === 2);
  assert.deepEqual(echoes, ["once", "after"]);
});

test("503 and network errors are retried in order; a 400 fails that emit only", async (t) => {
  const { server, socket } = setup();
  t.after(() => socket.disconnect());
  await next(socket, "connect");
  let n = 0;
  server.hooks["POST /message"] = async (req) => {
    if (req.body.event === "a" && n < 3) {
      n++;
      return n === 2 ? "network" : new Response(JSON.stringify({ error: "redis", code: "store_unavailable" }), { status: 503 });
    }
  };
  const a = socket.emitWithAck("a", 1);
  const bad = socket.emitWithAck("__reserved", 2);
  const b = socket.emitWithAck("b", 3);
  assert.equal(await a, undefined);
  await assert.rejects(bad, (e) => e instanceof SocketServeError && e.code === "invalid_event" && e.status === 400);
  assert.equal(await b, undefined);
  assert.deepEqual(server.handled.map((h) => h.event), ["a", "b"]);
});

test("a failing handler (500 handler_error) is retried handlerErrorRetries times, then the emit fails", async (t) => {
  const { server, socket } = setup({ handlerErrorRetries: 2 });
  t.after(() => socket.disconnect());
  await assert.rejects(socket.emitWithAck("fail", null), (e) => e.code === "handler_error" && e.status === 500);
  assert.equal(server.requests.filter((r) => r.path === "/message").length, 3);
  assert.equal(await socket.emitWithAck("echo", "next"), "next", "the queue goes on");
});

test("the queue is bounded: an emit over maxQueue fails at once with queue_full", async (t) => {
  const { server, socket } = setup({ maxQueue: 3 });
  t.after(() => socket.disconnect());
  server.down = true;
  const ps = [1, 2, 3].map((i) => socket.emitWithAck("echo", i));
  await assert.rejects(socket.emitWithAck("echo", 4), (e) => e.code === "queue_full");
  server.down = false;
  assert.deepEqual(await Promise.all(ps), [1, 2, 3]);
});

test("emitWithAck({timeout}) rejects with ack_timeout; a hung POST is abandoned after requestTimeout", async (t) => {
  const { server, socket } = setup({ requestTimeout: 200 });
  t.after(() => socket.disconnect());
  await next(socket, "connect");
  server.hooks["POST /message"] = () => new Promise(() => {}); // never answers
  const p = socket.emitWithAck("echo", 1, { timeout: 50 });
  await assert.rejects(p, (e) => e.code === "ack_timeout");
  delete server.hooks["POST /message"];
  // the emit itself goes on: the timeout does not cancel it
  await server.until(() => server.handled.some((h) => h.event === "echo"), 3000);
});

test("a planned stream end (retry: then close) is invisible; nothing lost, nothing twice", async (t) => {
  const { server, socket, life } = setup();
  t.after(() => socket.disconnect());
  await next(socket, "connect");
  const sid = socket.sessionId;
  const got = [];
  socket.on("n", (d) => got.push(d));
  for (let round = 0; round < 5; round++) {
    server.emitTo(sid, "n", round * 2);
    server.cut(sid, { retry: 30 });
    server.emitTo(sid, "n", round * 2 + 1); // while no stream is open
    await server.until(() => server.sessions.get(sid).streams.size === 1, 2000, "the reopened stream");
  }
  await server.until(() => got.length === 10);
  assert.deepEqual(got, [...Array(10).keys()]);
  assert.deepEqual(life.map((e) => e[0]), ["connect"], "no lifecycle event for rotations");
  assert.equal(socket.connected, true);
  const opens = server.requests.filter((r) => r.path === "/sse");
  assert.equal(opens.length, 6);
  for (const o of opens.slice(1)) assert.match(o.query.lastEventId, /^1000-\d+$/, "reopened from its cursor");
});

test("id-only frames move the cursor; the next stream resumes from there", async (t) => {
  const { server, socket } = setup();
  t.after(() => socket.disconnect());
  await next(socket, "connect");
  const sid = socket.sessionId;
  const pos = server.tick(sid);
  await server.until(() => socket.cursor === pos, 2000, "cursor to move");
  server.cut(sid, { retry: 10 });
  await server.until(() => server.requests.filter((r) => r.path === "/sse").length === 2);
  assert.equal(server.requests.filter((r) => r.path === "/sse")[1].query.lastEventId, pos);
});

test("frames already seen (cursor at or below the last) are dropped", async (t) => {
  const { server, socket } = setup();
  t.after(() => socket.disconnect());
  await next(socket, "connect");
  const sid = socket.sessionId;
  const got = [];
  socket.on("n", (d) => got.push(d));
  server.emitTo(sid, "n", 1);
  server.emitTo(sid, "n", 2);
  await server.until(() => got.length === 2);
  // a server (or proxy) that replays from the start on the next stream
  server.hooks["GET /sse"] = (req) => {
    delete req.query.lastEventId;
    const u = `http://fake.invalid/socket/sse?sessionId=${req.query.sessionId}`;
    delete server.hooks["GET /sse"];
    return server.fetch(u, req.init);
  };
  server.cut(sid, { retry: 10 });
  await server.until(() => server.sessions.get(sid).streams.size === 1);
  server.emitTo(sid, "n", 3);
  await server.until(() => got.length >= 3);
  assert.deepEqual(got, [1, 2, 3]);
});

test("an outage: reconnecting (attempt, delay) and connect_error, then reconnect to the same session", async (t) => {
  const { server, socket, life } = setup();
  t.after(() => socket.disconnect());
  await next(socket, "connect");
  const sid = socket.sessionId;
  const id = socket.id;
  server.down = true;
  server.cut(sid); // unplanned: no retry:
  const [r1] = await next(socket, "reconnecting");
  assert.equal(r1.attempt, 1);
  assert.ok(r1.delay >= 0 && r1.delay < 20);
  assert.equal(socket.connected, false);
  assert.equal(socket.state, "reconnecting");
  await next(socket, "reconnecting", { pred: (r) => r.attempt === 3 });
  const queued = socket.emitWithAck("echo", "during outage");
  server.emitTo(sid, "missed", 1); // stored while the client is away
  const missed = next(socket, "missed");
  server.down = false;
  const [rc] = await next(socket, "reconnect");
  assert.deepEqual(rc, { attempt: rc.attempt, recovered: true });
  assert.ok(rc.attempt >= 3);
  assert.equal(socket.connected, true);
  assert.equal(socket.recovered, true);
  assert.equal(socket.sessionId, sid);
  assert.equal(socket.id, id);
  assert.equal(await queued, "during outage");
  await missed;
  const names = life.map((e) => e[0]);
  assert.ok(!names.includes("disconnect"), names.join());
  assert.equal(names.filter((n) => n === "connect").length, 1);
  assert.ok(names.includes("connect_error"));
});

test("an incomplete resume is reported: reconnect with recovered false", async (t) => {
  const { server, socket } = setup();
  t.after(() => socket.disconnect());
  await next(socket, "connect");
  const sid = socket.sessionId;
  server.down = true;
  server.cut(sid);
  await next(socket, "reconnecting");
  server.emitTo(sid, "lost", 1);
  server.emitTo(sid, "kept", 2);
  server.sessions.get(sid).trimmedTo = server.seq - 1; // "lost" fell out of the recovery window
  server.down = false;
  const [rc] = await next(socket, "reconnect");
  assert.equal(rc.recovered, false);
  assert.equal(socket.recovered, false);
});

test("a rotation that finds messages gone is reported too", async (t) => {
  const { server, socket, life } = setup();
  t.after(() => socket.disconnect());
  await next(socket, "connect");
  const sid = socket.sessionId;
  server.sessions.get(sid).trimmedTo = server.seq + 5;
  server.cut(sid, { retry: 10 });
  const [rc] = await next(socket, "reconnect");
  assert.deepEqual(rc, { attempt: 0, recovered: false });
  assert.ok(!life.some((e) => e[0] === "disconnect"));
});

test("session gone (404 unknown_session): disconnect, then a new session with recovered false", async (t) => {
  const { server, socket, life } = setup();
  t.after(() => socket.disconnect());
  await next(socket, "connect");
  const oldId = socket.id;
  const oldSid = socket.sessionId;
  server.down = true;
  server.forget(oldSid); // e.g. a memory-store server restarted
  await next(socket, "reconnecting");
  const queued = socket.emitWithAck("echo", "kept");
  const disc = next(socket, "disconnect");
  const conn = next(socket, "connect");
  server.down = false;
  const [reason, details] = await disc;
  assert.equal(reason, "session lost");
  assert.deepEqual(details, { willReconnect: true });
  const [info] = await conn;
  assert.equal(info.recovered, false);
  assert.equal(info.previousId, oldId);
  assert.notEqual(socket.id, oldId);
  assert.equal(socket.recovered, false);
  assert.notEqual(socket.sessionId, oldSid);
  assert.equal(await queued, "kept", "the queued emit went to the new session");
  const names = life.map((e) => e[0]);
  assert.deepEqual(names.filter((n) => n === "connect" || n === "disconnect"), ["connect", "disconnect", "connect"]);
});

test("a POST answered 404 unknown_session also starts a new session, and the emit is sent there", async (t) => {
  const { server, socket } = setup();
  t.after(() => socket.disconnect());
  await next(socket, "connect");
  const oldSid = socket.sessionId;
  const s = server.sessions.get(oldSid);
  server.sessions.delete(oldSid); // gone, but its stream is still open
  const disc = next(socket, "disconnect");
  const reply = socket.emitWithAck("echo", "x");
  await disc;
  assert.equal(await reply, "x");
  assert.notEqual(socket.sessionId, oldSid);
  for (const st of [...s.streams]) st.end();
});

test("a __disconnect frame ends the socket with its reason; no reconnect", async (t) => {
  const { server, socket, life } = setup();
  t.after(() => socket.disconnect());
  await next(socket, "connect");
  const disc = next(socket, "disconnect");
  server.serverDisconnect(socket.sessionId, "server disconnect");
  const [reason, details] = await disc;
  assert.equal(reason, "server disconnect");
  assert.deepEqual(details, { willReconnect: false });
  assert.equal(socket.state, "disconnected");
  assert.equal(socket.connected, false);
  await assert.rejects(socket.emitWithAck("echo", 1), (e) => e.code === "disconnected");
  await new Promise((r) => setTimeout(r, 100)); // a reconnect would have started by now
  assert.equal(server.requests.filter((r) => r.path === "/connect").length, 1);
  assert.deepEqual(life.map((e) => e[0]), ["connect", "disconnect"]);
});

test("disconnect(): queued emits are still sent, then POST /disconnect; later emits fail", async (t) => {
  const { server, socket, life } = setup();
  await next(socket, "connect");
  const a = socket.emitWithAck("echo", "a");
  const b = socket.emitWithAck("echo", "b");
  socket.disconnect();
  assert.equal(socket.state, "disconnected");
  assert.deepEqual(life.map((e) => e.slice(0, 2)), [["connect", life[0][1]], ["disconnect", "client disconnect"]]);
  assert.deepEqual(await Promise.all([a, b]), ["a", "b"]);
  await server.until(() => server.requests.some((r) => r.path === "/disconnect"));
  const paths = server.requests.filter((r) => r.method === "POST").map((r) => r.path);
  assert.deepEqual(paths.slice(-3), ["/message", "/message", "/disconnect"]);
  await assert.rejects(socket.emitWithAck("echo", "late"), (e) => e.code === "disconnected");
  socket.disconnect(); // twice is fine
});

test("connect() after disconnect() opens a new session", async (t) => {
  const { socket } = setup();
  t.after(() => socket.disconnect());
  await next(socket, "connect");
  const first = socket.id;
  socket.disconnect();
  socket.connect();
  const [info] = await next(socket, "connect");
  assert.notEqual(info.id, first);
  assert.equal(await socket.emitWithAck("echo", 1), 1);
});

test("autoConnect: false queues emits until connect()", async (t) => {
  const { server, socket } = setup({ autoConnect: false });
  t.after(() => socket.disconnect());
  const p = socket.emitWithAck("echo", "early");
  assert.equal(socket.state, "disconnected");
  assert.equal(server.requests.length, 0);
  socket.connect();
  assert.equal(await p, "early");
});

test("a rejected connect (403) is a connect_error and final", async (t) => {
  const server = new FakeServer();
  server.hooks["POST /connect"] = () => new Response(JSON.stringify({ error: "no", code: "connect_rejected" }), { status: 403 });
  const socket = connect(URL_, { fetch: server.fetch, ...FAST });
  t.after(() => socket.disconnect());
  const pending = socket.emitWithAck("echo", 1);
  const [err] = await next(socket, "connect_error");
  assert.equal(err.code, "connect_rejected");
  assert.equal(err.status, 403);
  assert.equal(socket.state, "disconnected");
  await assert.rejects(pending, (e) => e.code === "connect_rejected");
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(server.requests.filter((r) => r.path === "/connect").length, 1);
});

test("connect errors (network, 5xx) are retried with backoff until the server answers", async (t) => {
  const server = new FakeServer();
  server.down = true;
  const socket = connect(URL_, { fetch: server.fetch, ...FAST });
  t.after(() => socket.disconnect());
  const [err] = await next(socket, "connect_error");
  assert.equal(err.code, "network_error");
  await next(socket, "reconnecting", { pred: (r) => r.attempt === 2 });
  server.down = false;
  await next(socket, "connect");
});

test("reconnectionAttempts: gives up with disconnect 'reconnect failed'", async (t) => {
  const { server, socket } = setup({ reconnectionAttempts: 2 });
  t.after(() => socket.disconnect());
  await next(socket, "connect");
  server.down = true;
  server.cut(socket.sessionId);
  const [reason] = await next(socket, "disconnect");
  assert.equal(reason, "reconnect failed");
  assert.equal(socket.state, "disconnected");
});

test("SSE answered with something else than an event stream: falls back to long-polling", async (t) => {
  const { server, socket } = setup();
  t.after(() => socket.disconnect());
  server.hooks["GET /sse"] = (req) =>
    req.query.transport === "polling" ? undefined : new Response("<html>proxy</html>", { status: 200, headers: { "content-type": "text/html" } });
  const welcome = next(socket, "welcome");
  await next(socket, "connect");
  assert.equal(socket.transport, "polling");
  await welcome;
  const echo = next(socket, "echo");
  assert.equal(await socket.emitWithAck("echo", "p"), "p");
  assert.equal((await echo)[0], "p");
  const polls = server.requests.filter((r) => r.query.transport === "polling");
  assert.ok(polls.every((p) => /^1000-\d+$/.test(p.query.lastEventId)), "polling with a cursor");
});

test("SSE that never delivers (a buffering proxy): falls back after openTimeout", async (t) => {
  const { server, socket } = setup({ openTimeout: 100 });
  t.after(() => socket.disconnect());
  server.hooks["GET /sse"] = (req) =>
    req.query.transport === "polling"
      ? undefined
      : new Response(new ReadableStream({ start() {} }), { status: 200, headers: { "content-type": "text/event-stream" } });
  await next(socket, "connect");
  assert.equal(socket.transport, "polling");
});

test("transports: ['polling'] (and 0.6.0's transport: 'polling') use long-polling only", async (t) => {
  for (const opt of [{ transports: ["polling"] }, { transport: "polling" }]) {
    const { server, socket } = setup(opt);
    t.after(() => socket.disconnect());
    const welcome = next(socket, "welcome");
    await next(socket, "connect");
    await welcome;
    assert.equal(socket.transport, "polling");
    assert.ok(!server.requests.some((r) => r.path === "/sse" && r.query.transport !== "polling"));
    const got = [];
    socket.on("n", (d) => got.push(d));
    for (let i = 0; i < 5; i++) server.emitTo(socket.sessionId, "n", i);
    await server.until(() => got.length === 5);
    assert.deepEqual(got, [0, 1, 2, 3, 4]);
    socket.disconnect();
  }
});

test("polling: an outage and a resume of the same session", async (t) => {
  const { server, socket } = setup({ transports: ["polling"] });
  t.after(() => socket.disconnect());
  server.pollTimeout = 100;
  await next(socket, "connect");
  const sid = socket.sessionId;
  server.down = true;
  await next(socket, "reconnecting");
  server.emitTo(sid, "n", "while down");
  const got = next(socket, "n");
  server.down = false;
  const [rc] = await next(socket, "reconnect");
  assert.equal(rc.recovered, true);
  assert.equal((await got)[0], "while down");
  assert.equal(socket.sessionId, sid);
});

test("on/once/off/listeners", async (t) => {
  const { server, socket } = setup();
  t.after(() => socket.disconnect());
  await next(socket, "connect");
  const sid = socket.sessionId;
  const seen = [];
  const a = (d) => seen.push(["a", d]);
  const b = (d) => seen.push(["b", d]);
  socket.on("x", a).once("x", b);
  assert.deepEqual(socket.listeners("x"), [a, b]);
  server.emitTo(sid, "x", 1);
  server.emitTo(sid, "x", 2);
  await server.until(() => seen.length === 3);
  socket.off("x", a);
  socket.on("x", b);
  socket.off("x");
  assert.deepEqual(socket.listeners("x"), []);
  socket.on("y", b);
  server.emitTo(sid, "x", 3);
  server.emitTo(sid, "y", 4);
  await server.until(() => seen.length === 4);
  assert.deepEqual(seen, [["a", 1], ["b", 1], ["a", 2], ["b", 4]]);
  const c = (d) => seen.push(["c", d]);
  socket.once("z", c);
  socket.off("z", c); // off works with the original function of once()
  assert.deepEqual(socket.listeners("z"), []);
});

test("a throwing listener does not break the stream", async (t) => {
  const { server, socket } = setup();
  t.after(() => socket.disconnect());
  await next(socket, "connect");
  const origReport = globalThis.reportError;
  const reported = [];
  globalThis.reportError = (e) => reported.push(e);
  t.after(() => {
    globalThis.reportError = origReport;
  });
  socket.on("boom", () => {
    throw new Error("listener bug");
  });
  const after = next(socket, "after");
  server.emitTo(socket.sessionId, "boom", 1);
  server.emitTo(socket.sessionId, "after", 2);
  await after;
  assert.equal(reported.length, 1);
});

test("a stream that goes silent for heartbeatTimeout is reopened, silently", async (t) => {
  const { server, socket, life } = setup({ heartbeatTimeout: 150 });
  t.after(() => socket.disconnect());
  await next(socket, "connect");
  // the fake server writes nothing more on this stream: like a half-open TCP connection
  await server.until(() => server.requests.filter((r) => r.path === "/sse").length >= 2, 3000, "a second stream");
  const got = next(socket, "n");
  server.emitTo(socket.sessionId, "n", 1);
  await got;
  assert.deepEqual(life.map((e) => e[0]), ["connect"]);
});
