// Long-polling against the real server: chosen by the option, or as the fallback when SSE
// cannot be opened (an intermediary that answers the stream with something else, or
// buffers it). Polls carry the cursor; nothing is lost across a server restart with Redis.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect } from "../src/index.js";
import { startChat, needsServer, NO_SERVER, next, record, roundTrip, connected, recordingFetch } from "./helpers.js";

let server;
const sockets = [];
function open(opts) {
  const s = connect(server.base, { reconnectionDelay: 50, reconnectionDelayMax: 300, ...opts });
  sockets.push(s);
  return s;
}

before(async () => {
  if (!NO_SERVER) server = await startChat({ env: { SOCKET_SERVE_POLL_TIMEOUT_MS: "1000" } });
});
after(async () => {
  for (const s of sockets) s.disconnect();
  if (server) await server.stop();
});

/** A fetch standing for a proxy that does not let SSE through: `mode` "html" or "buffer". */
function noSse(mode, log = []) {
  return (url, init = {}) => {
    const u = String(url);
    log.push(u);
    if (u.includes("/sse?") && !u.includes("transport=polling")) {
      if (mode === "html") {
        return Promise.resolve(new Response("<html>blocked</html>", { status: 200, headers: { "content-type": "text/html" } }));
      }
      // "buffer": headers come, the body never does (until the client gives up on it)
      return Promise.resolve(
        new Response(new ReadableStream({ start() {} }), { status: 200, headers: { "content-type": "text/event-stream" } }),
      );
    }
    return fetch(url, init);
  };
}

test("transports: ['polling']: welcome, echo, broadcast, rooms, with a cursor on every poll", needsServer, async () => {
  const log = [];
  const p = open({ transports: ["polling"], fetch: recordingFetch(log) });
  const s = open();
  const welcome = next(p, "welcome");
  await Promise.all([connected(p), connected(s)]);
  assert.equal(p.transport, "polling");
  assert.deepEqual((await welcome)[0], { id: p.id });
  assert.equal(await p.emitWithAck("echo", "polled"), "polled");
  const chat = next(p, "chat");
  await s.emitWithAck("chat", { text: "to the poller" });
  assert.deepEqual((await chat)[0], { from: s.id, text: "to the poller" });
  await p.emitWithAck("join", { room: "pr" });
  const say = next(p, "say");
  await s.emitWithAck("say", { room: "pr", text: "room msg" });
  assert.deepEqual((await say)[0], { from: s.id, room: "pr", text: "room msg" });
  const sseOpens = log.filter((r) => r.url.includes("/sse?") && !r.url.includes("transport=polling"));
  assert.equal(sseOpens.length, 0, "never tried SSE");
  const polls = log.filter((r) => r.url.includes("transport=polling"));
  assert.ok(polls.length >= 2);
  for (const r of polls) assert.match(r.url, /lastEventId=\d+-\d+/);
});

test("polling: messages come once, in order, across many long-polls", needsServer, async () => {
  const p = open({ transports: ["polling"] });
  const s = open();
  await Promise.all([connected(p), connected(s)]);
  const got = [];
  p.on("chat", (d) => got.push(Number(d.text)));
  const last = next(p, "chat", { pred: (d) => d.text === "29", timeout: 5000 });
  for (let i = 0; i < 30; i++) await s.emitWithAck("chat", { text: String(i) });
  await last;
  await roundTrip(p);
  assert.deepEqual(got, [...Array(30).keys()]);
});

for (const mode of ["html", "buffer"]) {
  test(`SSE blocked (${mode === "html" ? "answered with HTML" : "buffered by a proxy"}): falls back to polling on the same session`, needsServer, async () => {
    const log = [];
    const p = open({ fetch: noSse(mode, log), openTimeout: 300 });
    const welcome = next(p, "welcome");
    const events = record(p, ["connect", "disconnect", "reconnecting", "connect_error"]);
    await connected(p);
    assert.equal(p.transport, "polling");
    assert.deepEqual((await welcome)[0], { id: p.id }, "the welcome stored at /connect still arrives");
    assert.equal(await p.emitWithAck("echo", "via fallback"), "via fallback");
    const tried = log.filter((u) => u.includes("/sse?") && !u.includes("transport=polling"));
    assert.equal(tried.length, 1, "SSE tried once");
    assert.deepEqual(events.map((e) => e[0]), ["connect"]);
  });
}

test("the 0.6.0 option form { transport: 'polling' } also works", needsServer, async () => {
  const p = open({ transport: "polling" });
  await connected(p);
  assert.equal(p.transport, "polling");
  assert.equal(await p.emitWithAck("echo", 1), 1);
});

test("a host that buffers responses (501 sse_unsupported): falls back to polling, once", needsServer, async (t) => {
  const own = await startChat({ env: { SOCKET_SERVE_PLATFORM: "netlify", SOCKET_SERVE_POLL_TIMEOUT_MS: "1000" } });
  const log = [];
  const s = connect(own.base, { reconnectionDelay: 50, reconnectionDelayMax: 300, fetch: recordingFetch(log) });
  t.after(async () => {
    s.disconnect();
    await own.stop();
  });
  const welcome = next(s, "welcome");
  await connected(s);
  await welcome;
  assert.equal(s.transport, "polling");
  assert.equal(await s.emitWithAck("echo", "through polls"), "through polls");
  const sseOpens = log.filter((r) => r.url.includes("/sse?") && !r.url.includes("transport=polling"));
  assert.equal(sseOpens.length, 1, "asked for SSE once, then stayed on polling");
});
