// Backoff with full jitter, and cursor ordering.
import { test } from "node:test";
import assert from "node:assert/strict";
import { backoffDelay, compareCursors, parseCursor } from "../src/index.js";

test("full jitter: delay in [0, min(cap, base * 2^attempt))", () => {
  assert.equal(backoffDelay(0, 500, 30000, () => 0), 0);
  assert.equal(backoffDelay(0, 500, 30000, () => 0.999999), 499);
  assert.equal(backoffDelay(1, 500, 30000, () => 0.999999), 999);
  assert.equal(backoffDelay(5, 500, 30000, () => 0.5), 8000);
  assert.equal(backoffDelay(6, 500, 30000, () => 0.999999), 29999, "capped");
  assert.equal(backoffDelay(1000, 500, 30000, () => 0.5), 15000, "huge attempts stay capped");
});

test("defaults are 500 ms base and a 30 s cap", () => {
  for (let attempt = 0; attempt < 20; attempt++) {
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(attempt);
      assert.ok(d >= 0 && d < Math.min(30000, 500 * 2 ** attempt), `attempt ${attempt}: ${d}`);
    }
  }
});

test("jitter spreads delays", () => {
  const seen = new Set();
  for (let i = 0; i < 100; i++) seen.add(backoffDelay(4));
  assert.ok(seen.size > 50);
});

test("cursors parse and order by milliseconds, then sequence", () => {
  assert.deepEqual(parseCursor("1795624221059-3"), [1795624221059, 3]);
  assert.equal(parseCursor("abc"), null);
  assert.equal(parseCursor("1-2-3"), null);
  assert.equal(parseCursor(undefined), null);
  assert.ok(compareCursors("1795624221059-3", "1795624221059-10") < 0);
  assert.ok(compareCursors("1795624221060-0", "1795624221059-10") > 0);
  assert.equal(compareCursors("5-5", "5-5"), 0);
  assert.ok(Number.isNaN(compareCursors("5-5", "x")));
});
