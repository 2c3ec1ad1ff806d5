// Resume: streams cut by the server (max_stream_duration), a server restart with the
// memory store (a new session, recovered false) and with Redis (the same session).
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "../src/index.js";
import { startChat, startRedis, needsServer, needsMemoryStore, NO_SERVER, REDIS_BIN, next, record, roundTrip, connected } from "./helpers.js";

const LIFECYCLE = ["connect", "disconnect", "reconnecting", "reconnect", "connect_error"];
const FAST = { reconnectionDelay: 50, reconnectionDelayMax: 300 };

/**
 * A fetch for the receiving socket: before each new SSE stream after the first, it calls
 * `beforeReopen()` and waits for it, so the test can emit while that socket has no stream.
 */
function gatedFetch(beforeReopen, log = []) {
  let streams = 0;
  return async (url, init = {}) => {
    const u = String(url);
    if (u.includes("/sse?") && !u.includes("transport=polling")) {
      streams++;
      log.push(u);
      if (streams > 1) await beforeReopen(streams, u);
    }
    return fetch(url, init);
  };
}

test("streams cut every second (max_stream_duration): same session, no event, nothing lost, nothing twice", needsServer, async (t) => {
  const server = await startChat({ env: { SOCKET_SERVE_MAX_STREAM_MS: "1000" } });
  const sender = connect(server.base, FAST);
  let sent = 0;
  const opens = [];
  // While the receiver is between two streams, five messages go out.
  const receiver = connect(server.base, {
    ...FAST,
    fetch: gatedFetch(async () => {
      for (let i = 0; i < 5; i++) await sender.emitWithAck("chat", { text: String(sent++) });
    }, opens),
  });
  t.after(async () => {
    sender.disconnect();
    receiver.disconnect();
    await server.stop();
  });
  const events = record(receiver, LIFECYCLE);
  const got = [];
  receiver.on("chat", (d) => got.push(Number(d.text)));
  await Promise.all([connected(sender), connected(receiver)]);
  const id = receiver.id;
  const sid = receiver.sessionId;
  // Also send while the streams are up (paced, 20 a second), until three rotations happened.
  const deadline = Date.now() + 10000;
  while (opens.length < 4) {
    assert.ok(Date.now() < deadline, "three rotations within 10 s");
    const n = sent++;
    const arrived = next(receiver, "chat", { timeout: 5000, pred: (d) => d.text === String(n) });
    await sender.emitWithAck("chat", { text: String(n) });
    await arrived;
    await new Promise((r) => setTimeout(r, 50));
  }
  await sender.emitWithAck("chat", { text: String(sent++) });
  const { until } = await import("./helpers.js");
  await until(() => got.length >= sent, { timeout: 5000, what: `all ${sent} messages` });
  await roundTrip(receiver);
  assert.deepEqual(got, [...Array(sent).keys()], "every message once, in order");
  assert.ok(opens.length >= 4, `${opens.length} streams`);
  for (const u of opens.slice(1)) assert.match(u, /lastEventId=\d+-\d+/, "each reopen resumes from the last cursor");
  assert.deepEqual(events.map((e) => e[0]), ["connect"], "rotations are invisible");
  assert.equal(receiver.id, id);
  assert.equal(receiver.sessionId, sid);
  assert.equal(receiver.connected, true);
  assert.equal(receiver.recovered, true);
});

test("a dropped connection with the server up: resumes the same session from its cursor", needsServer, async (t) => {
  const server = await startChat();
  const sender = connect(server.base, FAST);
  let cut = null;
  // The receiver's fetch lets the test end its stream from outside, like a network drop.
  const receiver = connect(server.base, {
    ...FAST,
    fetch: async (url, init = {}) => {
      const u = String(url);
      if (u.includes("/sse?") && !u.includes("transport=polling")) {
        const ctl = new AbortController();
        init.signal?.addEventListener("abort", () => ctl.abort(init.signal.reason));
        cut = () => ctl.abort(new Error("network drop"));
        return fetch(url, { ...init, signal: ctl.signal });
      }
      return fetch(url, init);
    },
  });
  t.after(async () => {
    sender.disconnect();
    receiver.disconnect();
    await server.stop();
  });
  const got = [];
  receiver.on("chat", (d) => got.push(d.text));
  await Promise.all([connected(sender), connected(receiver)]);
  const sid = receiver.sessionId;
  const before = next(receiver, "chat", { pred: (d) => d.text === "before" });
  await sender.emitWithAck("chat", { text: "before" });
  await before;
  cut();
  const during = next(receiver, "chat", { pred: (d) => d.text === "during", timeout: 5000 });
  await sender.emitWithAck("chat", { text: "during" });
  await during;
  await roundTrip(receiver);
  assert.deepEqual(got, ["before", "during"]);
  assert.equal(receiver.sessionId, sid);
});

