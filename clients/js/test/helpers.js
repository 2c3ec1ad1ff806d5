// Shared by the integration tests: start the chat example (and redis-server) as child
// processes on free ports, wait on socket events with bounded timeouts.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { fileURLToPath } from "node:url";
import path from "node:path";

export { next, record } from "./fake-server.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const DEFAULT_BIN = path.resolve(here, "../../../target/debug/chat");

/** The chat binary: $SOCKET_SERVE_CHAT_BIN, else target/debug/chat of the workspace. */
export const CHAT_BIN = process.env.SOCKET_SERVE_CHAT_BIN
  ? path.resolve(process.cwd(), process.env.SOCKET_SERVE_CHAT_BIN)
  : DEFAULT_BIN;

/**
 * `false`, or why the integration tests cannot run. Set explicitly, a missing binary is an
 * error (the suite fails); with the default path it is a skip with this message.
 */
export const NO_SERVER = existsSync(CHAT_BIN) ? false : `chat binary not found at ${CHAT_BIN} (run \`cargo build -p chat\`, or set SOCKET_SERVE_CHAT_BIN)`;
if (NO_SERVER && process.env.SOCKET_SERVE_CHAT_BIN) throw new Error(NO_SERVER);

/** Options of `test()` for tests that need the server. */
export const needsServer = NO_SERVER ? { skip: NO_SERVER } : {};

/**
 * The server under test keeps its state in Redis when REDIS_URL is set in this process's
 * environment (the suite run against a serverless target: `local-lambda` or `chat-vercel`,
 * which need a store shared by their instances). Tests of the memory store skip then.
 */
export const SHARED_STORE = Boolean(process.env.REDIS_URL);

/** Options of `test()` for tests that need the server on its in-memory store. */
export const needsMemoryStore = NO_SERVER ? { skip: NO_SERVER } : SHARED_STORE ? { skip: "the server under test runs on Redis (REDIS_URL is set)" } : {};

const children = new Set();
process.on("exit", () => {
  for (const c of children) {
    try {
      c.kill("SIGKILL");
    } catch {}
  }
});

function waitForLine(child, stream, re, timeout, what) {
  return new Promise((resolve, reject) => {
    let buf = "";
    const onData = (d) => {
      buf += d.toString();
      const m = re.exec(buf);
      if (m) {
        cleanup();
        resolve(m);
      }
    };
    const onExit = (code, sig) => {
      cleanup();
      reject(new Error(`${what} exited (${code ?? sig}) before it was ready; output:\n${buf}${child.stderrText ? "\n" + child.stderrText() : ""}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what} not ready within ${timeout} ms; output:\n${buf}`));
    }, timeout);
    function cleanup() {
      clearTimeout(timer);
      stream.off("data", onData);
      child.off("exit", onExit);
    }
    stream.on("data", onData);
    child.on("exit", onExit);
  });
}

function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

async function stopChild(child, signal = "SIGTERM", graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited(child);
  clearTimeout(timer);
  children.delete(child);
}

/**
 * Starts the chat example. `env`: extra environment (SOCKET_SERVE_*, REDIS_URL); `port`: 0
 * for a free one. Resolves { port, origin, base, stop(), kill(), stderr() }.
 */
