// socket.io-client 4.8 (polling) against three chat instances on one Redis, every request
// routed to a random instance: connect (with auth), events and acks both ways, rooms, broadcast,
// binary, namespaces, disconnect, a socket-serve client in the same conversation, and
// 20 clients x 500 messages with an instance SIGKILLed mid-run (connection state recovery
// on): nothing lost, duplicated or reordered.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { connect } from "../src/index.js";
import { startChat, startRedis, randomBalancer, REDIS_BIN, NO_SERVER, until } from "./helpers.js";

const skip = NO_SERVER || (!REDIS_BIN && "redis-server is not installed");
const needs = skip ? { skip } : {};
let redis;
let instances = [];
let balancer;
let origin;
const clients = [];

before(async () => {
  if (skip) return;
  redis = await startRedis();
  const env = { REDIS_URL: redis.url, SOCKET_SERVE_PING_INTERVAL_MS: "5000" };
  instances = await Promise.all([0, 1, 2].map(() => startChat({ env })));
  balancer = await randomBalancer(instances);
  origin = `http://127.0.0.1:${balancer.address().port}`;
});

after(async () => {
  for (const c of clients) c.disconnect();
  if (balancer) balancer.close();
  await Promise.all(instances.map((i) => i.stop()));
  if (redis) await redis.stop();
});

function client(path = "/", opts = {}) {
  const socket = io(origin + path, { transports: ["polling"], reconnectionDelay: 50, reconnectionDelayMax: 300, ...opts });
  clients.push(socket);
  return socket;
}

const once = (socket, event, timeout = 5000) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event}`)), timeout);
    socket.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });

test("connects, gets its welcome, and events and acks go both ways", needs, async () => {
  const a = client("/", { auth: { name: "ann" } });
  const [welcome] = await once(a, "welcome");
  assert.equal(a.connected, true);
  assert.equal(welcome.id, a.id);
  const echoed = once(a, "echo");
  const ack = await a.timeout(5000).emitWithAck("echo", { n: 1 });
  assert.deepEqual(ack, { n: 1 });
  assert.deepEqual((await echoed)[0], { n: 1 });
  a.on("question", (q, cb) => cb(`yes to ${q}`));
  const asked = await a.timeout(5000).emitWithAck("ask", { question: "ready?", timeoutMs: 4000 });
  assert.deepEqual(asked, { answer: "yes to ready?" });
});

test("auth: authorize sees socket.io-client's auth, refuses with 44 and passes data to handlers", needs, async () => {
  const refused = client("/", { auth: { token: "bad" }, reconnection: false });
  const [err] = await once(refused, "connect_error");
  assert.equal(err.message, "invalid token");
  assert.equal(err.data.code, "unauthorized");
  assert.equal(refused.connected, false);

  const ann = client("/", { auth: { token: "good", nickname: "ann" } });
  await once(ann, "welcome");
  // Whichever instance runs the handler reads the data authorize stored.
  for (let i = 0; i < 3; i++) {
    const me = await ann.timeout(5000).emitWithAck("whoami", null);
    assert.deepEqual(me, { id: ann.id, nickname: "ann" });
  }
});

test("rooms and broadcast, with a socket-serve client in the same conversation", needs, async () => {
  const a = client();
  await once(a, "welcome");
  const b = connect(`${origin}/socket`, { transports: ["polling"] });
  await until(() => b.connected, { what: "socket-serve client connected" });
  try {
    await a.timeout(5000).emitWithAck("join", { room: "lobby" });
    await b.emitWithAck("join", { room: "lobby" });
    const heardByB = new Promise((r) => b.on("say", r));
    await a.timeout(5000).emitWithAck("say", { room: "lobby", text: "from socket.io" });
    assert.equal((await heardByB).text, "from socket.io");
    const heardByA = once(a, "say");
    await b.emitWithAck("say", { room: "lobby", text: "from socket-serve" });
    const [said] = await heardByA;
    assert.equal(said.text, "from socket-serve");
    const chatToA = once(a, "chat");
    await b.emitWithAck("chat", { text: "everyone" });
    assert.equal((await chatToA)[0].text, "everyone");
  } finally {
    b.disconnect();
  }
});

test("binary both ways and a second namespace", needs, async () => {
  const a = client();
  await once(a, "welcome");
  const echoed = once(a, "echo");
  const ack = await a.timeout(5000).emitWithAck("echo", { bytes: Uint8Array.from([1, 2, 3, 255]) });
  assert.deepEqual([...ack.bytes], [1, 2, 3, 255]);
  assert.deepEqual([...(await echoed)[0].bytes], [1, 2, 3, 255]);
  const news = client("/news");
  const heard = once(news, "news:echo");
  assert.equal(await news.timeout(5000).emitWithAck("echo", "headline"), "headline");
  assert.equal((await heard)[0], "headline");
});

test("disconnect ends the session: the room's members hear it leave", needs, async () => {
  const watcher = connect(`${origin}/socket`, { transports: ["polling"] });
  await until(() => watcher.connected, { what: "watcher connected" });
  try {
    await watcher.emitWithAck("join", { room: "exit" });
    const a = client();
    await once(a, "welcome");
    await a.timeout(5000).emitWithAck("join", { room: "exit" });
    const id = a.id;
    const left = new Promise((r) => watcher.on("presence:leave", (p) => p.id === id && r(p)));
    a.disconnect();
    assert.equal((await left).id, id);
  } finally {
    watcher.disconnect();
  }
});

test("20 clients x 500 messages, an instance SIGKILLed mid-run: 0 lost, 0 duplicated, 0 reordered", needs, async () => {
  // socket.io-client's own `retries` resend an event under a new ack id (at least once,
  // by design), so the 500 messages come from a socket-serve client (exactly once by its
  // messageId) to a room of 20 socket.io clients, whose recovery must give each message
  // once, in order, across the kill.
  const COUNT = Number(process.env.SOCKETIO_CHAOS_COUNT || 500);
  const sockets = Array.from({ length: 20 }, () => client());
  await Promise.all(sockets.map((s) => once(s, "welcome", 10000)));
  await Promise.all(sockets.map((s) => s.timeout(10000).emitWithAck("join", { room: "chaos" })));
  const received = sockets.map(() => []);
  sockets.forEach((s, i) => s.on("say", (msg) => received[i].push(Number(msg.text))));
  let recoveries = 0;
  let reconnects = 0;
  for (const s of sockets) s.on("connect", () => { reconnects++; recoveries += s.recovered ? 1 : 0; });
  const sender = connect(`${origin}/socket`, { transports: ["polling"] });
  try {
    await until(() => sender.connected, { what: "sender connected" });
    for (let n = 0; n < COUNT; n++) {
      if (n === COUNT / 4) {
        // Mid-request: some client's poll is waiting on the instance that dies.
        await until(() => instances[1].inflight > 0, { what: "a request on instance 1" });
        await instances[1].kill();
      }
      await sender.emitWithAck("say", { room: "chaos", text: String(n) });
    }
    await until(() => received.every((r) => r.length >= COUNT), { timeout: 45000, what: "every message" });
    const expected = Array.from({ length: COUNT }, (_, n) => n);
    for (const r of received) assert.deepEqual(r, expected);
    assert.ok(reconnects > 0, "the kill cut some clients off");
    assert.equal(recoveries, reconnects, "every reconnect recovered its session");
  } finally {
    sender.disconnect();
  }
});
