// The cursors example in headless Chromium: two users on two browser contexts see each
// other's pointers move, with names and colours, and a pointer goes away with its page.
// Once on the memory store, once on Redis with each page on its own instance.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { connect } from "../src/index.js";
import { startChat, connected, next } from "./helpers.js";
import { example, NO_REDIS, launchChromium, startExample, screenshot } from "./example-pages.js";

const { bin, skip } = example("cursors");
let browser;

before(async () => {
  if (!skip) browser = await launchChromium();
});
after(async () => {
  if (browser) await browser.close();
});

/** A cursors page in a new browser context, once it said hello (it lists itself). */
async function cursorsPage(origin) {
  const context = await browser.newContext({ colorScheme: "light", viewport: { width: 960, height: 600 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await page.goto(origin + "/");
  await page.waitForSelector('#status[data-state="connected"]', { timeout: 10000 });
  const id = await page.evaluate(() => window.cursorsSocket.id);
  await page.waitForSelector(`#people li[data-id="${id}"]`, { timeout: 5000 });
  const name = await page.inputValue("#name");
  return { context, page, id, name, errors };
}

/** Moves the mouse on `from`'s board to (fx, fy) (fractions) and waits for `to` to show it there. */
async function moveAndSee(from, to, fx, fy) {
  const box = await from.page.locator("#board").boundingBox();
  await from.page.mouse.move(box.x + fx * box.width, box.y + fy * box.height, { steps: 8 });
  await to.page.waitForFunction(
    ({ id, fx, fy }) => {
      const el = document.querySelector(`.cursor[data-id="${id}"]`);
      if (!el || el.hidden) return false;
      return Math.abs(parseFloat(el.style.left) - fx * 100) < 0.5 && Math.abs(parseFloat(el.style.top) - fy * 100) < 0.5;
    },
    { id: from.id, fx, fy },
    { timeout: 5000 },
  );
}

async function scenario({ redis }) {
  const servers = await startExample(bin, { redis });
  try {
    const a = await cursorsPage(servers.origins[0]);
    const b = await cursorsPage(servers.origins[1]);
    // Each lists the other (A learnt of B by presence:join, B of A from its hello's ack).
    await a.page.waitForSelector(`#people li[data-id="${b.id}"]`, { timeout: 5000 });
    await b.page.waitForSelector(`#people li[data-id="${a.id}"]`, { timeout: 5000 });

    await moveAndSee(a, b, 0.3, 0.4);
    await moveAndSee(a, b, 0.62, 0.55); // and it follows
    await moveAndSee(b, a, 0.45, 0.3);
    const label = (p, id) => p.page.textContent(`.cursor[data-id="${id}"] .label`);
    assert.equal(await label(b, a.id), a.name);
    assert.equal(await label(a, b.id), b.name);
    // Nobody sees their own pointer drawn.
    assert.equal(await a.page.locator(`.cursor[data-id="${a.id}"]`).count(), 0);
    const colour = await a.page.evaluate(() => JSON.parse(sessionStorage.getItem("cursors")).color);
    assert.match(colour, /^#[0-9a-f]{6}$/);
    assert.equal(await b.page.getAttribute(`.cursor[data-id="${a.id}"] path`, "fill"), colour);
    if (!redis) {
      // A third page, for a fuller picture.
      const c = await cursorsPage(servers.origins[0]);
      await a.page.waitForSelector(`#people li[data-id="${c.id}"]`, { timeout: 5000 });
      await moveAndSee(c, a, 0.7, 0.62);
      await screenshot(a.page, "cursors");
      await c.context.close();
    }

    assert.deepEqual([...a.errors, ...b.errors], []);
    // A leaves: its pointer and its name go from B's page.
    await a.context.close();
    await b.page.waitForSelector(`.cursor[data-id="${a.id}"]`, { state: "detached", timeout: 10000 });
    assert.equal(await b.page.locator(`#people li[data-id="${a.id}"]`).count(), 0);
    await b.context.close();
  } finally {
    await servers.stop();
  }
}

test("cursors: two pages see each other's pointers, which go away with their page", { skip, timeout: 60000 }, () =>
  scenario({ redis: false }));

test("cursors on Redis, each page on its own instance", { skip: skip || NO_REDIS, timeout: 60000 }, () =>
  scenario({ redis: true }));

test("cursors' server: a bad hello is a 400 invalid_hello, moves are clamped to the page", { skip: existsSync(bin) ? false : skip, timeout: 30000 }, async () => {
  const server = await startChat({ bin });
  const [a, b] = [connect(server.base), connect(server.base)];
  try {
    await Promise.all([connected(a), connected(b)]);
    for (const bad of [{ name: " ", color: "#123456" }, { name: "x".repeat(25), color: "#123456" }, { name: "Ann", color: "red" }]) {
      await assert.rejects(a.emitWithAck("hello", bad), (e) => e.code === "invalid_hello" && e.status === 400, JSON.stringify(bad));
    }
    await assert.rejects(a.emitWithAck("move", { x: "left" }), (e) => e.status === 400);
    const joined = next(a, "presence:join", { timeout: 5000 });
    await a.emitWithAck("hello", { name: " Ann ", color: "#ABCDEF" });
    const { members } = await b.emitWithAck("hello", { name: "Bob", color: "#000000" });
    assert.deepEqual(members.find((m) => m.id === a.id).meta, { name: "Ann", color: "#abcdef" });
    assert.deepEqual((await joined)[0], { id: b.id, meta: { name: "Bob", color: "#000000" } });
    const moved = next(b, "move", { timeout: 5000 });
    await a.emitWithAck("move", { x: 2, y: -1 });
    assert.deepEqual((await moved)[0], { id: a.id, x: 1, y: 0 });
  } finally {
    a.disconnect();
    b.disconnect();
    await server.stop();
  }
});