test("memory store, server restarted: disconnect 'session lost', then a new session (recovered false); queued emits go there", needsMemoryStore, async (t) => {
  let server = await startChat();
  const port = server.port;
  const socket = connect(server.base, FAST);
  t.after(async () => {
    socket.disconnect();
    await server.stop();
  });
  await connected(socket);
  await socket.emitWithAck("join", { room: "gone-with-the-server" });
  const oldId = socket.id;
  const events = record(socket, LIFECYCLE);
  const reconnecting = next(socket, "reconnecting", { timeout: 10000 });
  await server.stop();
  const [r] = await reconnecting;
  assert.equal(r.attempt, 1);
  assert.equal(socket.connected, false);
  assert.equal(socket.state, "reconnecting");
  const queued = socket.emitWithAck("echo", "sent during the outage");
  const disc = next(socket, "disconnect", { timeout: 10000 });
  const conn = next(socket, "connect", { timeout: 10000 });
  server = await startChat({ port });
  const [reason, details] = await disc;
  assert.equal(reason, "session lost");
  assert.deepEqual(details, { willReconnect: true });
  const [info] = await conn;
  assert.equal(info.recovered, false);
  assert.equal(info.previousId, oldId);
  assert.equal(socket.recovered, false);
  assert.notEqual(socket.id, oldId);
  assert.equal(await queued, "sent during the outage");
  const names = events.map((e) => e[0]);
  assert.deepEqual(names.filter((n) => n === "connect" || n === "disconnect" || n === "reconnect"), ["disconnect", "connect"]);
});

function redisUnsupported() {
  if (NO_SERVER) return NO_SERVER;
  if (!REDIS_BIN) return "redis-server is not installed";
  return false;
}

test("Redis store, server restarted: the same session resumes (no disconnect), state and rooms kept, nothing lost", { skip: redisUnsupported() }, async (t) => {
  const redis = await startRedis();
  const env = { REDIS_URL: redis.url };
  let server;
  try {
    server = await startChat({ env });
  } catch (err) {
    await redis.stop();
    if (/without the `redis` feature/.test(String(err))) return t.skip("the chat binary has no Redis store");
    throw err;
  }
  const port = server.port;
  let gate = null;
  const a = connect(server.base, {
    ...FAST,
    // While `gate` is set, A's stream reopen waits: the test emits to A meanwhile.
    fetch: async (url, init) => {
      if (gate && String(url).includes("/sse?")) await gate();
      return fetch(url, init);
    },
  });
  const b = connect(server.base, FAST);
  t.after(async () => {
    a.disconnect();
    b.disconnect();
    await server.stop();
    await redis.stop();
  });
  await Promise.all([connected(a), connected(b)]);
  await a.emitWithAck("remember", { key: "nick", value: "ada" });
  await a.emitWithAck("join", { room: "durable" });
  const sid = a.sessionId;
  const id = a.id;
  const events = record(a, LIFECYCLE);
  const got = [];
  a.on("say", (d) => got.push(d.text));

  const before = next(a, "say", { pred: (d) => d.text === "before" });
  await b.emitWithAck("say", { room: "durable", text: "before" });
  await before;
  const reconnecting = next(a, "reconnecting", { timeout: 10000 });
  await server.stop();
  await reconnecting;
  const echoes = [];
  a.on("echo", (d) => echoes.push(d));
  const during = a.emitWithAck("echo", "sent while the server was down");

  // A's next stream open waits until B (whose session survived too) has spoken to the
  // room: that message is stored while A has no stream, and must come on resume.
  let release;
  const released = new Promise((r) => (release = r));
  gate = async () => {
    gate = null;
    await b.emitWithAck("say", { room: "durable", text: "while A was away" });
    release();
  };
  const reconnected = next(a, "reconnect", { timeout: 15000 });
  server = await startChat({ env, port });
  const [rc] = await reconnected;
  await released;
  assert.equal(rc.recovered, true);
  assert.equal(a.recovered, true);
  assert.equal(a.sessionId, sid, "the same session");
  assert.equal(a.id, id);
  const after = next(a, "say", { pred: (d) => d.text === "after", timeout: 5000 });
  await b.emitWithAck("say", { room: "durable", text: "after" });
  await after;
  assert.deepEqual(got, ["before", "while A was away", "after"]);
  assert.deepEqual(await a.emitWithAck("recall", { key: "nick" }), { key: "nick", value: "ada" });
  assert.equal(await during, "sent while the server was down");
  await roundTrip(a);
  assert.deepEqual(echoes.filter((d) => d === "sent while the server was down").length, 1, "handled once");
  assert.ok(!events.some((e) => e[0] === "disconnect" || e[0] === "connect"), events.map((e) => e[0]).join());
});


