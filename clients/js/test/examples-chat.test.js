// The chat example in headless Chromium, as two users on two browser contexts: nicknames,
// a room's member list following joins and leaves, typing indicators, and a conversation
// across a page reload (the page resumes its session; messages are sent while it reloads)
// and a cut stream (streams also rotate every second) in which the history and the live
// messages show each message once, in order. Once on the memory
// store, once on Redis with each page on its own instance.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { CHAT_BIN } from "./helpers.js";
import { example, NO_REDIS, launchChromium, startExample, screenshot } from "./example-pages.js";

const { skip } = example("chat");
const ENV = { SOCKET_SERVE_MAX_STREAM_MS: "1000" };
let browser;

before(async () => {
  if (!skip) browser = await launchChromium();
});
after(async () => {
  if (browser) await browser.close();
});

/** Resolves once `page` is connected and in `lobby` with its member list read. */
async function ready(page) {
  await page.waitForSelector('#status[data-state="connected"]', { timeout: 10000 });
  const id = await page.evaluate(() => window.chatSocket.id);
  await page.waitForSelector(`#rooms li[data-room="lobby"] .members li[data-id="${id}"]`, { timeout: 5000 });
  return id;
}

/** A chat page in a new browser context, named `name`. */
async function chatPage(origin, name) {
  const context = await browser.newContext({ colorScheme: "light", viewport: { width: 1040, height: 680 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await page.goto(origin + "/");
  const id = await ready(page);
  await page.fill("#nick", name);
  await page.click('#nick-form button[type="submit"]');
  return { context, page, id, name, errors };
}

/** Waits until `p`'s member list of `room` shows `name` (or, with `gone`, no longer does). */
async function member(p, room, name, { gone = false } = {}) {
  await p.page.waitForFunction(
    ({ room, name, gone }) => {
      const names = [...document.querySelectorAll(`#rooms li[data-room="${room}"] .members li`)].map((li) => li.textContent);
      return names.includes(name) !== gone;
    },
    { room, name, gone },
    { timeout: 10000 },
  );
}

const lines = (p, cls) => p.page.$$eval(`#log li.${cls}`, (lis) => lis.map((li) => li.textContent));

async function send(p, text) {
  await p.page.fill("#text", text);
  await p.page.press("#text", "Enter");
}

/** Resolves once the server has handled everything `p` emitted so far (one POST at a time, in order). */
const handled = (p) => p.page.evaluate(() => window.chatSocket.emitWithAck("echo", "handled"));

/** Waits until `p` shows at least `n` lines of class `cls`. */
async function shows(p, cls, n) {
  await p.page.waitForFunction(({ cls, n }) => document.querySelectorAll(`#log li.${cls}`).length >= n, { cls, n }, { timeout: 10000 });
}

async function scenario({ redis }) {
  const servers = await startExample(CHAT_BIN, { redis, env: ENV });
  try {
    const ann = await chatPage(servers.origins[0], "Ann");
    const bob = await chatPage(servers.origins[1], "Bob");
    // Nicknames reach the other's lobby list (presence:join, presence:update).
    await member(ann, "lobby", "Bob");
    await member(bob, "lobby", "Ann");

    // A room: both join; each sees the other in its member list; they talk.
    for (const p of [ann, bob]) {
      await p.page.fill("#room", "rust");
      await p.page.click("#join");
    }
    await member(ann, "rust", "Bob");
    await member(bob, "rust", "Ann");
    await send(ann, "hi Bob, welcome to #rust");
    await shows(bob, "say", 1);
    assert.deepEqual(await lines(bob, "say"), ["Ann: hi Bob, welcome to #rust"]);

    // Typing: volatile (live only), so a note sent during a stream rotation may be lost;
    // Bob types on until Ann sees it, then the indicator goes (his stop, or its lapse).
    let seen = false;
    for (let i = 0; i < 5 && !seen; i++) {
      await bob.page.type("#text", "thanks");
      seen = await ann.page
        .waitForFunction(() => document.getElementById("typing").textContent === "Bob is typing…", null, { timeout: 2500 })
        .then(() => true, () => false);
      if (!seen) await bob.page.fill("#text", "");
    }
    assert.ok(seen, "Ann saw Bob typing");
    if (!redis) await screenshot(ann.page, "chat");
    await bob.page.fill("#text", "thanks, glad to be here");
    await bob.page.press("#text", "Enter");
    await shows(ann, "say", 1);
    await ann.page.waitForFunction(() => document.getElementById("typing").textContent === "", null, { timeout: 6000 });

    // Bob leaves the room: he goes from Ann's list of it, and it from his rooms.
    await bob.page.click('#rooms li[data-room="rust"] .leave-room');
    await member(ann, "rust", "Bob", { gone: true });
    assert.equal(await bob.page.locator('#rooms li[data-room="rust"]').count(), 0);

    // A conversation in the lobby across Ann's reload and a cut of her stream.
    await ann.page.click('#rooms li[data-room="lobby"] .room-name');
    await bob.page.click('#rooms li[data-room="lobby"] .room-name');
    for (const m of ["m1", "m2", "m3"]) await send(bob, m);
    await shows(ann, "chat", 3);
    // Reload: the new page's first stream waits until Bob has sent m4 and m5, which reach
    // no page of Ann's; the page resumes her session from its saved cursor and gets them.
    let asked;
    const streamAsked = new Promise((resolve) => (asked = resolve));
    let release;
    const sent = new Promise((resolve) => (release = resolve));
    await ann.page.route(/\/socket\/sse\?/, async (route) => {
      asked();
      await sent;
      await route.continue();
    }, { times: 1 });
    await ann.page.reload();
    await streamAsked; // the old page is gone
    for (const m of ["m4", "m5"]) await send(bob, m);
    await handled(bob);
    release();
    assert.equal(await ready(ann.page), ann.id, "a reload resumes the same session");
    assert.equal(await ann.page.textContent("#status"), "resumed");
    await shows(ann, "chat", 5);
    assert.deepEqual(await lines(ann, "chat"), ["m1", "m2", "m3", "m4", "m5"].map((m) => `Bob: ${m}`), "the history, then what was sent meanwhile");
    assert.equal(await ann.page.textContent("#room-title"), "# lobby", "the page kept its room");
    // Bob's list shows Ann once, with her name (the session's presence).
    await member(bob, "lobby", "Ann");
    assert.equal(await bob.page.locator(`#rooms li[data-room="lobby"] .members li[data-id="${ann.id}"]`).count(), 1);

    // Cut: the next stream Ann opens fails; the client reconnects and resumes from its cursor.
    await ann.page.route(/\/socket\/sse\?/, (route) => route.abort("connectionreset"), { times: 1 });
    for (const m of ["m6", "m7", "m8"]) await send(bob, m);
    await ann.page.waitForFunction(() => document.getElementById("status").textContent === "recovered", null, { timeout: 10000 });
    await send(bob, "m9");
    await shows(ann, "chat", 9);
    // Everything sent to Ann before this echo has arrived once it is back.
    await ann.page.evaluate(() => new Promise((resolve) => {
      window.chatSocket.on("echo", (d) => d === "last" && resolve());
      window.chatSocket.emit("echo", "last");
    }));
    const expected = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"].map((m) => `Bob: ${m}`);
    assert.deepEqual(await lines(ann, "chat"), expected, "history and live messages: each once, in order");
    assert.deepEqual(await lines(ann, "mine"), ["Ann: hi Bob, welcome to #rust"]);
    assert.deepEqual([...ann.errors, ...bob.errors], []);
    await Promise.all([ann.context.close(), bob.context.close()]);
  } finally {
    await servers.stop();
  }
}

test("chat: two users, a room with its member list, typing, and a reload and a cut losing nothing", { skip, timeout: 90000 }, () =>
  scenario({ redis: false }));

test("chat on Redis, each page on its own instance", { skip: skip || NO_REDIS, timeout: 90000 }, () =>
  scenario({ redis: true }));
