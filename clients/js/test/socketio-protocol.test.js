// A port of the HTTP long-polling parts of the official test suites, as raw HTTP against
// the chat example's `/socket.io/`: socketio/engine.io-protocol (handshake, message,
// heartbeat, close; its "message" tests echo through the chat's `echo` event, since the
// endpoint speaks Socket.IO inside Engine.IO) and socketio/socket.io-protocol (connect,
// event, ack).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startChat, needsServer, NO_SERVER } from "./helpers.js";

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
const SEP = "\x1e";
let server;
let URL;

before(async () => {
  if (NO_SERVER) return;
  server = await startChat({
    env: { SOCKET_SERVE_PING_INTERVAL_MS: String(PING_INTERVAL), SOCKET_SERVE_PING_TIMEOUT_MS: String(PING_TIMEOUT) },
  });
  URL = `${server.origin}/socket.io/?EIO=4&transport=polling`;
});
after(async () => {
  if (server) await server.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function handshake() {
  const res = await fetch(URL);
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.ok(text.startsWith("0"), text);
  return JSON.parse(text.slice(1));
}

async function open() {
  return (await handshake()).sid;
}

const poll = (sid) => fetch(`${URL}&sid=${sid}`);
const push = (sid, body) => fetch(`${URL}&sid=${sid}`, { method: "POST", body });

/** Polls until the packets include one that `pred` accepts; returns every packet seen. */
async function pollUntil(sid, pred, { timeout = 5000 } = {}) {
  const seen = [];
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    const res = await poll(sid);
    assert.equal(res.status, 200);
    seen.push(...(await res.text()).split(SEP));
    if (seen.some(pred)) return seen;
  }
  throw new Error(`not seen in ${JSON.stringify(seen)}`);
}

/** A session connected to the main namespace; resolves its sid and the CONNECT answer. */
async function connected(auth) {
  const sid = await open();
  assert.equal((await push(sid, auth ? `40${JSON.stringify(auth)}` : "40")).status, 200);
  const seen = await pollUntil(sid, (p) => p.startsWith("40") || p.startsWith("44"));
  return { sid, seen, hello: seen.find((p) => p.startsWith("40")) };
}

// engine.io-protocol: handshake
test("handshake: opens a session with sid, no upgrades, the heartbeat and maxPayload", needsServer, async () => {
  const value = await handshake();
  assert.deepEqual(Object.keys(value).sort(), ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"]);
  assert.equal(typeof value.sid, "string");
  assert.deepEqual(value.upgrades, []);
  assert.equal(value.pingInterval, PING_INTERVAL);
  assert.equal(value.pingTimeout, PING_TIMEOUT);
  assert.equal(value.maxPayload, 1000000);
});

test("handshake: fails with an invalid EIO query parameter", needsServer, async () => {
  const base = `${server.origin}/socket.io/`;
  assert.equal((await fetch(`${base}?transport=polling`)).status, 400);
  assert.equal((await fetch(`${base}?EIO=abc&transport=polling`)).status, 400);
});

test("handshake: fails with an invalid transport query parameter", needsServer, async () => {
  const base = `${server.origin}/socket.io/`;
  assert.equal((await fetch(`${base}?EIO=4`)).status, 400);
  assert.equal((await fetch(`${base}?EIO=4&transport=abc`)).status, 400);
});

test("handshake: fails with an invalid request method", needsServer, async () => {
  assert.equal((await fetch(URL, { method: "post" })).status, 400);
  assert.equal((await fetch(URL, { method: "put" })).status, 400);
});

// engine.io-protocol: message
test("message: a payload of one packet is answered ok and comes back on the poll", needsServer, async () => {
  const { sid } = await connected();
  const res = await push(sid, '42["echo","hello"]');
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "ok");
  const seen = await pollUntil(sid, (p) => p.startsWith('42["echo"'));
  assert.ok(seen.some((p) => /^42\["echo","hello","\d+-\d+"\]$/.test(p)), JSON.stringify(seen));
});

test("message: a payload of several packets comes back in order", needsServer, async () => {
  const { sid } = await connected();
  const body = ['42["echo","test1"]', '42["echo","test2"]', '42["echo","test3"]'].join(SEP);
  assert.equal(await (await push(sid, body)).text(), "ok");
  const seen = await pollUntil(sid, (p) => p.includes('"test3"'));
  const echoes = seen.filter((p) => p.startsWith('42["echo"')).map((p) => JSON.parse(p.slice(2))[1]);
  assert.deepEqual(echoes, ["test1", "test2", "test3"]);
});

test("message: plain text and binary packets, the attachment in a later POST", needsServer, async () => {
  const { sid } = await connected();
  assert.equal(await (await push(sid, '451-["echo",{"_placeholder":true,"num":0}]')).text(), "ok");
  assert.equal(await (await push(sid, "bAQIDBA==")).text(), "ok");
  const seen = await pollUntil(sid, (p) => p.startsWith("451-"));
  const i = seen.findIndex((p) => p.startsWith("451-"));
  assert.match(seen[i], /^451-\["echo",\{"_placeholder":true,"num":0\},"\d+-\d+"\]$/);
  assert.equal(seen[i + 1], "bAQIDBA==");
});

test("message: closes the session upon invalid packet format", needsServer, async () => {
  const sid = await open();
  assert.equal((await push(sid, "abc")).status, 400);
  assert.equal((await poll(sid)).status, 400);
});

test("message: closes the session upon duplicate poll requests", needsServer, async () => {
  const sid = await open();
  const first = poll(sid);
  await sleep(50);
  const second = await poll(sid);
  assert.ok([400, 500].includes(second.status), String(second.status));
  const res = await first;
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "1");
  assert.equal((await poll(sid)).status, 400);
});