test("id-only frames: an idle socket's cursor follows the server's position", needsServer, async (t) => {
  const server = await startChat({ env: { SOCKET_SERVE_HEARTBEAT_MS: "100" } });
  const idle = connect(server.base, FAST);
  const [a, b] = [connect(server.base, FAST), connect(server.base, FAST)];
  t.after(async () => {
    for (const s of [idle, a, b]) s.disconnect();
    await server.stop();
  });
  await Promise.all([connected(idle), connected(a), connected(b)]);
  const { compareCursors } = await import("../src/index.js");
  const { until } = await import("./helpers.js");
  const lastOwn = idle.cursor;
  // Others talk in a room the idle socket is not in: the position moves on without it.
  await a.emitWithAck("join", { room: "elsewhere" });
  await b.emitWithAck("join", { room: "elsewhere" });
  let latest = null;
  b.on("say", (_d, meta) => (latest = meta.cursor));
  const heard = next(b, "say");
  await a.emitWithAck("say", { room: "elsewhere", text: "not for idle" });
  await heard;
  await until(() => compareCursors(idle.cursor, latest) >= 0, { timeout: 3000, what: "the idle cursor to move past the room message" });
  assert.ok(compareCursors(idle.cursor, lastOwn) > 0);
});

test("a resume older than the recovery window is reported: reconnect with recovered false", needsServer, async (t) => {
  const server = await startChat({ env: { SOCKET_SERVE_RECOVERY_WINDOW_MS: "300", SOCKET_SERVE_MAX_STREAM_MS: "500" } });
  const sender = connect(server.base, FAST);
  let hold = null;
  const receiver = connect(server.base, {
    ...FAST,
    // While `hold` is set, the receiver's next stream open waits for it.
    fetch: async (url, init) => {
      if (hold && String(url).includes("/sse?")) await hold();
      return fetch(url, init);
    },
  });
  t.after(async () => {
    sender.disconnect();
    receiver.disconnect();
    await server.stop();
  });
  await Promise.all([connected(sender), connected(receiver)]);
  const events = record(receiver, LIFECYCLE);
  const got = [];
  receiver.on("chat", (d) => got.push(d.text));
  hold = async () => {
    hold = null;
    // The receiver is between two streams for longer than the recovery window, while
    // messages for it are stored and age out.
    await sender.emitWithAck("chat", { text: "old" });
    await new Promise((r) => setTimeout(r, 700)); // the recovery window (300 ms) passes
    await sender.emitWithAck("chat", { text: "recent" });
  };
  const [rc] = await next(receiver, "reconnect", { timeout: 8000 });
  assert.deepEqual(rc, { attempt: 0, recovered: false });
  assert.equal(receiver.recovered, false);
  assert.ok(!events.some((e) => e[0] === "disconnect"));
  await roundTrip(receiver);
  assert.ok(got.includes("recent"), `got ${JSON.stringify(got)}`);
});
