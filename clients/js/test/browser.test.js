// Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core): two pages of
// the chat example chat with each other through the page's UI, and a page keeps its
// session and loses no message while the server cuts its stream every second. The pages
// load the client the server serves at /socket/client.js.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { connect } from "../src/index.js";
import { startChat, NO_SERVER, connected, next } from "./helpers.js";

const CHROMIUM = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const SKIP = NO_SERVER || (existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`);
const opts = SKIP ? { skip: SKIP } : { timeout: 60000 };

let server;
let browser;
const nodeSockets = [];

before(async () => {
  if (SKIP) return;
  const { chromium } = await import("playwright-core");
  // Every stream is cut after a second (with retry:), so every test here crosses rotations.
  [server, browser] = await Promise.all([
    // A 200 KB binary echo: the data limit (64 KiB by default) raised.
    startChat({ env: { SOCKET_SERVE_MAX_STREAM_MS: "1000", SOCKET_SERVE_MAX_MESSAGE_BYTES: String(1024 * 1024) } }),
    chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true }),
  ]);
});

after(async () => {
  for (const s of nodeSockets) s.disconnect();
  if (browser) await browser.close();
  if (server) await server.stop();
});

async function chatPage() {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  const streams = [];
  page.on("request", (r) => {
    if (/\/socket\/sse\?/.test(r.url())) streams.push(r.url());
  });
  await page.goto(server.origin + "/");
  await page.waitForSelector('#status[data-state="connected"]', { timeout: 10000 });
  const id = await page.evaluate(() => window.chatSocket.id);
  await page.waitForFunction((id) => document.getElementById("me").textContent === id, id, { timeout: 5000 });
  // The page has joined `lobby` and read its member list (itself at least).
  await page.waitForSelector('#rooms li[data-room="lobby"] .members li', { timeout: 5000 });
  return { page, id, errors, streams };
}

async function logLines(page, cls) {
  return page.$$eval(`#log li.${cls}`, (lis) => lis.map((li) => li.textContent));
}

test("two pages of the chat example chat with each other", opts, async () => {
  const [a, b] = await Promise.all([chatPage(), chatPage()]);
  assert.notEqual(a.id, b.id);
  // Names come from the presence lists of `lobby`, which every page is in.
  const [nameA, nameB] = [await a.page.inputValue("#nick"), await b.page.inputValue("#nick")];
  await a.page.fill("#text", "hello from A");
  await a.page.click('#chat-form button[type="submit"]');
  await b.page.waitForFunction(
    (line) => [...document.querySelectorAll("#log li.chat")].some((li) => li.textContent === line),
    `${nameA}: hello from A`,
    { timeout: 5000 },
  );
  await b.page.fill("#text", "hi A, B here");
  await b.page.press("#text", "Enter");
  await a.page.waitForFunction(
    (line) => [...document.querySelectorAll("#log li.chat")].some((li) => li.textContent === line),
    `${nameB}: hi A, B here`,
    { timeout: 5000 },
  );
  // Rooms through the UI: both join (which makes the room theirs to write to), A says
  // something there once its member list shows B.
  for (const p of [a.page, b.page]) {
    await p.fill("#room", "browsers");
    await p.click("#join");
  }
  await a.page.waitForFunction(
    (name) => document.querySelector('#rooms li[data-room="browsers"] .members')?.textContent.includes(name),
    nameB,
    { timeout: 5000 },
  );
  await a.page.fill("#text", "room hello");
  await a.page.press("#text", "Enter");
  await b.page.waitForFunction(
    (line) => [...document.querySelectorAll('#log li.say[data-room="browsers"]')].some((li) => li.textContent === line),
    `${nameA}: room hello`,
    { timeout: 5000 },
  );
  // A's own messages show once, as its own (li.mine), never as a broadcast to itself.
  assert.deepEqual(await logLines(a.page, "chat"), [`${nameB}: hi A, B here`]);
  assert.deepEqual(await logLines(a.page, "say"), []);
  assert.deepEqual(await logLines(a.page, "mine"), [`${nameA}: hello from A`, `${nameA}: room hello`]);
  assert.deepEqual(a.errors, []);
  assert.deepEqual(b.errors, []);
  await Promise.all([a.page.close(), b.page.close()]);
});

test("a page keeps its session and loses no message while its stream is cut every second", opts, async () => {
  const p = await chatPage();
  await p.page.evaluate(() => {
    window.lifecycle = [];
    for (const e of ["connect", "disconnect", "reconnecting", "reconnect", "connect_error"]) {
      window.chatSocket.on(e, (arg) => window.lifecycle.push([e, arg && arg.message ? arg.message : arg]));
    }
  });
  const sid = await p.page.evaluate(() => window.chatSocket.sessionId);
  const sender = connect(server.base);
  nodeSockets.push(sender);
  await connected(sender);
  // 20 messages a second until the page has opened four streams (three cuts), then a few more.
  let n = 0;
  const deadline = Date.now() + 15000;
  while (p.streams.length < 4 || n < 60) {
    assert.ok(Date.now() < deadline, `rotations: ${p.streams.length} streams`);
    await sender.emitWithAck("chat", { text: `m${n++}` });
    await new Promise((r) => setTimeout(r, 50));
  }
  const expected = [...Array(n).keys()].map((i) => `${sender.id}: m${i}`);
  await p.page.waitForFunction((count) => document.querySelectorAll("#log li.chat").length >= count, n, { timeout: 10000 });
  // Anything sent before this echo has arrived once it is back.
  await p.page.evaluate(
    () =>
      new Promise((resolve) => {
        window.chatSocket.on("echo", (d) => d === "last" && resolve());
        window.chatSocket.emit("echo", "last");
      }),
  );
  assert.deepEqual(await logLines(p.page, "chat"), expected, "every message once, in order");
  assert.equal(await p.page.evaluate(() => window.chatSocket.sessionId), sid, "the same session");
  assert.deepEqual(await p.page.evaluate(() => window.lifecycle), [], "no lifecycle event for planned cuts");
  assert.equal(await p.page.evaluate(() => window.chatSocket.connected), true);
  assert.ok(p.streams.length >= 4);
  for (const u of p.streams.slice(1)) assert.match(u, /lastEventId=\d+-\d+/);
  assert.deepEqual(p.errors, []);
  await p.page.close();
});

