// Shared by the examples' browser tests: headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core), an example binary started once on the memory store or twice
// on one Redis, and the screenshots for the README.
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { startChat, startRedis, REDIS_BIN } from "./helpers.js";

export const CHROMIUM = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The example `name`'s binary ($SOCKET_SERVE_<NAME>_BIN, else target/debug/<name>) and
 * `false` or why its tests skip (a missing binary at the default path, or no Chromium).
 * A missing binary at a path set explicitly is an error.
 */
export function example(name) {
  const variable = `SOCKET_SERVE_${name.toUpperCase()}_BIN`;
  const bin = process.env[variable]
    ? path.resolve(process.cwd(), process.env[variable])
    : path.resolve(here, `../../../target/debug/${name}`);
  if (!existsSync(bin) && process.env[variable]) throw new Error(`${variable}=${bin} does not exist`);
  const skip = !existsSync(bin)
    ? `${name} example not found at ${bin} (run \`cargo build -p ${name}\`)`
    : existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`;
  return { bin, skip };
}

/** Why the Redis variant of a test skips, or `false`. */
export const NO_REDIS = REDIS_BIN ? false : "redis-server is not installed";

export async function launchChromium() {
  const { chromium } = await import("playwright-core");
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

/**
 * Two origins of the example `bin`: one instance on the memory store (`redis: false`, both
 * origins the same), or two instances on different ports sharing one new redis-server.
 * Resolves { origins: [a, b], redisUrl (with Redis), stop() }.
 */
export async function startExample(bin, { redis = false, env = {} } = {}) {
  if (!redis) {
    const one = await startChat({ bin, env });
    return { origins: [one.origin, one.origin], stop: () => one.stop() };
  }
  const store = await startRedis();
  const both = await Promise.all([0, 1].map(() => startChat({ bin, env: { ...env, REDIS_URL: store.url } })));
  return {
    origins: both.map((s) => s.origin),
    redisUrl: store.url,
    stop: async () => {
      await Promise.all(both.map((s) => s.stop()));
      await store.stop();
    },
  };
}

/**
 * Saves a screenshot of `page` as `name`.png: into docs/screenshots/ (for the README) when
 * UPDATE_SCREENSHOTS=1, else into the temporary directory (so a test run leaves the
 * checkout as it was).
 */
export async function screenshot(page, name) {
  const dir = process.env.UPDATE_SCREENSHOTS === "1"
    ? path.resolve(here, "../../../docs/screenshots")
    : path.join(tmpdir(), "socket-serve-screenshots");
  mkdirSync(dir, { recursive: true });
  await page.waitForFunction(() => document.getAnimations().length === 0, null, { timeout: 5000 }); // transitions done
  await page.screenshot({ path: path.join(dir, `${name}.png`) });
}
