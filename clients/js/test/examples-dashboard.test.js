// The dashboard example in headless Chromium: two viewers see the same values updating
// every second, a viewer that opens late sees the last minute at once, and each second
// comes once (on Redis, both instances tick; the idempotency keys make it one stream).
// Once on the memory store, once on Redis with each page on its own instance.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect } from "../src/index.js";
import { connected } from "./helpers.js";
import { example, NO_REDIS, launchChromium, startExample, screenshot } from "./example-pages.js";

const { bin, skip } = example("dashboard");
let browser;

before(async () => {
  if (!skip) browser = await launchChromium();
});
after(async () => {
  if (browser) await browser.close();
});

/** A dashboard page in a new browser context, once it shows data. */
async function dashboardPage(origin) {
  const context = await browser.newContext({ colorScheme: "light", viewport: { width: 960, height: 640 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await page.goto(origin + "/");
  await page.waitForSelector("body[data-t]", { timeout: 10000 });
  return { context, page, errors };
}

const lastT = (p) => p.page.evaluate(() => Number(document.body.dataset.t));
const points = (p) => p.page.evaluate(() => window.dashboardPoints);
/** Waits until page `p` shows second `t` or later, from a tick. */
const reaches = (p, t) =>
  p.page.waitForFunction((t) => Number(document.body.dataset.t) >= t && document.body.dataset.source === "tick", t, { timeout: 8000 });

async function scenario({ redis }) {
  const servers = await startExample(bin, { redis });
  const [one, two] = servers.origins;
  // A plain client per instance records every tick: each second once, in order.
  const listeners = [connect(`${one}/socket`), connect(`${two}/socket`)];
  const ticks = listeners.map((s) => {
    const seen = [];
    s.on("tick", (p) => seen.push(p));
    return seen;
  });
  try {
    await Promise.all(listeners.map((s) => connected(s)));
    const a = await dashboardPage(one);
    const t0 = await lastT(a);
    await reaches(a, t0 + 1); // a live tick
    const before = await lastT(a);

    // B opens late, on the other instance: the first thing it shows is the snapshot, a
    // full minute up to now, the same values A has for those seconds.
    const b = await dashboardPage(two);
    assert.equal(await b.page.getAttribute("body", "data-first"), "snapshot");
    const bFirst = await points(b);
    assert.equal(bFirst.length, 60);
    assert.ok(bFirst[59].t >= before, `late viewer's latest ${bFirst[59].t} < ${before}`);
    assert.deepEqual(bFirst.map((p) => p.t), bFirst.map((_, i) => bFirst[0].t + i)); // no gaps

    // Both go on updating, with the same values.
    await reaches(a, before + 2);
    await reaches(b, before + 2);
    const [pa, pb] = [await points(a), await points(b)];
    const common = pb.filter((p) => pa.some((q) => q.t === p.t));
    assert.ok(common.length >= 58, `${common.length} seconds in common`);
    for (const p of common) assert.deepEqual(p, pa.find((q) => q.t === p.t));
    // The cards show the latest point, the chart is drawn.
    for (const v of [a, b]) {
      const shown = await v.page.evaluate(() => ({ t: Number(document.body.dataset.t), rps: document.querySelector("#rps .value").textContent, queue: document.querySelector("#queue .value").textContent }));
      const p = (await points(v)).find((q) => q.t === shown.t);
      assert.deepEqual(shown, { t: p.t, rps: p.rps.toFixed(1), queue: String(p.queue) });
      assert.equal(await v.page.locator("#chart canvas").count(), 1);
      assert.match(await v.page.textContent("#chart .u-legend"), /requests\/s.*CPU %.*queue/s);
    }
    if (!redis) await screenshot(a.page, "dashboard");

    // Each second once on each instance's listener, in order, and the same on both.
    for (const seen of ticks) {
      assert.ok(seen.length >= 3, `${seen.length} ticks`);
      assert.deepEqual(seen.map((p) => p.t), seen.map((_, i) => seen[0].t + i));
    }
    const both = ticks[0].filter((p) => ticks[1].some((q) => q.t === p.t));
    assert.ok(both.length >= 3);
    for (const p of both) assert.deepEqual(p, ticks[1].find((q) => q.t === p.t));

    assert.deepEqual([...a.errors, ...b.errors], []);
    await a.context.close();
    await b.context.close();
  } finally {
    for (const s of listeners) s.disconnect();
    await servers.stop();
  }
}

test("dashboard: two viewers see the same values every second, a late one the last minute at once", { skip, timeout: 60000 }, () =>
  scenario({ redis: false }));

test("dashboard on Redis, each viewer on its own instance, each second once", { skip: skip || NO_REDIS, timeout: 60000 }, () =>
  scenario({ redis: true }));
