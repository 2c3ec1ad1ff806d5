// An in-process fake of the socket-serve v1 server, reached through an injected `fetch`.
// It lets unit tests drive the client's state machine deterministically (cut a stream,
// fail a POST after the server ran it, lose a session) without the Rust server.
// The real server is tested in the integration tests; this fake follows docs/PROTOCOL.md.

const enc = new TextEncoder();

function json(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

export class FakeServer {
  constructor() {
    this.sessions = new Map(); // sid -> session
    this.requests = []; // every request: { method, path, query, body }
    this.handled = []; // every handler run: { sid, event, data, messageId }
    this.seq = 0;
    this.down = false; // every request fails with a network error
    this.hooks = {}; // name -> async (req) => Response | "network" | undefined
    this.waiters = [];
    this.fetch = this.fetch.bind(this);
  }

  nextCursor() {
    return `1000-${++this.seq}`;
  }

  /** Resolves when `pred()` is true (checked after every request and emit, and every 5 ms). */
  until(pred, timeout = 5000, what = "condition") {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      const done = () => {
        clearTimeout(w.timer);
        clearInterval(w.poll);
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
      };
      w.resolve = () => {
        done();
        resolve();
      };
      w.timer = setTimeout(() => {
        done();
        reject(new Error(`fake server: timed out waiting for ${what}`));
      }, timeout);
      w.poll = setInterval(() => pred() && w.resolve(), 5);
      this.waiters.push(w);
    });
  }

  #check() {
    for (const w of [...this.waiters]) {
      if (w.pred()) w.resolve();
    }
  }

  /** Stores a message for a session and sends it to its open streams. */
  emitTo(sid, event, data, extra = {}) {
    const s = this.sessions.get(sid);
    const cursor = this.nextCursor();
    const env = { event, data, timestamp: Date.now(), ...extra };
    s.log.push({ cursor, env });
    for (const st of s.streams) st.write(`id: ${cursor}\ndata: ${JSON.stringify(env)}\n\n`);
    for (const p of s.polls.splice(0)) p();
    this.#check();
    return cursor;
  }

  /** Moves the global position without a message for `sid` (an id-only frame). */
  tick(sid) {
    const cursor = this.nextCursor();
    const s = this.sessions.get(sid);
    s.position = cursor;
    for (const st of s.streams) st.write(`id: ${cursor}\n\n`);
    return cursor;
  }

  /** Ends the open streams of `sid`, with `retry:` (planned) or without. */
  cut(sid, { retry = null } = {}) {
    const s = this.sessions.get(sid);
    for (const st of [...s.streams]) {
      if (retry !== null) st.write(`retry: ${retry}\n\n`);
      st.end();
    }
  }

  /** Forgets a session (expired or server restarted with a memory store). */
  forget(sid) {
    const s = this.sessions.get(sid);
    this.sessions.delete(sid);
    if (s) for (const st of [...s.streams]) st.end();
  }

  /** Removes a session the way /disconnect does: `__disconnect` frame, then stream end. */
  serverDisconnect(sid, reason = "server disconnect") {
    this.emitTo(sid, "__disconnect", { reason });
    this.forget(sid);
  }

  get onlySid() {
    const sids = [...this.sessions.keys()];
    if (sids.length !== 1) throw new Error(`expected one session, have ${sids.length}`);
    return sids[0];
  }

  /** Like fetch: rejects with the signal's reason when it aborts (before the answer). */
  fetch(url, init = {}) {
    const p = this.#fetch(url, init);
    const signal = init.signal;
    if (!signal) return p;
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  async #fetch(url, init) {
    const u = new URL(url, "http://fake.invalid");
    const method = init.method || "GET";
    const path = u.pathname.replace(/^\/socket/, "");
    let body = null;
    if (typeof init.body === "string" && init.body) body = JSON.parse(init.body);
    const req = { method, path, query: Object.fromEntries(u.searchParams), body, init };
    this.requests.push(req);
    this.#check();
    if (init.signal && init.signal.aborted) throw init.signal.reason;
    const hook = this.hooks[path] || this.hooks[method + " " + path];
    if (hook) {
      const r = await hook(req, this);
      if (r === "network") throw new TypeError("fetch failed (fake)");
      if (r) return r;
    }
    if (this.down) throw new TypeError("fetch failed (fake: server down)");
    if (method === "POST" && path === "/connect") return this.#connect(req);
    if (method === "POST" && path === "/message") return this.#message(req);
    if (method === "POST" && path === "/disconnect") {
      const sid = body && body.sessionId;
      if (this.sessions.has(sid)) this.serverDisconnect(sid, "client disconnect");
      return json(200, { success: true });
    }
    if (method === "GET" && path === "/sse") {
      return u.searchParams.get("transport") === "polling" ? this.#poll(req) : this.#sse(req);
    }
    return json(404, { error: "no such endpoint", code: "not_found" });
  }

  #connect(req) {
    const sid = Math.random().toString(16).slice(2).padEnd(32, "0").slice(0, 32);
    const id = "pub" + Math.random().toString(36).slice(2, 10);
    const start = this.nextCursor();
    const s = { sid, id, log: [], streams: new Set(), polls: [], answers: new Map(), start, auth: req.body && req.body.auth };
    this.sessions.set(sid, s);
    this.emitTo(sid, "welcome", { id });
    return json(200, { sessionId: sid, id, cursor: start });
  }

  async #message(req) {
    const { sessionId, event, data = null, messageId } = req.body || {};
    const s = this.sessions.get(sessionId);
    if (!s) return json(404, { error: "unknown session", code: "unknown_session" });
    if (!event || event === "connected" || event.startsWith("__")) return json(400, { error: "bad event", code: "invalid_event" });
    if (messageId && s.answers.has(messageId)) return json(200, s.answers.get(messageId));
    this.handled.push({ sid: sessionId, event, data, messageId });
    let answer = { success: true };
    if (event === "echo") {
      this.emitTo(sessionId, "echo", data);
      answer = { success: true, ack: data };
    } else if (event === "fail") {
      return json(500, { error: "handler failed", code: "handler_error" });
    }
    if (messageId) s.answers.set(messageId, answer);
    this.#check();
    return json(200, answer);
  }

  #after(s, cursor) {
    const seq = Number((cursor || s.start).split("-")[1]);
    return s.log.filter((m) => Number(m.cursor.split("-")[1]) > seq && !(s.trimmedTo && Number(m.cursor.split("-")[1]) <= s.trimmedTo));
  }

  #recovered(s, cursor) {
    return !(cursor && s.trimmedTo && Number(cursor.split("-")[1]) < s.trimmedTo);
  }

  #sse(req) {
    const s = this.sessions.get(req.query.sessionId);
    if (!s) return json(404, { error: "unknown session", code: "unknown_session" });
    const cursor = req.query.lastEventId || req.init.headers?.["Last-Event-ID"] || null;
    let ctl;
    const st = {
      write: (text) => {
        try {
          ctl.enqueue(enc.encode(text));
        } catch {}
      },
      end: () => {
        s.streams.delete(st);
        try {
          ctl.close();
        } catch {}
      },
    };
    const stream = new ReadableStream({
      start(c) {
        ctl = c;
      },
      cancel() {
        s.streams.delete(st);
      },
    });
    const signal = req.init.signal;
    if (signal) {
      signal.addEventListener("abort", () => {
        s.streams.delete(st);
        try {
          ctl.error(signal.reason);
        } catch {}
      });
    }
    s.streams.add(st);
    const recovered = this.#recovered(s, cursor);
    st.write(`id: ${cursor || s.start}\ndata: ${JSON.stringify({ event: "connected", data: { id: s.id, recovered } })}\n\n`);
    for (const m of this.#after(s, cursor)) st.write(`id: ${m.cursor}\ndata: ${JSON.stringify(m.env)}\n\n`);
    this.#check();
    return new Response(stream, { status: 200, headers: { "content-type": "text/event-stream" } });
  }

  async #poll(req) {
    const s = this.sessions.get(req.query.sessionId);
    if (!s) return json(404, { error: "unknown session", code: "unknown_session" });
    const cursor = req.query.lastEventId || null;
    let msgs = this.#after(s, cursor);
    if (msgs.length === 0) {
      await new Promise((resolve, reject) => {
        s.polls.push(resolve);
        const t = setTimeout(resolve, this.pollTimeout || 2000);
        req.init.signal?.addEventListener("abort", () => {
          clearTimeout(t);
          reject(req.init.signal.reason);
        });
      });
      if (!this.sessions.has(s.sid)) return json(404, { error: "unknown session", code: "unknown_session" });
      msgs = this.#after(s, cursor);
    }
    const last = msgs.length ? msgs[msgs.length - 1].cursor : cursor || s.start;
    return json(200, {
      messages: msgs.map((m) => ({ ...m.env, cursor: m.cursor })),
      cursor: last,
      recovered: this.#recovered(s, cursor),
    });
  }
}

/** Resolves with the arguments of the next `event` on `socket` (optionally matching `pred`). */
export function next(socket, event, { timeout = 5000, pred } = {}) {
  return new Promise((resolve, reject) => {
    const fn = (...args) => {
      if (pred && !pred(...args)) return;
      clearTimeout(timer);
      socket.off(event, fn);
      resolve(args);
    };
    const timer = setTimeout(() => {
      socket.off(event, fn);
      reject(new Error(`timed out after ${timeout} ms waiting for "${event}"`));
    }, timeout);
    socket.on(event, fn);
  });
}

/** Records every event of `names` on `socket`, in order. */
export function record(socket, names) {
  const log = [];
  for (const n of names) socket.on(n, (...args) => log.push([n, ...args]));
  return log;
}
