// The notifications example in headless Chromium: two users on two browser contexts get
// notifications pushed by the webhook (and, on Redis, the CLI): one user's only on that
// page, a group's and everyone's on both; the unread badge counts, survives a reload and
// clears. Once on the memory store, once on Redis with each page on its own instance.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { promisify } from "node:util";
import { example, NO_REDIS, launchChromium, startExample, screenshot } from "./example-pages.js";

const { bin, skip } = example("notifications");
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../target/debug/socket-serve");
let browser;

before(async () => {
  if (!skip) browser = await launchChromium();
});
after(async () => {
  if (browser) await browser.close();
});

/** A notifications page for user `name` in `groups`, in a new browser context, once it said hello. */
async function notificationsPage(origin, name, groups) {
  const context = await browser.newContext({ colorScheme: "light", viewport: { width: 720, height: 560 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await page.goto(`${origin}/?name=${name}&groups=${groups.join(",")}`);
  await page.waitForSelector("body[data-ready]", { timeout: 10000 });
  const id = await page.getAttribute("body", "data-ready");
  return { context, page, id, errors };
}

/** POST /notify; resolves { status, body }. */
async function notify(origin, body) {
  const res = await fetch(`${origin}/notify`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function send(origin, body) {
  const res = await notify(origin, body);
  assert.deepEqual(res, { status: 202, body: { sent: true } }, JSON.stringify(body));
}

const titles = (p) => p.page.$$eval("#list .title", (els) => els.map((e) => e.textContent));
const sees = (p, title) => p.page.waitForSelector(`#list .title:text-is("${title}")`, { timeout: 5000 });
const badge = (p, n) => p.page.waitForSelector(`#badge[data-count="${n}"]`, { timeout: 5000 });

async function scenario({ redis }) {
  const servers = await startExample(bin, { redis });
  const [one, two] = servers.origins;
  try {
    const ann = await notificationsPage(one, "ann", ["team"]);
    const bob = await notificationsPage(two, "bob", ["team", "ops"]);

    // To one user (the webhook of the other instance): only Bob's page.
    await send(one, { to: "user", target: "bob", title: "For Bob", body: "only you" });
    await sees(bob, "For Bob");
    await badge(bob, 1);
    // To a group both are in, and to everyone: both pages. A sees these after (in order),
    // so had "For Bob" reached A it would show by now.
    await send(two, { to: "group", target: "team", title: "Team standup", body: "in 5 minutes" });
    await send(one, { to: "all", title: "Deploy done", body: "v1.4.2 is live" });
    for (const p of [ann, bob]) await sees(p, "Deploy done");
    assert.deepEqual(await titles(ann), ["Deploy done", "Team standup"]);
    assert.deepEqual(await titles(bob), ["Deploy done", "Team standup", "For Bob"]);
    // To a group only Bob is in; to Ann's session by its public id, twice with one key.
    await send(one, { to: "group", target: "ops", title: "Disk 91%", body: "db-2" });
    await send(two, { to: "session", target: ann.id, title: "Hi Ann", key: `k-${ann.id}` });
    await send(one, { to: "session", target: ann.id, title: "Hi Ann", key: `k-${ann.id}` });
    await send(two, { to: "user", target: "ann", title: "Invoice paid", body: "#42, 120 EUR" });
    if (redis && existsSync(CLI)) {
      // The CLI, through the same Redis (and key prefix) as the servers.
      const env = { ...process.env, REDIS_URL: servers.redisUrl, SOCKET_SERVE_KEY_PREFIX: `js${process.pid}` };
      const data = JSON.stringify({ title: "From the CLI", body: "socket-serve emit", at: Date.now() });
      await promisify(execFile)(CLI, ["emit", "--room", "user:ann", "notification", data], { env });
      await sees(ann, "From the CLI");
    }
    await sees(ann, "Invoice paid");
    await sees(bob, "Disk 91%");
    const annCount = redis && existsSync(CLI) ? 5 : 4;
    await badge(ann, annCount);
    await badge(bob, 4);
    assert.equal((await titles(ann)).filter((t) => t === "Hi Ann").length, 1);
    assert.ok(!(await titles(ann)).includes("Disk 91%"));
    assert.equal(await ann.page.locator("#list li.unread").count(), annCount);
    if (!redis) await screenshot(ann.page, "notifications");

    // A reload is a new session: the tab's list and count carry over, the user's room too.
    await bob.page.reload();
    await bob.page.waitForSelector("body[data-ready]", { timeout: 10000 });
    assert.notEqual(await bob.page.getAttribute("body", "data-ready"), bob.id);
    await badge(bob, 4);
    assert.equal((await titles(bob)).length, 4);
    await send(one, { to: "user", target: "bob", title: "After reload" });
    await sees(bob, "After reload");
    await badge(bob, 5);

    // Mark read: the session's count (not only the page's) is 0, so the next one makes 1.
    await ann.page.click("#read");
    await badge(ann, 0);
    assert.equal(await ann.page.locator("#list li.unread").count(), 0);
    assert.ok(await ann.page.isDisabled("#read"));
    await send(two, { to: "all", title: "One more" });
    await badge(ann, 1);
    await badge(bob, 6);

    assert.deepEqual([...ann.errors, ...bob.errors], []);
    await ann.context.close();
    await bob.context.close();
  } finally {
    await servers.stop();
  }
}

test("notifications: to one user, a group, everyone; the unread badge counts, survives a reload, clears", { skip, timeout: 60000 }, () =>
  scenario({ redis: false }));

test("notifications on Redis, each page on its own instance, and from the CLI", { skip: skip || NO_REDIS, timeout: 60000 }, () =>
  scenario({ redis: true }));

test("notifications' webhook: bad input is a JSON error", { skip: existsSync(bin) ? false : skip, timeout: 30000 }, async () => {
  const servers = await startExample(bin);
  const origin = servers.origins[0];
  try {
    const cases = [
      ["{not json", 400, "invalid_json"],
      [{ to: "user", title: "x" }, 400, "invalid_target"],
      [{ to: "user", target: "Not A Name", title: "x" }, 400, "invalid_target"],
      [{ to: "room", target: "a", title: "x" }, 400, "invalid_to"],
      [{ to: "all", title: "  " }, 400, "invalid_notification"],
      [{ to: "all", title: "x".repeat(101) }, 400, "invalid_notification"],
      [{ to: "all" }, 400, "invalid_json"],
      [{ to: "session", target: "p-nobody", title: "x" }, 404, "unknown_session"],
    ];
    for (const [body, status, code] of cases) {
      const res = await notify(origin, body);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(res.body.code, code, JSON.stringify(body));
      assert.equal(typeof res.body.error, "string");
    }
  } finally {
    await servers.stop();
  }
});
