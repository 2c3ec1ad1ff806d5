// The chat example's socket.io-client page (/socketio.html, socket.io-client 4.8 over
// polling) and its socket-serve page (/) chat with each other in headless Chromium, on
// two instances sharing one Redis (each page on its own instance).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { example, NO_REDIS, launchChromium, startExample } from "./example-pages.js";

const { bin, skip } = example("chat");
const needs = skip || NO_REDIS ? { skip: skip || NO_REDIS } : {};
let browser;
let app;

before(async () => {
  if (needs.skip) return;
  browser = await launchChromium();
  app = await startExample(bin, { redis: true });
});
after(async () => {
  if (browser) await browser.close();
  if (app) await app.stop();
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
  const [a, b] = app.origins;
  const sio = await open(`${a}/socketio.html`);
  await sio.page.waitForSelector('#status[data-state="connected"]', { timeout: 10000 });
  const ss = await open(`${b}/`);
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
