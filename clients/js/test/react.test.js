// socket-serve-client/react against the real server, rendered with react-test-renderer.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import React, { useState } from "react";
import TestRenderer, { act } from "react-test-renderer";
import { useSocket, useEvent } from "socket-serve-client/react";
import { startChat, NO_SERVER, needsServer } from "./helpers.js";

const h = React.createElement;
let server;

before(async () => {
  if (!NO_SERVER) server = await startChat();
});
after(async () => {
  if (server) await server.stop();
});

/** Resolves when `pred(renderer)` holds after a render; bounded. */
function rendered(renderer, pred, timeout = 5000) {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const check = () => {
      let ok = false;
      try {
        ok = pred(renderer);
      } catch {}
      if (ok) return resolve();
      if (Date.now() - start > timeout) return reject(new Error(`render condition not met; tree: ${JSON.stringify(renderer.toJSON())}`));
      setTimeout(check, 10);
    };
    check();
  });
}

function Chat({ url, onSocket, label = "echo" }) {
  const socket = useSocket(url, { reconnectionDelay: 50 });
  const [echoes, setEchoes] = useState([]);
  onSocket(socket);
  // a new function on every render: useEvent keeps one listener and calls the latest
  useEvent(socket, "echo", (d) => setEchoes((e) => [...e, `${label}:${d}`]));
  return h("div", null, h("span", { id: "state" }, socket ? socket.state : "none"), h("span", { id: "echoes" }, echoes.join(",")));
}

const text = (r, id) => r.root.findByProps({ id }).children.join("");

test("useSocket connects after mount, re-renders on lifecycle; useEvent delivers; unmount disconnects", needsServer, async () => {
  let socket = null;
  let renderer;
  await act(async () => {
    renderer = TestRenderer.create(h(Chat, { url: server.base, onSocket: (s) => (socket = s) }));
  });
  await rendered(renderer, (r) => text(r, "state") === "connected");
  assert.ok(socket && socket.connected);
  await act(async () => {
    await socket.emitWithAck("echo", "one");
  });
  await rendered(renderer, (r) => text(r, "echoes") === "echo:one");
  // a re-render with a new handler: still one listener, the new handler is called
  await act(async () => {
    renderer.update(h(Chat, { url: server.base, onSocket: (s) => (socket = s), label: "new" }));
  });
  assert.equal(socket.listeners("echo").length, 1);
  await act(async () => {
    await socket.emitWithAck("echo", "two");
  });
  await rendered(renderer, (r) => text(r, "echoes") === "echo:one,new:two");
  const s = socket;
  await act(async () => renderer.unmount());
  assert.equal(s.state, "disconnected");
  assert.equal(s.listeners("echo").length, 0);
});

test("a new url makes a new socket and closes the old one; no url, no socket", needsServer, async () => {
  let socket = null;
  let renderer;
  await act(async () => {
    renderer = TestRenderer.create(h(Chat, { url: null, onSocket: (s) => (socket = s) }));
  });
  assert.equal(text(renderer, "state"), "none");
  assert.equal(socket, null);
  await act(async () => renderer.update(h(Chat, { url: server.base, onSocket: (s) => (socket = s) })));
  await rendered(renderer, (r) => text(r, "state") === "connected");
  const first = socket;
  await act(async () => renderer.update(h(Chat, { url: server.base + "/", onSocket: (s) => (socket = s) })));
  await rendered(renderer, (r) => text(r, "state") === "connected" && socket !== first);
  assert.equal(first.state, "disconnected");
  assert.notEqual(socket.id, first.id);
  await act(async () => renderer.unmount());
});
