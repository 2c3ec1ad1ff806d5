// The chat example's socket.io-client page (/socketio.html, socket.io-client 4.8 over
// polling) in headless Chromium, against three instances sharing one Redis with every
// request routed to a random instance: it chats with the socket-serve page (/), and two
// socket.io-client pages exchange events both ways, acks and room messages.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { example, NO_REDIS, launchChromium } from "./example-pages.js";
import { randomBalancer, startChat, startRedis } from "./helpers.js";

const { bin, skip } = example("chat");
const needs = skip || NO_REDIS ? { skip: skip || NO_REDIS } : {};
let browser;
let redis;
let instances = [];
let balancer;
let origin;

before(async () => {
  if (needs.skip) return;
  redis = await startRedis();
  [browser, ...instances] = await Promise.all([
    launchChromium(),
    ...[0, 1, 2].map(() => startChat({ bin, env: { REDIS_URL: redis.url } })),
  ]);
  balancer = await randomBalancer(instances);
  origin = `http://127.0.0.1:${balancer.address().port}`;
});
after(async () => {
  if (browser) await browser.close();
  if (balancer) balancer.close();
  await Promise.all(instances.map((i) => i.stop()));
  if (redis) await redis.stop();
});

async function open(url) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await page.goto(url);
  return { page, errors };
}

test("a socket.io-client page and a socket-serve page chat with each other", needs, async () => {
  const sio = await open(`${origin}/socketio.html`);
  await sio.page.waitForSelector('#status[data-state="connected"]', { timeout: 10000 });
  const ss = await open(`${origin}/`);
  await ss.page.waitForFunction(() => window.chatSocket && window.chatSocket.connected, null, { timeout: 10000 });

  // socket.io-client page -> socket-serve page.
  const heard = ss.page.evaluate(
    () => new Promise((resolve) => window.chatSocket.on("chat", (m) => m.text === "from socket.io" && resolve(m))),
  );
  await sio.page.fill("#text", "from socket.io");
  await sio.page.press("#text", "Enter");
  const got = await heard;
  const sioId = await sio.page.evaluate(() => window.sioSocket.id);
  assert.equal(got.from, sioId);

  // socket-serve page -> socket.io-client page, shown in its log.
  await ss.page.evaluate(() => window.chatSocket.emitWithAck("chat", { text: "from socket-serve" }));
  await sio.page.waitForFunction(
    () => [...document.querySelectorAll("#log li.chat")].some((li) => li.textContent.endsWith(": from socket-serve")),
    null,
    { timeout: 10000 },
  );
  assert.deepEqual(sio.errors, []);
  assert.deepEqual(ss.errors, []);
});

test("two socket.io-client pages: events both ways, an ack and a room, all routed at random", needs, async () => {
  const [a, b] = [await open(`${origin}/socketio.html`), await open(`${origin}/socketio.html`)];
  for (const p of [a, b]) await p.page.waitForSelector('#status[data-state="connected"]', { timeout: 10000 });
  // Client to server with an ack, and server to client (the echo event).
  const echoed = await a.page.evaluate(async () => {
    const heard = new Promise((resolve) => window.sioSocket.once("echo", resolve));
    const ack = await window.sioSocket.timeout(5000).emitWithAck("echo", { n: 7 });
    return { ack, heard: await heard };
  });
  assert.deepEqual(echoed, { ack: { n: 7 }, heard: { n: 7 } });
  // A room: both join; a's say reaches b.
  for (const p of [a, b]) {
    await p.page.evaluate(() => window.sioSocket.timeout(5000).emitWithAck("join", { room: "den" }));
  }
  const heard = b.page.evaluate(() => new Promise((resolve) => window.sioSocket.once("say", resolve)));
  await a.page.evaluate(() => window.sioSocket.timeout(5000).emitWithAck("say", { room: "den", text: "hi den" }));
  const said = await heard;
  assert.equal(said.room, "den");
  assert.equal(said.text, "hi den");
  assert.equal(said.from, await a.page.evaluate(() => window.sioSocket.id));
  assert.deepEqual(a.errors, []);
  assert.deepEqual(b.errors, []);
});
