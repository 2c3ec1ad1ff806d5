// socket-serve-client: the JavaScript client of socket-serve (wire protocol v1).
//
// One self-contained ES module with no imports: the server embeds this exact file and
// serves it at `<base>/client.js`, so `import { connect } from "/socket/client.js"` works
// in a browser without npm. It runs unchanged in browsers and in Node 20+.
//
// Up:   POST <base>/connect, POST <base>/message, POST <base>/disconnect (JSON bodies).
// Down: GET <base>/sse?sessionId=..&lastEventId=.. (Server-Sent Events, read with fetch and
//       the small parser below, or with EventSource when asked), or long-polling
//       GET <base>/sse?sessionId=..&transport=polling&lastEventId=.. as the fallback.

export const version = "0.1.0";

// ---------------------------------------------------------------------------------------
// Errors

/** An error of the client or of the server. `code` is stable snake_case. */
export class SocketServeError extends Error {
  constructor(message, { code = "error", status, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "SocketServeError";
    this.code = code;
    if (status !== undefined) this.status = status;
  }
}

// ---------------------------------------------------------------------------------------
// Server-Sent Events parser (the event-stream grammar of the HTML standard)

/**
 * Incremental parser of a `text/event-stream`. Feed it decoded text in chunks of any size
 * (`push`); it calls `onFrame({ id, data, event, retry })` at every blank line that ends a
 * block with at least one field:
 * - `id`: the value of the block's last `id:` field, or `null` when it had none (an
 *   `id:`-only block has `data === null`: it only moves the last event id);
 * - `data`: the `data:` lines joined with "\n", or `null` when the block had none;
 * - `event`: the `event:` field, or `"message"`;
 * - `retry`: the block's `retry:` value in ms (digits only), or `null`.
 * Comment lines (`:` first) go to `onComment(text)`. Lines end with LF, CR or CRLF, also
 * when a CRLF is split between two chunks. A leading BOM is skipped.
 */
export class SseParser {
  constructor(onFrame, onComment) {
    this.onFrame = onFrame;
    this.onComment = onComment || null;
    this.buf = "";
    this.afterCR = false;
    this.started = false;
    this.lastEventId = "";
    this.#reset();
  }

  #reset() {
    this.data = null;
    this.event = "";
    this.id = null;
    this.retry = null;
    this.any = false;
  }

  /** Feeds a chunk of decoded text. */
  push(text) {
    if (!text) return;
    if (!this.started) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.afterCR && text.charCodeAt(0) === 10) text = text.slice(1);
    this.afterCR = false;
    let start = 0;
    const n = text.length;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.buf + text.slice(start, i);
      this.buf = "";
      if (c === 13) {
        if (i + 1 < n) {
          if (text.charCodeAt(i + 1) === 10) i++;
        } else {
          this.afterCR = true;
        }
      }
      start = i + 1;
      this.#line(line);
    }
    if (start < n) this.buf += text.slice(start);
  }

  /** Ends the stream: an unfinished block is dropped, as the standard says. */
  end() {
    this.buf = "";
    this.afterCR = false;
    this.#reset();
  }

  #line(line) {
    if (line === "") {
      if (this.any) {
        const frame = { id: this.id, data: this.data, event: this.event || "message", retry: this.retry };
        if (this.id !== null) this.lastEventId = this.id;
        this.#reset();
        this.onFrame(frame);
      }
      return;
    }
    if (line.charCodeAt(0) === 58 /* : */) {
      if (this.onComment) this.onComment(line.slice(1).replace(/^ /, ""));
      return;
    }
    const colon = line.indexOf(":");
    let field = line;
    let value = "";
    if (colon >= 0) {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.charCodeAt(0) === 32) value = value.slice(1);
    }
    switch (field) {
      case "data":
        this.data = this.data === null ? value : this.data + "\n" + value;
        this.any = true;
        break;
      case "id":
        if (!value.includes("\0")) {
          this.id = value;
          this.any = true;
        }
        break;
      case "event":
        this.event = value;
        this.any = true;
        break;
      case "retry":
        if (/^\d+$/.test(value)) {
          this.retry = Number(value);
          this.any = true;
        }
        break;
      default:
        break; // unknown fields are ignored
    }
  }
}

// ---------------------------------------------------------------------------------------
// Small helpers (exported for tests and for other clients built on this one)

/**
 * Exponential backoff with full jitter: a random delay in [0, min(cap, base * 2^attempt)).
 * `attempt` counts from 0.
 */
export function backoffDelay(attempt, base = 500, cap = 30000, random = Math.random) {
  const exp = Math.min(cap, base * Math.pow(2, Math.min(attempt, 52)));
  return Math.floor(random() * exp);
}

/** Parses a cursor `<ms>-<seq>` into `[ms, seq]`, or `null` when it has another form. */
export function parseCursor(cursor) {
  if (typeof cursor !== "string") return null;
  const m = /^(\d{1,16})-(\d{1,16})$/.exec(cursor);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/**
 * Compares two cursors: negative when `a` is before `b`, 0 when equal, positive after.
 * Returns `NaN` when either cannot be parsed (then nothing can be said).
 */
export function compareCursors(a, b) {
  const x = parseCursor(a);
  const y = parseCursor(b);
  if (!x || !y) return NaN;
  return x[0] !== y[0] ? x[0] - y[0] : x[1] - y[1];
}

// ---------------------------------------------------------------------------------------
// Binary payloads (PROTOCOL.md section 6): bytes travel inside the JSON as the marker
// object {"__ssbin": "<standard base64, padded>"}, anywhere in an event's data or an ack.

/** The one key of a marker object: `{"__ssbin": "<base64>"}` stands for bytes. */
export const BINARY_MARKER = "__ssbin";

const objectTag = Object.prototype.toString;
const hasOwn = Object.prototype.hasOwnProperty;

/** Is `v` bytes to send: an ArrayBuffer (also shared, also from another realm) or a view? */
function isBinary(v) {
  if (v === null || typeof v !== "object") return false;
  if (ArrayBuffer.isView(v)) return true;
  const tag = objectTag.call(v);
  return tag === "[object ArrayBuffer]" || tag === "[object SharedArrayBuffer]";
}

/** The bytes of an ArrayBuffer or of a view (its own window of its buffer). */
function bytesOf(v) {
  return ArrayBuffer.isView(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : new Uint8Array(v);
}

const B64_CHUNK = 0x8000; // bytes per String.fromCharCode call (its argument count is bounded)

/** Standard base64 with padding, with `btoa` (browsers and Node alike). */
function bytesToBase64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += B64_CHUNK) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + B64_CHUNK));
  }
  return btoa(s);
}

