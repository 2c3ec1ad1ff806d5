// The `resume` option: a session kept in a storage across page loads. A socket made later
// with the same storage (a new client object, as after a reload) takes the session over
// and gets what was sent while no page was there, once, in order; a session the server no
// longer knows is replaced. Against the chat example (memory store, or REDIS_URL's).
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "../src/index.js";
import { startChat, needsServer, next, connected } from "./helpers.js";

const FAST = { reconnectionDelay: 50, reconnectionDelayMax: 300 };

/** A Web Storage stand-in: `sessionStorage`'s three methods over a Map. */
function memoryStorage() {
  const items = new Map();
  return {
    getItem: (k) => (items.has(k) ? items.get(k) : null),
    setItem: (k, v) => items.set(k, String(v)),
    removeItem: (k) => items.delete(k),
    items,
  };
}

/**
 * A page's fetch: `unload()` cuts its open requests and fails every later one, as a page
 * that goes away does (without a `/disconnect`: a reload).
 */
function pageFetch() {
  const gone = new AbortController();
  return {
    fetch: (url, init = {}) => {
      if (gone.signal.aborted) return Promise.reject(new TypeError("the page is gone"));
      const signal = init.signal ? AbortSignal.any([init.signal, gone.signal]) : gone.signal;
      return fetch(url, { ...init, signal });
    },
    unload: () => gone.abort(),
  };
}

/** Resolves with the `text` of the next `n` `say` events of `socket`, in order. */
function says(socket, n, timeout = 5000) {
  return new Promise((resolve, reject) => {
    const seen = [];
    const fn = (d) => {
      seen.push(d.text);
      if (seen.length === n) done(resolve, seen);
    };
    const timer = setTimeout(() => done(reject, new Error(`${seen.length} of ${n} say events: ${seen}`)), timeout);
    function done(settle, value) {
      clearTimeout(timer);
      socket.off("say", fn);
      settle(value);
    }
    socket.on("say", fn);
  });
}

test("resume: a new client with the same storage takes the session over and gets what it missed, once, in order", needsServer, async () => {
  const server = await startChat();
  const storage = memoryStorage();
  const page = pageFetch();
  const first = connect(server.base, { ...FAST, resume: storage, fetch: page.fetch });
  const sender = connect(server.base, FAST);
  let second;
  try {
    const [info] = await next(first, "connect");
    assert.deepEqual(info, { id: first.id, recovered: false, resumed: false });
    await connected(sender);
    await first.emitWithAck("join", { room: "r" });
    const one = says(first, 1);
    await sender.emitWithAck("say", { room: "r", text: "one" });
    assert.deepEqual(await one, ["one"]);
    const saved = JSON.parse(storage.getItem(`socket-serve:${server.base}`));
    assert.equal(saved.sessionId, first.sessionId);
    assert.equal(saved.id, first.id);
    assert.match(saved.cursor, /\S/);

    // The page goes (no /disconnect); two messages are sent to its room meanwhile.
    page.unload();
    for (const text of ["two", "three"]) await sender.emitWithAck("say", { room: "r", text });

    second = connect(server.base, { ...FAST, resume: storage });
    const missed = says(second, 2);
    const [again] = await next(second, "connect");
    assert.deepEqual(again, { id: first.id, recovered: true, resumed: true });
    assert.equal(second.sessionId, first.sessionId);
    assert.deepEqual(await missed, ["two", "three"], "what was missed, once, in order, nothing seen before");
    // Still in its room: the room is the session's.
    const four = says(second, 1);
    await sender.emitWithAck("say", { room: "r", text: "four" });
    assert.deepEqual(await four, ["four"]);

    // disconnect() ends the session and forgets it.
    second.disconnect();
    assert.equal(storage.getItem(`socket-serve:${server.base}`), null);
  } finally {
    first.disconnect();
    sender.disconnect();
    if (second) second.disconnect();
    await server.stop();
  }
});

test("resume: a saved session the server does not know is replaced by a new one (recovered: false)", needsServer, async () => {
  const server = await startChat();
  const storage = memoryStorage();
  storage.setItem("chat-tab", JSON.stringify({ sessionId: "s-gone", id: "p-gone", cursor: "1-0" }));
  const socket = connect(server.base, { ...FAST, resume: storage, resumeKey: "chat-tab" });
  try {
    const [info] = await next(socket, "connect");
    assert.deepEqual(info, { id: socket.id, recovered: false, resumed: false, previousId: "p-gone" });
    assert.notEqual(socket.id, "p-gone");
    assert.equal(JSON.parse(storage.getItem("chat-tab")).sessionId, socket.sessionId, "the new session is saved");
  } finally {
    socket.disconnect();
    await server.stop();
  }
});

test("resume: a storage without getItem/setItem/removeItem is a TypeError", () => {
  assert.throws(() => connect("http://127.0.0.1:1/socket", { resume: {}, autoConnect: false }), TypeError);
});
