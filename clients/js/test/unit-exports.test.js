// The package's exports map, the runtime exports and the type declarations agree.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";

const read = (p) => readFile(new URL(p, import.meta.url), "utf8");

function declared(dts) {
  const names = new Set();
  for (const m of dts.matchAll(/^export (?:declare )?(?:class|function|const) (\w+)/gm)) names.add(m[1]);
  if (/^export default /m.test(dts)) names.add("default");
  return [...names].sort();
}

test("index.js exports what index.d.ts declares", async () => {
  const mod = await import("socket-serve-client");
  assert.deepEqual(Object.keys(mod).sort(), declared(await read("../index.d.ts")));
  assert.equal(mod.default, mod.connect);
});

test("react.js exports what react.d.ts declares", async () => {
  const mod = await import("socket-serve-client/react");
  assert.deepEqual(Object.keys(mod).sort(), declared(await read("../react.d.ts")));
});

test("index.js is one self-contained module (the server serves it alone): no imports", async () => {
  const src = await read("../src/index.js");
  assert.doesNotMatch(src, /^\s*import\s|\bimport\(|\brequire\(/m);
});

test("package.json: ES module, exports map with types, pinned devDependencies", async () => {
  const pkg = JSON.parse(await read("../package.json"));
  assert.equal(pkg.type, "module");
  assert.deepEqual(pkg.exports["."], { types: "./index.d.ts", default: "./src/index.js" });
  assert.deepEqual(pkg.exports["./react"], { types: "./react.d.ts", default: "./src/react.js" });
  for (const [name, v] of Object.entries(pkg.devDependencies)) assert.match(v, /^\d+\.\d+\.\d+$/, `${name} pinned`);
});