const B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_VALID = new Uint8Array(128);
for (let i = 0; i < B64_ALPHABET.length; i++) B64_VALID[B64_ALPHABET.charCodeAt(i)] = 1;

/** The bytes of standard padded base64, or `null` when `text` is not that. */
function base64ToBytes(text) {
  const n = text.length;
  if (n % 4 !== 0) return null;
  let pad = 0;
  if (n > 0 && text.charCodeAt(n - 1) === 61) pad = text.charCodeAt(n - 2) === 61 ? 2 : 1;
  for (let i = 0; i < n - pad; i++) {
    const c = text.charCodeAt(i);
    if (c > 127 || B64_VALID[c] === 0) return null;
  }
  let s;
  try {
    s = atob(text);
  } catch {
    return null;
  }
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** The bytes of a marker object (exactly one key, holding valid base64), else `null`. */
function markerBytes(obj) {
  if (!hasOwn.call(obj, BINARY_MARKER) || typeof obj[BINARY_MARKER] !== "string") return null;
  if (Object.keys(obj).length !== 1) return null;
  return base64ToBytes(obj[BINARY_MARKER]);
}

/** JSON.stringify replacer: bytes (seen before any `toJSON`, e.g. Buffer's) become markers. */
function binaryReplacer(key, value) {
  const raw = this[key];
  return isBinary(raw) ? { [BINARY_MARKER]: bytesToBase64(bytesOf(raw)) } : value;
}

/** JSON text of `value` with every ArrayBuffer and view in it sent as a marker object. */
function toJson(value) {
  return JSON.stringify(value, binaryReplacer);
}

/**
 * The JSON value `emit` sends for `value`: every `Uint8Array`, `ArrayBuffer`, other typed
 * array, `DataView` or Node `Buffer`, however deep, becomes `{"__ssbin": "<base64>"}` of its
 * bytes; everything else is as `JSON.stringify` makes it. (`emit` does this itself.)
 */
export function encodeBinary(value) {
  const text = toJson(value);
  return text === undefined ? undefined : JSON.parse(text);
}

/**
 * Received data with every marker object, however deep, replaced by a `Uint8Array` of its
 * bytes. Arrays and objects are changed in place (received data is fresh from JSON.parse)
 * and returned; a marker at the top is returned as the `Uint8Array`. An object with the
 * marker key and other keys, or whose base64 is invalid, stays as it is. (The socket does
 * this itself for events, acks and `emitWithAck` replies.)
 */
export function decodeBinary(value) {
  if (value === null || typeof value !== "object" || isBinary(value)) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if (v !== null && typeof v === "object") {
        const d = decodeBinary(v);
        if (d !== v) value[i] = d;
      }
    }
    return value;
  }
  const bytes = markerBytes(value);
  if (bytes) return bytes;
  for (const k of Object.keys(value)) {
    const v = value[k];
    if (v !== null && typeof v === "object") {
      const d = decodeBinary(v);
      if (d !== v) value[k] = d;
    }
  }
  return value;
}

/** decodeBinary that never throws (data nested beyond the stack stays as it is). */
function decodeReceived(value) {
  try {
    return decodeBinary(value);
  } catch {
    return value;
  }
}

function randomId(bytes = 6) {
  const a = new Uint8Array(bytes);
  if (globalThis.crypto && typeof globalThis.crypto.getRandomValues === "function") {
    globalThis.crypto.getRandomValues(a);
  } else {
    for (let i = 0; i < bytes; i++) a[i] = Math.floor(Math.random() * 256);
  }
  let s = "";
  for (const b of a) s += b.toString(16).padStart(2, "0");
  return s;
}

/** Resolves `true` after `ms`, or `false` at once when `signal` aborts. Never rejects. */
function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal && signal.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      if (signal) signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, Math.max(0, ms));
    if (signal) signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** A controller that aborts when `parent` aborts, or after `ms` (reason `TIMEOUT`). */
function childController(parent, ms) {
  const ctl = new AbortController();
  let timer = null;
  const onAbort = () => ctl.abort(parent.reason);
  if (parent) {
    if (parent.aborted) ctl.abort(parent.reason);
    else parent.addEventListener("abort", onAbort, { once: true });
  }
  if (ms > 0 && ms !== Infinity) timer = setTimeout(() => ctl.abort(TIMEOUT), ms);
  const done = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (parent) parent.removeEventListener("abort", onAbort);
  };
  return { ctl, signal: ctl.signal, done };
}

const TIMEOUT = Symbol("timeout");
const GONE = Symbol("session gone");
const CLOSED = Symbol("closed");

function report(err) {
  if (typeof globalThis.reportError === "function") globalThis.reportError(err);
  else console.error(err);
}