export async function startChat({ env = {}, port = 0, bin = CHAT_BIN } = {}) {
  if (NO_SERVER && bin === CHAT_BIN) throw new Error(NO_SERVER);
  const child = spawn(bin, [], {
    // One key prefix per test file: the files run at once and may share one Redis.
    env: { ...process.env, SOCKET_SERVE_KEY_PREFIX: `js${process.pid}`, RUST_LOG: process.env.RUST_LOG || "warn", ...env, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let err = "";
  child.stderr.on("data", (d) => {
    err += d.toString();
    if (err.length > 100000) err = err.slice(-50000);
  });
  child.stderrText = () => err;
  const m = await waitForLine(child, child.stdout, /socket-serve [\w-]+ listening on (http:\/\/[^\s]+):(\d+)\n/, 15000, "chat server");
  const origin = `${m[1]}:${m[2]}`;
  return {
    port: Number(m[2]),
    origin,
    base: `${origin}/socket`,
    pid: child.pid,
    /** SIGTERM (graceful: streams end with retry:), SIGKILL after 5 s. */
    stop: () => stopChild(child, "SIGTERM"),
    /** SIGKILL: a crash. */
    kill: () => stopChild(child, "SIGKILL"),
    stderr: () => err,
  };
}

/** The namespaces example: $SOCKET_SERVE_NAMESPACES_BIN, else target/debug/namespaces. */
export const NAMESPACES_BIN = process.env.SOCKET_SERVE_NAMESPACES_BIN
  ? path.resolve(process.cwd(), process.env.SOCKET_SERVE_NAMESPACES_BIN)
  : path.resolve(here, "../../../target/debug/namespaces");

/** `false`, or why the namespaces example cannot run (a skip, unless its path was set). */
export const NO_NAMESPACES = existsSync(NAMESPACES_BIN) ? false : `namespaces example not found at ${NAMESPACES_BIN} (run \`cargo build -p namespaces\`)`;
if (NO_NAMESPACES && process.env.SOCKET_SERVE_NAMESPACES_BIN) throw new Error(NO_NAMESPACES);

/** A free TCP port on 127.0.0.1 (for redis-server). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const REDIS_BIN = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].find((p) => existsSync(p)) || null;

/** Starts a throwaway redis-server (no persistence). Resolves { url, port, stop() }. */
export async function startRedis() {
  if (!REDIS_BIN) throw new Error("redis-server is not installed");
  const port = await freePort();
  const child = spawn(REDIS_BIN, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  await waitForLine(child, child.stdout, /Ready to accept connections/, 10000, "redis-server");
  return { port, url: `redis://127.0.0.1:${port}`, stop: () => stopChild(child, "SIGKILL") };
}

/** A fetch that records every request ({ method, url, body }) before sending it. */
export function recordingFetch(log, inner = globalThis.fetch) {
  return (url, init = {}) => {
    log.push({ method: init.method || "GET", url: String(url), body: init.body ? JSON.parse(init.body) : null });
    return inner(url, init);
  };
}

/** Resolves when `pred()` is true, checking every 10 ms; rejects after `timeout`. */
export async function until(pred, { timeout = 5000, what = "condition" } = {}) {
  const end = Date.now() + timeout;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Emits an `echo` and waits for it to come back: everything sent to `socket` before it has arrived. */
export async function roundTrip(socket, timeout = 5000) {
  const marker = `marker-${Math.random().toString(36).slice(2)}`;
  const { next } = await import("./fake-server.js");
  const got = next(socket, "echo", { timeout, pred: (d) => d === marker });
  socket.emit("echo", marker);
  await got;
}

/** Resolves once `socket` is connected (at once if it is). */
export function connected(socket, timeout = 5000) {
  if (socket.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      socket.off("connect", done);
      socket.off("reconnect", done);
      resolve();
    };
    const timer = setTimeout(() => {
      socket.off("connect", done);
      socket.off("reconnect", done);
      reject(new Error(`not connected within ${timeout} ms (state ${socket.state})`));
    }, timeout);
    socket.on("connect", done);
    socket.on("reconnect", done);
  });
}

/** A proxy that sends each request to a random live instance (a refused connection is
 * retried elsewhere: nothing reached the dead one); `upstream.inflight` counts its open
 * socket.io long-polls. */
export function randomBalancer(upstreams) {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => send(Buffer.concat(chunks), 0));
    function send(body, attempt) {
      const up = upstreams[Math.floor(Math.random() * upstreams.length)];
      // Pending socket.io long-polls only.
      const counted = req.method === "GET" && req.url.startsWith("/socket.io/") && req.url.includes("sid=");
      up.inflight = (up.inflight || 0) + (counted ? 1 : 0);
      let open = counted;
      const done = () => {
        if (open) up.inflight -= 1;
        open = false;
      };
      const out = http.request({ host: "127.0.0.1", port: up.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
        r.on("end", done);
        r.on("close", done);
      });
      out.on("error", (err) => {
        done();
        if (err.code === "ECONNREFUSED" && attempt < 10) return send(body, attempt + 1);
        res.destroy();
      });
      out.end(body);
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}
