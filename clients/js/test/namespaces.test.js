// Namespaces: the JS client connects to two independent socket-serve namespaces of one app
// (the `namespaces` example: `/chat` and `/staff`), each with its own handlers and
// sessions; what happens in one stays there.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect } from "../src/index.js";
import { startChat, NAMESPACES_BIN, NO_NAMESPACES, next } from "./helpers.js";

const needsExample = NO_NAMESPACES ? { skip: NO_NAMESPACES } : {};
let server;
const sockets = [];

function open(ns) {
  const s = connect(`${server.origin}/${ns}`, { reconnectionDelay: 50, reconnectionDelayMax: 500 });
  sockets.push(s);
  return s;
}

before(async () => {
  if (!NO_NAMESPACES) server = await startChat({ bin: NAMESPACES_BIN });
});

after(async () => {
  for (const s of sockets) s.disconnect();
  if (server) await server.stop();
});

test("each namespace runs its own handlers for its own sessions", needsExample, async () => {
  const chat = open("chat");
  const staff = open("staff");
  const [[chatWelcome], [staffWelcome]] = await Promise.all([next(chat, "welcome"), next(staff, "welcome")]);
  assert.deepEqual(chatWelcome, { ns: "chat" });
  assert.deepEqual(staffWelcome, { ns: "staff" });
  assert.equal(await staff.emitWithAck("whoami", null, { timeout: 5000 }), "staff");
  // `whoami` is staff's: chat has no handler for it (no reply).
  assert.equal(await chat.emitWithAck("whoami", null, { timeout: 5000 }), undefined);
  assert.notEqual(chat.id, staff.id);
  // Staff reads chat's presence through chat's server handle.
  assert.equal(await staff.emitWithAck("online", null, { timeout: 5000 }), 1);
});

test("broadcasts stay inside their namespace", needsExample, async () => {
  const a = open("chat");
  const b = open("chat");
  const outsider = open("staff");
  await Promise.all([next(a, "connect"), next(b, "connect"), next(outsider, "connect")]);
  let leaked = 0;
  outsider.on("said", () => leaked++);
  const heard = next(b, "said", { timeout: 5000 });
  await a.emitWithAck("say", { text: "hi" }, { timeout: 5000 });
  const [data, meta] = await heard;
  assert.deepEqual(data, { text: "hi" });
  assert.equal(meta.from, a.id);
  // A round trip on the outsider's own stream after the broadcast was stored: had it
  // leaked, it would have arrived first.
  const pong = next(outsider, "pong", { timeout: 5000 });
  outsider.emit("ping", 1);
  await pong;
  assert.equal(leaked, 0);
});