// engine.io-protocol: heartbeat
test("heartbeat: sends ping/pong packets", needsServer, async () => {
  const sid = await open();
  for (let i = 0; i < 3; i++) {
    const res = await poll(sid);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "2");
    assert.equal((await push(sid, "3")).status, 200);
  }
});

test("heartbeat: closes the session upon ping timeout", needsServer, async () => {
  const sid = await open();
  // The official test waits pingInterval + pingTimeout; the expiry sweep runs every second.
  await sleep(PING_INTERVAL + PING_TIMEOUT + 1200);
  assert.equal((await poll(sid)).status, 400);
});

// engine.io-protocol: close
test("close: forcefully closes the session; the pending poll answers a noop", needsServer, async () => {
  const sid = await open();
  const pending = poll(sid);
  await sleep(50);
  assert.equal((await push(sid, "1")).status, 200);
  const res = await pending;
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "6");
  assert.equal((await poll(sid)).status, 400);
});

// socket.io-protocol: connect
test("connect: the main namespace answers 40 with a public sid and a pid", needsServer, async () => {
  const { hello } = await connected();
  const answer = JSON.parse(hello.slice(2));
  assert.equal(typeof answer.sid, "string");
  assert.match(answer.pid, /^[0-9a-f]{32}$/);
});

test("connect: an unknown namespace is refused with 44", needsServer, async () => {
  const sid = await open();
  await push(sid, "40/random,");
  const seen = await pollUntil(sid, (p) => p.startsWith("44/random,"));
  const refusal = JSON.parse(seen.find((p) => p.startsWith("44/random,")).slice("44/random,".length));
  assert.equal(refusal.message, "Invalid namespace");
});

test("connect: the server's events for the session follow (welcome)", needsServer, async () => {
  const { sid, seen } = await connected();
  const all = seen.concat(seen.some((p) => p.startsWith('42["welcome"')) ? [] : await pollUntil(sid, (p) => p.startsWith('42["welcome"')));
  const hello = JSON.parse(all.find((p) => p.startsWith("40")).slice(2));
  const welcome = JSON.parse(all.find((p) => p.startsWith('42["welcome"')).slice(2));
  assert.equal(welcome[1].id, hello.sid);
});

// socket.io-protocol: event and ack
test("event: an event with an id is answered by an ack with the handler's result", needsServer, async () => {
  const { sid } = await connected();
  await push(sid, '4217["echo",{"n":1}]');
  const seen = await pollUntil(sid, (p) => p.startsWith("4317"));
  assert.deepEqual(JSON.parse(seen.find((p) => p.startsWith("4317")).slice(4)), [{ n: 1 }]);
});

test("ack: the server asks with an id and the client's ack answers it", needsServer, async () => {
  const { sid } = await connected();
  await push(sid, '425["ask",{"question":"ready?","timeoutMs":5000}]');
  const seen = await pollUntil(sid, (p) => p.startsWith('42') && p.includes('"question"'));
  const m = seen.find((p) => p.includes('"question"')).match(/^42(\d+)\["question","ready\?"/);
  assert.ok(m, JSON.stringify(seen));
  await push(sid, `43${m[1]}["yes"]`);
  const answered = await pollUntil(sid, (p) => p.startsWith("435"));
  assert.deepEqual(JSON.parse(answered.find((p) => p.startsWith("435")).slice(3)), [{ answer: "yes" }]);
});

test("disconnect: 41 leaves the namespace; its events are no longer handled", needsServer, async () => {
  const { sid } = await connected();
  await push(sid, "41");
  await push(sid, '429["echo","late"]');
  const res = await poll(sid);
  const packets = (await res.text()).split(SEP);
  assert.ok(!packets.some((p) => p.startsWith("439")), JSON.stringify(packets));
});

// socket-serve's own rule, as on its other endpoints.
test("a page of another origin cannot open a session", needsServer, async () => {
  const res = await fetch(URL, { headers: { origin: "http://evil.example" } });
  assert.equal(res.status, 403);
  assert.equal((await res.json()).code, "origin_forbidden");
});