async function readJson(res) {
  try {
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

function httpError(what, res, body) {
  const code = body && typeof body.code === "string" ? body.code : `http_${res.status}`;
  const msg = body && typeof body.error === "string" ? body.error : `HTTP ${res.status}`;
  const error = new SocketServeError(`${what}: ${msg}`, { code, status: res.status });
  // A 429 (rate limited) or 503 says when to come back: no retry goes out sooner.
  const after = Number((res.headers && res.headers.get && res.headers.get("retry-after")) || NaN);
  if (Number.isFinite(after) && after >= 0) error.retryAfter = after * 1000;
  return error;
}

/** The wait before a retry: the backoff, but never less than the server's `Retry-After`. */
function retryDelay(err, attempt, base, cap) {
  const backoff = backoffDelay(attempt, base, cap);
  return Math.max(backoff, (err && err.retryAfter) || 0);
}

function networkError(what, err) {
  if (err === TIMEOUT || (err && err.name === "TimeoutError")) {
    return new SocketServeError(`${what}: timed out`, { code: "timeout" });
  }
  return new SocketServeError(`${what}: ${err && err.message ? err.message : String(err)}`, {
    code: "network_error",
    cause: err,
  });
}

/** Transient failures worth repeating: 5xx, 408 and 429. */
function retryableStatus(status) {
  return status >= 500 || status === 408 || status === 429;
}

const LIFECYCLE = new Set(["connect", "disconnect", "reconnecting", "reconnect", "connect_error"]);

const DEFAULTS = {
  transports: ["sse", "polling"],
  auth: undefined,
  reconnection: true,
  reconnectionDelay: 500,
  reconnectionDelayMax: 30000,
  reconnectionAttempts: Infinity,
  maxQueue: 1000,
  ackTimeout: 0,
  requestTimeout: 30000,
  openTimeout: 10000,
  heartbeatTimeout: 45000,
  pollTimeout: 60000,
  pollInterval: 1000,
  handlerErrorRetries: 2,
  eventSource: false,
  fetch: undefined,
  credentials: "same-origin",
  headers: undefined,
  autoConnect: true,
  resume: undefined,
  resumeKey: undefined,
};

/**
 * Where a socket made with `resume: storage` keeps its session across page loads: one
 * JSON entry `{sessionId, id, cursor}` under `key` of a Web Storage (`sessionStorage`) or
 * anything with its `getItem`, `setItem` and `removeItem`. A full or refusing storage
 * only means the next load starts a new session.
 */
function resumeStore(storage, key) {
  for (const m of ["getItem", "setItem", "removeItem"]) {
    if (typeof storage[m] !== "function") throw new TypeError(`options.resume must be a Storage (it has no ${m})`);
  }
  const attempt = (f) => {
    try {
      return f();
    } catch {
      return null;
    }
  };
  return {
    load() {
      const saved = attempt(() => JSON.parse(storage.getItem(key)));
      if (!saved || typeof saved.sessionId !== "string" || saved.sessionId === "") return null;
      return {
        sessionId: saved.sessionId,
        id: typeof saved.id === "string" ? saved.id : "",
        cursor: typeof saved.cursor === "string" ? saved.cursor : null,
      };
    },
    save(entry) {
      attempt(() => storage.setItem(key, JSON.stringify(entry)));
    },
    clear() {
      attempt(() => storage.removeItem(key));
    },
  };
}

// ---------------------------------------------------------------------------------------
// The socket

/**
 * A connection to a socket-serve server. Create it with `connect(url, options)`.
 *
 * Lifecycle (`socket.state`): "connecting" → "connected" ⇄ "reconnecting" → "disconnected".
 * A session is announced once with `connect` and ends once with `disconnect`; transport
 * drops in between are `reconnecting` … `reconnect`, and planned stream ends are silent.
 */
export class Socket {
  /** Public id of the session (safe to show to others); "" until `/connect` answered. */
  id = "";
  /** `true` while the session is live and its stream (or long-poll) is up. */
  connected = false;
  /** `true` when the last resume of this session was complete (nothing missed). */
  recovered = false;

  #base;
  #opts;
  #fetch;
  #listeners = new Map();
  #state = "disconnected";
  #transport = null;
  #epoch = 0;
  #life = null; // AbortController of the current epoch
  #runCtl = null; // AbortController of the current transport attempt or wait in #run
  #sessionId = null;
  #cursor = null;
  #announced = false; // `connect` fired for the current session
  #previousId = undefined;
  #attempt = 0; // reconnection attempts in the current outage
  #goneSid = null;
  #queue = [];
  #current = null; // the emit being sent (taken off the queue)
  #inflight = null; // promise of the POST in flight
  #pumpEpoch = -1;
  #pumpWake = null;
  #idPrefix = randomId(4) + "-";
  #idCounter = 0;
  #transportIndex = 0;
  #started = false;
  #resume = null; // see resumeStore
  #restored = false; // the current session was carried over from a previous page load

  constructor(url, options) {
    options = options || {};
    if (typeof url !== "string" || url === "") throw new TypeError("connect(url): url must be a non-empty string");
    this.#base = url.replace(/\/+$/, "");
    const opts = { ...DEFAULTS, ...options };
    if (options.transport && !options.transports) opts.transports = [options.transport];
    opts.transports = (opts.transports || []).filter((t) => t === "sse" || t === "polling");
    if (opts.transports.length === 0) throw new TypeError("options.transports must name 'sse' and/or 'polling'");
    this.#opts = opts;
    const f = opts.fetch || globalThis.fetch;
    if (typeof f !== "function") throw new TypeError("no fetch: pass options.fetch");
    this.#fetch = (input, init) => f(input, init);
    if (opts.resume) this.#resume = resumeStore(opts.resume, opts.resumeKey || `socket-serve:${this.#base}`);
    if (opts.autoConnect) this.connect();
  }

  /** "connecting" | "connected" | "reconnecting" | "disconnected" */
  get state() {
    return this.#state;
  }

  /** The transport in use: "sse", "polling", or null while there is none. */
  get transport() {
    return this.#transport;
  }

  /** The private session credential (never share it), or null. */
  get sessionId() {
    return this.#sessionId;
  }

  /** The last cursor seen: every message at or before it was received. */
  get cursor() {
    return this.#cursor;
  }

  /** Emits that are waiting to be sent or confirmed by the server. */
  get pending() {
    return this.#queue.length + (this.#current ? 1 : 0);
  }

  // -- listeners --------------------------------------------------------------------------

  on(event, fn) {
    if (typeof fn !== "function") throw new TypeError("on(event, fn): fn must be a function");
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = []));
    set.push(fn);
    return this;
  }

  once(event, fn) {
    if (typeof fn !== "function") throw new TypeError("once(event, fn): fn must be a function");
    const wrapper = (...args) => {
      this.off(event, wrapper);
      return fn.apply(this, args);
    };
    wrapper.listener = fn;
    return this.on(event, wrapper);
  }

  off(event, fn) {
    if (event === undefined) {
      this.#listeners.clear();
      return this;
    }
    if (fn === undefined) {
      this.#listeners.delete(event);
      return this;
    }
    const set = this.#listeners.get(event);
    if (set) {
      const i = set.findIndex((l) => l === fn || l.listener === fn);
      if (i >= 0) set.splice(i, 1);
      if (set.length === 0) this.#listeners.delete(event);
    }
    return this;
  }

  /** The listeners of `event`. */
  listeners(event) {
    return (this.#listeners.get(event) || []).map((l) => l.listener || l);
  }

  #emitLocal(event, ...args) {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn.apply(this, args);
      } catch (err) {
        report(err);
      }
    }
  }

  // -- emitting ---------------------------------------------------------------------------

  /**
   * Sends `event` with `data` to the server. Queued (in order) until the socket has a
   * session; retried with the same `messageId` until the server answers. With `ack`, it is
   * called once as `ack(err, reply)`: `reply` is the handler's reply (the `ack` field of the
   * answer), `err` a `SocketServeError` when the emit failed for good. Bytes anywhere in
   * `data` (`Uint8Array`, `ArrayBuffer`, any other view, Node `Buffer`) are sent as bytes
   * (see `encodeBinary`); bytes in the reply arrive as `Uint8Array`s.
   */
  emit(event, data, ack) {
    if (typeof data === "function" && ack === undefined) {
      ack = data;
      data = undefined;
    }
    this.#enqueue(event, data, ack ? { ack, timeout: this.#opts.ackTimeout } : null);
    return this;
  }

  /** Like `emit`, as a Promise of the reply. `timeout` (ms) rejects with code "ack_timeout". */
  emitWithAck(event, data, options = {}) {
    return new Promise((resolve, reject) => {
      const timeout = options.timeout !== undefined ? options.timeout : this.#opts.ackTimeout;
      this.#enqueue(event, data, {
        ack: (err, reply) => (err ? reject(err) : resolve(reply)),
        timeout,
      });
    });
  }

  #enqueue(event, data, ackSpec) {
    if (typeof event !== "string" || event === "") throw new TypeError("emit(event): event must be a non-empty string");
    const item = {
      event,
      data: data === undefined ? null : data,
      messageId: this.#idPrefix + ++this.#idCounter,
      tries: 0,
      settled: false,
      timer: null,
      ack: ackSpec ? ackSpec.ack : null,
    };
    if (ackSpec && ackSpec.timeout > 0 && ackSpec.timeout !== Infinity) {
      item.timer = setTimeout(() => {
        item.timer = null;
        this.#settle(item, new SocketServeError(`no answer to "${event}" within ${ackSpec.timeout} ms`, { code: "ack_timeout" }));
      }, ackSpec.timeout);
    }
    if (this.#state === "disconnected" && this.#started) {
      this.#settle(item, new SocketServeError("the socket is disconnected", { code: "disconnected" }));
      return;
    }
    if (this.pending >= this.#opts.maxQueue) {
      this.#settle(item, new SocketServeError(`emit queue is full (${this.#opts.maxQueue})`, { code: "queue_full" }));
      return;
    }
    this.#queue.push(item);
    this.#pump();
  }

  #settle(item, err, reply) {
    if (item.timer !== null) {
      clearTimeout(item.timer);
      item.timer = null;
    }
    if (item.settled) return;
    item.settled = true;
    if (item.ack) {
      try {
        item.ack(err || null, reply);
      } catch (e) {
        report(e);
      }
    }
  }

  /** Sends the queue in order, one POST at a time, while there is a session. */
  async #pump() {
    const ep = this.#epoch;
    if (this.#pumpEpoch === ep) return;
    this.#pumpEpoch = ep;
    try {
      while (this.#epoch === ep) {
        const sid = this.#sessionId;
        if (!sid) return;
        if (!this.#current) {
          this.#current = this.#queue.shift() || null;
          if (!this.#current) return;
        }
        const item = this.#current;
        const p = this.#postMessage(sid, item);
        this.#inflight = p;
        const r = await p;
        if (this.#inflight === p) this.#inflight = null;
        if (this.#epoch !== ep) {
          // disconnect() ran meanwhile: this item is ours to settle, the rest is flushed.
          if (r.ok) this.#settle(item, null, r.reply);
          else this.#settle(item, r.error || new SocketServeError("the socket is disconnected", { code: "disconnected" }));
          return;
        }
        if (r.ok) {
          this.#current = null;
          this.#settle(item, null, r.reply);
        } else if (r.final) {
          this.#current = null;
          this.#settle(item, r.error);
        } else if (r.gone) {
          this.#onGone(sid);
          if (this.#sessionId && this.#sessionId !== sid) continue; // a new session is there already
          return; // #run wakes the pump once there is a new session
        } else {
          item.tries++;
          if (r.error && r.error.code === "handler_error" && item.tries > this.#opts.handlerErrorRetries) {
            this.#current = null;
            this.#settle(item, r.error);
            continue;
          }
          const ctl = new AbortController();
          this.#pumpWake = ctl;
          const delay = retryDelay(r.error, item.tries - 1, this.#opts.reconnectionDelay, this.#opts.reconnectionDelayMax);
          await sleep(delay, ctl.signal);
          if (this.#pumpWake === ctl) this.#pumpWake = null;
        }
      }
    } finally {
      if (this.#pumpEpoch === ep) this.#pumpEpoch = -1;
    }
  }

  #wakePump() {
    if (this.#pumpWake) this.#pumpWake.abort();
    this.#pumpWake = null;
    this.#pump();
  }

  /** One POST /message. Resolves {ok, reply} | {final, error} | {gone} | {retry, error}. */
  async #postMessage(sid, item) {
    const body = toJson({ sessionId: sid, event: item.event, data: item.data, messageId: item.messageId });
    const { signal, done } = childController(null, this.#opts.requestTimeout);
    try {
      const res = await this.#fetch(this.#base + "/message", this.#init("POST", body, signal));
      const json = await readJson(res);
      if (res.ok) return { ok: true, reply: json && "ack" in json ? decodeReceived(json.ack) : undefined };
      const error = httpError(`emit "${item.event}"`, res, json);
      if (res.status === 404 && error.code === "unknown_session") return { gone: true, error };
      if (retryableStatus(res.status)) return { retry: true, error };
      return { final: true, error };
    } catch (err) {
      return { retry: true, error: networkError(`emit "${item.event}"`, signal.reason === TIMEOUT ? TIMEOUT : err) };
    } finally {
      done();
    }
  }

  #init(method, body, signal) {
    const init = { method, signal, credentials: this.#opts.credentials, cache: "no-store" };
    if (this.#opts.headers) init.headers = { ...this.#opts.headers };
    if (body !== undefined) init.body = body;
    return init;
  }

  // -- connecting -------------------------------------------------------------------------

  /** (Re)opens a socket made with `autoConnect: false`, or after `disconnect()`. */
  connect() {
    if (this.#state !== "disconnected") return this;
    const ep = ++this.#epoch;
    this.#started = true;
    this.#life = new AbortController();
    this.#state = "connecting";
    this.#attempt = 0;
    this.#transport = null;
    this.#transportIndex = 0;
    const saved = this.#resume && !this.#sessionId ? this.#resume.load() : null;
    if (saved) {
      // The session of a previous page load: its stream resumes from the saved cursor.
      this.#sessionId = saved.sessionId;
      this.id = saved.id;
      this.#cursor = saved.cursor;
      this.#restored = true;
    }
    this.#run(ep);
    return this;
  }

  /** The session loop: /connect, then the transport, again and again, until closed. */
  async #run(ep) {
    const life = this.#life;
    while (this.#epoch === ep) {
      if (this.#sessionId && this.#goneSid === this.#sessionId) {
        this.#sessionLost();
        continue;
      }
      if (!this.#sessionId) {
        this.#transport = null;
        let res;
        try {
          res = await this.#postConnect(ep);
        } catch (err) {
          if (this.#epoch !== ep) return;
          this.#emitLocal("connect_error", err);
          if (this.#epoch !== ep) return;
          if (!err.retryable) {
            this.#close(null, err);
            return;
          }
          if (!(await this.#backoff(ep, err))) return;
          continue;
        }
        if (this.#epoch !== ep) return;
        this.#sessionId = res.sessionId;
        this.id = typeof res.id === "string" ? res.id : "";
        this.#cursor = typeof res.cursor === "string" ? res.cursor : null;
        this.#goneSid = null;
        this.#saveResume();
        this.#wakePump();
      }
      const sid = this.#sessionId;
      const name = this.#opts.transports[this.#transportIndex] || "polling";
      this.#transport = name;
      const ctl = new AbortController();
      this.#runCtl = ctl;
      const onLife = () => ctl.abort(CLOSED);
      life.signal.addEventListener("abort", onLife, { once: true });
      const started = Date.now();
      let outcome;
      try {
        outcome =
          name === "polling"
            ? await this.#runPolling(ep, sid, ctl.signal)
            : this.#useEventSource()
              ? await this.#runEventSource(ep, sid, ctl.signal)
              : await this.#runSse(ep, sid, ctl.signal);
      } finally {
        life.signal.removeEventListener("abort", onLife);
        if (this.#runCtl === ctl) this.#runCtl = null;
      }
      if (this.#epoch !== ep) return;
      if (this.#goneSid === sid || outcome.kind === "gone") {
        this.#sessionLost();
        if (this.#epoch !== ep) return;
        continue;
      }
      if (outcome.kind === "unsupported" && this.#transportIndex + 1 < this.#opts.transports.length) {
        this.#transportIndex++; // SSE cannot be opened here: long-polling from now on
        continue;
      }
      if (outcome.kind === "ended") {
        // The transport was up and ended (planned rotation, a proxy, a hiccup): reopen
        // silently; only a failing reopen becomes visible.
        const lived = Date.now() - started;
        let delay = outcome.retry != null ? Math.min(outcome.retry, this.#opts.reconnectionDelayMax) : 0;
        if (lived < 1000 && outcome.retry == null) {
          delay = backoffDelay(this.#attempt, this.#opts.reconnectionDelay, this.#opts.reconnectionDelayMax);
        }
        if (delay > 0) await this.#wait(ep, delay);
        continue;
      }
      // "error" (or "unsupported" with nothing to fall back to): the transport could not be opened.
      const err = outcome.error || new SocketServeError("the stream could not be opened", { code: "transport_error" });
      if (this.#state === "connected") {
        this.#state = "reconnecting";
        this.connected = false;
      }
      this.#emitLocal("connect_error", err);
      if (this.#epoch !== ep) return;
      if (!(await this.#backoff(ep, err))) return;
    }
  }

  /** Counts an attempt, emits `reconnecting` and waits. `false` when the socket gave up. */
  async #backoff(ep, err) {
    const o = this.#opts;
    if (!o.reconnection || this.#attempt >= o.reconnectionAttempts) {
      this.#close(this.#announced ? "reconnect failed" : null, err);
      return false;
    }
    const attempt = ++this.#attempt;
    const delay = retryDelay(err, attempt - 1, o.reconnectionDelay, o.reconnectionDelayMax);
    this.#emitLocal("reconnecting", { attempt, delay, error: err });
    if (this.#epoch !== ep) return false;
    await this.#wait(ep, delay);
    return this.#epoch === ep;
  }

  async #wait(ep, ms) {
    const life = this.#life;
    if (this.#epoch !== ep || life.signal.aborted) return;
    const ctl = new AbortController();
    this.#runCtl = ctl;
    const onLife = () => ctl.abort(CLOSED);
    life.signal.addEventListener("abort", onLife, { once: true });
    await sleep(ms, ctl.signal);
    life.signal.removeEventListener("abort", onLife);
    if (this.#runCtl === ctl) this.#runCtl = null;
  }

  async #postConnect(ep) {
    let auth = this.#opts.auth;
    if (typeof auth === "function") auth = await auth();
    const body = auth === undefined ? undefined : toJson({ auth });
    const { signal, done } = childController(this.#life.signal, this.#opts.requestTimeout);
    let res;
    let json;
    try {
      res = await this.#fetch(this.#base + "/connect", this.#init("POST", body, signal));
      json = await readJson(res);
    } catch (err) {
      const e = networkError("connect", signal.reason === TIMEOUT ? TIMEOUT : err);
      e.retryable = true;
      throw e;
    } finally {
      done();
    }
    if (!res.ok) {
      const e = httpError("connect", res, json);
      e.retryable = retryableStatus(res.status);
      throw e;
    }
    if (!json || typeof json.sessionId !== "string" || json.sessionId === "") {
      const e = new SocketServeError("connect: the answer has no sessionId", { code: "invalid_response", status: res.status });
      e.retryable = true;
      throw e;
    }
    return json;
  }

  /** The session the transport or an emit used is gone (404 unknown_session). */
  #onGone(sid) {
    if (sid !== this.#sessionId || this.#state === "disconnected") return;
    this.#goneSid = sid;
    if (this.#runCtl) this.#runCtl.abort(GONE);
  }

  #sessionLost() {
    const announced = this.#announced;
    if (announced || this.#restored) this.#previousId = this.id;
    this.#restored = false;
    if (this.#resume) this.#resume.clear();
    this.#sessionId = null;
    this.#cursor = null;
    this.#goneSid = null;
    this.#announced = false;
    this.connected = false;
    this.recovered = false;
    this.#state = "connecting";
    this.#attempt = 0;
    if (!this.#opts.reconnection) {
      this.#close(announced ? "session lost" : null);
      return;
    }
    if (announced) this.#emitLocal("disconnect", "session lost", { willReconnect: true });
  }

  /** The transport delivered its first frame (`connected`) or answer. */
  #onOpen(recovered) {
    if (this.#state === "disconnected") return;
    const attempt = this.#attempt;
    this.#attempt = 0;
    if (this.#state === "connecting") {
      this.#state = "connected";
      this.connected = true;
      // A session carried over from a previous page load resumed from its saved cursor.
      const resumed = this.#restored;
      this.#restored = false;
      this.recovered = resumed && recovered !== false;
      this.#announced = true;
      const info = { id: this.id, recovered: this.recovered, resumed };
      if (this.#previousId !== undefined) info.previousId = this.#previousId;
      this.#previousId = undefined;
      this.#wakePump();
      this.#emitLocal("connect", info);
    } else if (this.#state === "reconnecting") {
      this.#state = "connected";
      this.connected = true;
      this.recovered = recovered !== false;
      this.#wakePump();
      this.#emitLocal("reconnect", { attempt, recovered: this.recovered });
    } else {
      // A silent reopen (planned rotation): only an incomplete resume is worth telling.
      this.recovered = recovered !== false;
      if (recovered === false) this.#emitLocal("reconnect", { attempt: 0, recovered: false });
    }
  }

  // -- incoming ---------------------------------------------------------------------------

  /** Is `id` after the last cursor? (Unparsable cursors count as new.) */
  #isNew(id) {
    if (this.#cursor === null) return true;
    const c = compareCursors(id, this.#cursor);
    return Number.isNaN(c) || c > 0;
  }

  #advance(id) {
    if (this.#cursor !== null && compareCursors(id, this.#cursor) <= 0) return;
    this.#cursor = id;
    this.#saveResume();
  }

  /** Keeps the session and its cursor for the next page load (with `resume`). */
  #saveResume() {
    if (this.#resume && this.#sessionId) this.#resume.save({ sessionId: this.#sessionId, id: this.id, cursor: this.#cursor });
  }

  /**
   * Handles one message: `id` its cursor (or null), `env` the parsed envelope. Returns true
   * when it was the `connected` frame.
   */
  #onMessage(id, env) {
    if (!env || typeof env !== "object" || typeof env.event !== "string") return false;
    if (env.event === "connected") {
      if (id) this.#advance(id);
      const d = env.data && typeof env.data === "object" ? env.data : {};
      this.#onOpen(d.recovered);
      return true;
    }
    if (id) {
      if (!this.#isNew(id)) return false; // a duplicate
      this.#advance(id);
    }
    if (env.event === "__disconnect") {
      const reason = env.data && typeof env.data.reason === "string" ? env.data.reason : "server disconnect";
      this.#close(reason, undefined, { notify: false });
      return false;
    }
    if (env.event === "__replaced") {
      // A newer stream of this session took the slot (the server's per-session stream
      // cap): stop, and do not reconnect, or two clients would take turns ending each other.
      this.#close("replaced", undefined, { notify: false });
      return false;
    }
    if (env.event.startsWith("__")) return false; // other protocol frames (e.g. __ack for 0.6.0 clients)
    const meta = { timestamp: env.timestamp };
    if (env.from !== undefined) meta.from = env.from;
    if (env.room !== undefined) meta.room = env.room;
    if (id) meta.cursor = id;
    if (typeof env.ackId === "string" && env.ackId !== "") {
      // The server waits for a reply: listeners get an `ack` function before `meta`.
      this.#emitLocal(env.event, decodeReceived(env.data), this.#ackFunction(env.ackId), meta);
      return false;
    }
    this.#emitLocal(env.event, decodeReceived(env.data), meta);
    return false;
  }

  /**
   * The `ack` handed to listeners of a server emit that waits for a reply: the first call
   * sends `POST /ack` (retried on network errors and 5xx, like emits), later calls do
   * nothing. Returns a Promise of whether the server took the reply.
   */
  #ackFunction(ackId) {
    const sid = this.#sessionId;
    let sent = null;
    return (reply) => {
      if (sent) return sent;
      sent = this.#postAck(sid, ackId, reply);
      return sent;
    };
  }

  async #postAck(sid, ackId, reply) {
    const body = toJson({ sessionId: sid, ackId, data: reply === undefined ? null : reply });
    for (let tries = 0; ; tries++) {
      const { signal, done } = childController(null, this.#opts.requestTimeout);
      let error;
      try {
        const res = await this.#fetch(this.#base + "/ack", this.#init("POST", body, signal));
        const json = await readJson(res);
        if (res.ok) return true;
        error = httpError("ack", res, json);
        if (!retryableStatus(res.status)) {
          // A session that ended has nobody waiting; anything else is a bug worth seeing.
          if (error.code !== "unknown_session") report(error);
          return false;
        }
      } catch (err) {
        error = networkError("ack", signal.reason === TIMEOUT ? TIMEOUT : err);
      } finally {
        done();
      }
      if (this.#state === "disconnected" || sid !== this.#sessionId || tries >= 8) {
        report(error);
        return false;
      }
      await sleep(retryDelay(error, tries, this.#opts.reconnectionDelay, this.#opts.reconnectionDelayMax));
    }
  }

  #sseUrl(sid, polling) {
    let url = `${this.#base}/sse?sessionId=${encodeURIComponent(sid)}`;
    if (polling) url += "&transport=polling";
    if (this.#cursor !== null) url += `&lastEventId=${encodeURIComponent(this.#cursor)}`;
    return url;
  }

  #useEventSource() {
    const es = this.#opts.eventSource;
    if (es === true) return typeof globalThis.EventSource === "function";
    if (typeof es === "function") return true;
    // No streaming fetch (old browsers): EventSource when there is one.
    return typeof ReadableStream !== "function" && typeof globalThis.EventSource === "function";
  }

  /**
   * The SSE stream read with fetch. Resolves when it ends:
   * {kind: "ended", retry} after it was open; {kind: "gone"}; {kind: "unsupported", error}
   * when SSE cannot be opened here; {kind: "error", error} otherwise.
   */
  async #runSse(ep, sid, parent) {
    const o = this.#opts;
    const { ctl, signal, done } = childController(parent, 0);
    let opened = false;
    let headers = false;
    let openTimedOut = false;
    const openTimer = setTimeout(() => {
      openTimedOut = true;
      ctl.abort(TIMEOUT);
    }, o.openTimeout);
    let watchdog = null;
    const feed = () => {
      if (!o.heartbeatTimeout) return;
      if (watchdog !== null) clearTimeout(watchdog);
      watchdog = setTimeout(() => ctl.abort(TIMEOUT), o.heartbeatTimeout);
    };
    let retry = null;
    let reader = null;
    try {
      let res;
      try {
        const init = this.#init("GET", undefined, signal);
        init.headers = { ...(init.headers || {}), Accept: "text/event-stream" };
        res = await this.#fetch(this.#sseUrl(sid, false), init);
      } catch (err) {
        return this.#failure(parent, signal, err, "stream");
      }
      if (!res.ok) {
        const json = await readJson(res);
        const error = httpError("stream", res, json);
        if (res.status === 404 && error.code === "unknown_session") return { kind: "gone" };
        // A host that buffers responses (serverless) cannot stream: long-poll instead.
        if (error.code === "sse_unsupported") return { kind: "unsupported", error };
        if (retryableStatus(res.status)) return { kind: "error", error };
        if (error.code === "invalid_cursor") {
          this.#cursor = null; // cannot happen with cursors the server sent; start over
          return { kind: "error", error };
        }
        return { kind: "unsupported", error };
      }
      const type = res.headers.get("content-type") || "";
      if (!type.includes("text/event-stream") || !res.body || typeof res.body.getReader !== "function") {
        try {
          await res.body?.cancel();
        } catch {}
        return { kind: "unsupported", error: new SocketServeError(`stream: not an event stream (${type || "no type"})`, { code: "not_event_stream" }) };
      }
      headers = true;
      feed();
      reader = res.body.getReader();
      // A fetch whose body ignores the abort signal would hang the read: cancel it too.
      signal.addEventListener("abort", () => reader.cancel().catch(() => {}), { once: true });
      const decoder = new TextDecoder();
      const parser = new SseParser((frame) => {
        if (frame.retry !== null) retry = frame.retry;
        if (frame.data === null) {
          if (frame.id) this.#advance(frame.id); // id-only frame: the position moved on
          return;
        }
        let env;
        try {
          env = JSON.parse(frame.data);
        } catch {
          return;
        }
        if (this.#onMessage(frame.id || null, env)) {
          opened = true;
          clearTimeout(openTimer);
        }
      });
      for (;;) {
        let chunk;
        try {
          chunk = await reader.read();
        } catch (err) {
          if (this.#epoch !== ep) return { kind: "closed" };
          if (parent.aborted) return parent.reason === GONE ? { kind: "gone" } : { kind: "closed" };
          if (opened) return { kind: "ended", retry: null, error: networkError("stream", err) };
          return this.#failure(parent, signal, err, "stream", headers && openTimedOut);
        }
        if (this.#epoch !== ep) return { kind: "closed" };
        if (chunk.done) break;
        feed();
        parser.push(decoder.decode(chunk.value, { stream: true }));
        if (this.#epoch !== ep || this.#state === "disconnected") return { kind: "closed" };
        if (parent.aborted) break;
      }
      if (parent.aborted) return parent.reason === GONE ? { kind: "gone" } : { kind: "closed" };
      if (signal.aborted && signal.reason === TIMEOUT) {
        if (opened) return { kind: "ended", retry: null, error: networkError("stream", TIMEOUT) };
        return this.#failure(parent, signal, TIMEOUT, "stream", true);
      }
      if (opened) return { kind: "ended", retry };
      return { kind: "error", error: new SocketServeError("stream: ended before the connected frame", { code: "transport_error" }) };
    } finally {
      clearTimeout(openTimer);
      if (watchdog !== null) clearTimeout(watchdog);
      done();
      if (!signal.aborted) ctl.abort(CLOSED);
      if (reader) reader.cancel().catch(() => {});
    }
  }

  #failure(parent, signal, err, what, buffered = false) {
    if (parent.aborted && parent.reason === GONE) return { kind: "gone" };
    if (parent.aborted) return { kind: "closed" };
    if (buffered) {
      // The stream was answered but nothing came through in time: a buffering proxy.
      return { kind: "unsupported", error: new SocketServeError(`${what}: no data within the open timeout`, { code: "timeout" }) };
    }
    return { kind: "error", error: networkError(what, signal.reason === TIMEOUT ? TIMEOUT : err) };
  }

  /** The SSE stream read with an EventSource (browsers; see README for its limits). */
  #runEventSource(ep, sid, parent) {
    const ES = typeof this.#opts.eventSource === "function" ? this.#opts.eventSource : globalThis.EventSource;
    const url = this.#sseUrl(sid, false);
    return new Promise((resolve) => {
      let opened = false;
      let finished = false;
      const es = new ES(url, { withCredentials: this.#opts.credentials === "include" });
      const finish = (outcome) => {
        if (finished) return;
        finished = true;
        es.close();
        clearTimeout(openTimer);
        parent.removeEventListener("abort", onAbort);
        resolve(outcome);
      };
      const onAbort = () => finish(parent.reason === GONE ? { kind: "gone" } : { kind: "closed" });
      parent.addEventListener("abort", onAbort, { once: true });
      const openTimer = setTimeout(() => finish({ kind: "error", error: networkError("stream", TIMEOUT) }), this.#opts.openTimeout);
      es.onmessage = (e) => {
        if (finished || this.#epoch !== ep) return;
        let env;
        try {
          env = JSON.parse(e.data);
        } catch {
          return;
        }
        if (this.#onMessage(e.lastEventId || null, env)) {
          opened = true;
          clearTimeout(openTimer);
        }
        if (this.#epoch !== ep) finish({ kind: "closed" });
      };
      es.onerror = () => {
        if (finished) return;
        if (opened) return finish({ kind: "ended", retry: null });
        // EventSource hides the status: ask once with fetch to tell a lost session apart.
        es.close();
        this.#probe(url, parent).then(finish);
      };
    });
  }

  async #probe(url, parent) {
    const { signal, done } = childController(parent, this.#opts.openTimeout);
    try {
      const res = await this.#fetch(url, this.#init("GET", undefined, signal));
      if (res.ok && (res.headers.get("content-type") || "").includes("text/event-stream")) {
        res.body?.cancel().catch(() => {});
        return { kind: "error", error: new SocketServeError("stream: EventSource failed", { code: "transport_error" }) };
      }
      const json = await readJson(res);
      const error = httpError("stream", res, json);
      if (res.status === 404 && error.code === "unknown_session") return { kind: "gone" };
      if (res.ok || error.code === "sse_unsupported" || !retryableStatus(res.status)) return { kind: "unsupported", error };
      return { kind: "error", error };
    } catch (err) {
      return this.#failure(parent, signal, err, "stream");
    } finally {
      done();
    }
  }

  /**
   * Long-polling (protocol section 2, with a cursor): one GET after another, each answered
   * as soon as something is there. Resolves like #runSse.
   */
  async #runPolling(ep, sid, parent) {
    let opened = false;
    if (this.#state === "connecting" && this.#cursor !== null) {
      // A new session: /connect just answered, so the session is there; do not wait for
      // the first long-poll (it may take poll_timeout) to say so.
      opened = true;
      this.#onOpen(true);
    }
    while (this.#epoch === ep && !parent.aborted) {
      const drain = this.#cursor === null; // a server that gave no cursor: 0.6.0 polling
      const { signal, done } = childController(parent, this.#opts.pollTimeout);
      let res;
      let json;
      try {
        res = await this.#fetch(this.#sseUrl(sid, true), this.#init("GET", undefined, signal));
        json = await readJson(res);
      } catch (err) {
        done();
        const f = this.#failure(parent, signal, err, "poll");
        if (f.kind !== "error") return f;
        return opened ? { kind: "ended", retry: null, error: f.error } : f;
      }
      done();
      if (this.#epoch !== ep) return { kind: "closed" };
      if (!res.ok) {
        const error = httpError("poll", res, json);
        if (res.status === 404 && error.code === "unknown_session") return { kind: "gone" };
        if (error.code === "invalid_cursor") this.#cursor = null;
        if (opened) return { kind: "ended", retry: null, error };
        return { kind: retryableStatus(res.status) ? "error" : "unsupported", error };
      }
      if (!json || !Array.isArray(json.messages)) {
        const error = new SocketServeError("poll: the answer has no messages", { code: "invalid_response" });
        return opened ? { kind: "ended", retry: null, error } : { kind: "error", error };
      }
      if (!opened) {
        opened = true;
        this.#onOpen(json.recovered);
        if (this.#epoch !== ep) return { kind: "closed" };
      } else if (json.recovered === false) {
        this.#onOpen(false);
      }
      for (const m of json.messages) {
        if (!m || typeof m !== "object") continue;
        const { cursor, ...env } = m;
        this.#onMessage(typeof cursor === "string" ? cursor : null, env);
        if (this.#epoch !== ep) return { kind: "closed" };
      }
      if (typeof json.cursor === "string") this.#advance(json.cursor);
      if (drain) await this.#wait(ep, this.#opts.pollInterval);
    }
    return parent.aborted && parent.reason === GONE ? { kind: "gone" } : { kind: "closed" };
  }

  // -- closing ----------------------------------------------------------------------------

  /**
   * Ends the session: queued emits are still sent once each (in order), then the server is
   * told (`POST /disconnect`). Emits `disconnect` with reason "client disconnect".
   */
  disconnect() {
    if (this.#state === "disconnected") return this;
    this.#close("client disconnect", undefined, { notify: true });
    return this;
  }

  /** Alias of disconnect(). */
  close() {
    return this.disconnect();
  }

  #close(reason, err, { notify = false } = {}) {
    if (this.#state === "disconnected") return;
    const announced = this.#announced;
    const sid = this.#sessionId;
    this.#epoch++;
    this.#state = "disconnected";
    this.connected = false;
    this.#announced = false;
    this.#sessionId = null;
    this.#restored = false;
    if (this.#resume) this.#resume.clear();
    this.#transport = null;
    this.#previousId = undefined;
    if (this.#life) this.#life.abort(CLOSED);
    if (this.#pumpWake) this.#pumpWake.abort();
    this.#pumpWake = null;
    // Whatever is queued: sent once each on a clean client disconnect, failed otherwise.
    const items = [];
    const inflight = this.#inflight;
    if (this.#current && !inflight) items.push(this.#current);
    this.#current = null;
    this.#inflight = null;
    items.push(...this.#queue);
    this.#queue = [];
    if (notify && sid) {
      this.#flush(sid, items, inflight);
    } else {
      const e = err || new SocketServeError(`the socket is disconnected (${reason || "closed"})`, { code: "disconnected" });
      for (const item of items) this.#settle(item, e);
    }
    if (announced && reason) this.#emitLocal("disconnect", reason, { willReconnect: false });
  }

  async #flush(sid, items, inflight) {
    if (inflight) await inflight;
    for (const item of items) {
      if (item.settled) continue;
      const r = await this.#postMessage(sid, item);
      if (r.ok) this.#settle(item, null, r.reply);
      else this.#settle(item, r.error || new SocketServeError("the socket is disconnected", { code: "disconnected" }));
    }
    const { signal, done } = childController(null, this.#opts.requestTimeout);
    try {
      const init = this.#init("POST", JSON.stringify({ sessionId: sid }), signal);
      init.keepalive = true;
      const res = await this.#fetch(this.#base + "/disconnect", init);
      await res.text().catch(() => {});
    } catch {
      // The server forgets the session after session_ttl anyway.
    } finally {
      done();
    }
  }
}

/**
 * Opens a socket to a socket-serve server at base URL `url` (e.g. "/socket" in a browser,
 * "http://127.0.0.1:3000/socket" in Node). Returns at once; see `Socket`.
 */
export function connect(url, options) {
  return new Socket(url, options);
}

export default connect;

// Names of the client-side lifecycle events (the app's server events share `on`).
export const lifecycleEvents = [...LIFECYCLE];