test("in the browser: EventSource mode and long-polling mode also resume without loss", opts, async () => {
  const page = await browser.newPage();
  await page.goto(server.origin + "/");
  await page.waitForSelector('#status[data-state="connected"]', { timeout: 10000 });
  const sender = connect(server.base);
  nodeSockets.push(sender);
  await connected(sender);
  await page.evaluate(async () => {
    const { connect } = await import("/socket/client.js");
    window.extra = {};
    for (const [name, options] of [
      ["es", { eventSource: true }],
      ["poll", { transports: ["polling"] }],
    ]) {
      const s = connect("/socket", options);
      const rec = { socket: s, got: [], lifecycle: [] };
      s.on("chat", (d) => rec.got.push(d.text));
      for (const e of ["disconnect", "reconnecting", "connect_error"]) s.on(e, () => rec.lifecycle.push(e));
      window.extra[name] = rec;
      await new Promise((r) => s.once("connect", r));
    }
  });
  let n = 0;
  const start = Date.now();
  while (Date.now() - start < 3000) {
    await sender.emitWithAck("chat", { text: `e${n++}` });
    await new Promise((r) => setTimeout(r, 50));
  }
  const expected = [...Array(n).keys()].map((i) => `e${i}`);
  await page.waitForFunction(
    (count) => window.extra.es.got.length >= count && window.extra.poll.got.length >= count,
    n,
    { timeout: 10000 },
  );
  const result = await page.evaluate(() => {
    const out = {};
    for (const [k, v] of Object.entries(window.extra)) {
      out[k] = { got: [...v.got], lifecycle: [...v.lifecycle], transport: v.socket.transport, connected: v.socket.connected };
      v.socket.disconnect();
    }
    return out;
  });
  assert.equal(result.es.transport, "sse");
  assert.equal(result.poll.transport, "polling");
  for (const k of ["es", "poll"]) {
    assert.deepEqual(result[k].got, expected, `${k}: every message once, in order`);
    assert.deepEqual(result[k].lifecycle, [], `${k}: no lifecycle event`);
    assert.equal(result[k].connected, true);
  }
  await page.close();
});

test("the chat page: a server restart shows reconnecting, then a new session, and chat goes on", opts, async () => {
  let own = await startChat();
  const port = own.port;
  const page = await browser.newPage();
  try {
    await page.goto(own.origin + "/");
    await page.waitForSelector('#status[data-state="connected"]', { timeout: 10000 });
    const oldId = await page.evaluate(() => window.chatSocket.id);
    await own.stop();
    await page.waitForFunction(() => /reconnecting/.test(document.getElementById("status").textContent), null, { timeout: 10000 });
    own = await startChat({ port });
    await page.waitForFunction(
      (old) => window.chatSocket.connected && window.chatSocket.id !== old && document.getElementById("status").dataset.state === "connected",
      oldId,
      { timeout: 15000 },
    );
    const newId = await page.evaluate(() => window.chatSocket.id);
    assert.equal(await page.textContent("#me"), newId);
    assert.ok((await logLines(page, "meta")).some((l) => l.includes("lost our session")));
    const other = connect(own.base);
    nodeSockets.push(other);
    await connected(other);
    const got = next(other, "chat", { timeout: 5000 });
    await page.fill("#text", "after the restart");
    await page.press("#text", "Enter");
    assert.deepEqual((await got)[0], { from: newId, text: "after the restart" });
  } finally {
    await page.close();
    await own.stop();
  }
});

test("binary payloads in the browser: Uint8Array and ArrayBuffer through echo come back as Uint8Array", opts, async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  try {
    await page.goto(server.origin + "/");
    const result = await page.evaluate(async () => {
      const { connect } = await import("/socket/client.js");
      const socket = connect("/socket", { transports: ["sse"] });
      await new Promise((resolve) => socket.on("connect", resolve));
      const big = new Uint8Array(200000);
      for (let i = 0; i < big.length; i++) big[i] = (i * 131 + 7) & 0xff;
      const echoed = new Promise((resolve) => socket.once("echo", resolve));
      const reply = await socket.emitWithAck("echo", {
        big,
        buf: new Uint8Array([0, 255, 1]).buffer,
        nested: [{ view: new DataView(big.buffer, 1, 2) }],
      });
      const event = await echoed;
      socket.disconnect();
      const same = (a, b) => a instanceof Uint8Array && a.length === b.length && a.every((v, i) => v === b[i]);
      const check = (d) => ({
        big: same(d.big, big),
        buf: same(d.buf, new Uint8Array([0, 255, 1])),
        view: same(d.nested[0].view, big.subarray(1, 3)),
      });
      return { reply: check(reply), event: check(event) };
    });
    const ok = { big: true, buf: true, view: true };
    assert.deepEqual(result, { reply: ok, event: ok });
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});
