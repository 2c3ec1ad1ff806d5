// Type-checked against the package's index.d.ts and react.d.ts (tsc --noEmit, strict).
import { connect, Socket, SocketServeError, type ConnectOptions, type MessageMeta } from "socket-serve-client";
import type { useEvent, useSocket } from "socket-serve-client/react";

interface Chat {
  from?: string;
  text: string;
}

const options: ConnectOptions = { transports: ["sse", "polling"], auth: { token: "t" }, autoConnect: false };
const socket: Socket = connect("/socket", options);
socket.on("connect", ({ id, recovered, resumed }) => {
  const complete: boolean = recovered; // false for a new session
  const carried: boolean = resumed; // the session of a previous page load (`resume`)
  console.log(id.length, complete, carried);
});
const resuming: Socket = connect("/socket", { resume: sessionStorage, resumeKey: "chat" });
void resuming;
socket.on("reconnect", ({ attempt, recovered }) => console.log(attempt + 1, recovered ? "all" : "some lost"));
socket.on("disconnect", (reason, { willReconnect }) => console.log(reason, willReconnect));
socket.on<Chat>("chat", (msg: Chat, meta: MessageMeta) => console.log(msg.text, meta.from));
socket.emit("chat", { text: "hello" }, (err, reply) => {
  if (err) console.log(err.code, err.status);
  else console.log(reply);
});
const reply: Promise<{ ok: boolean }> = socket.emitWithAck<{ ok: boolean }>("join", { room: "lobby" }, { timeout: 5000 });
void reply;
const state: "connecting" | "connected" | "reconnecting" | "disconnected" = socket.state;
void state;
const e = new SocketServeError("x", { code: "ack_timeout" });
void e.code;

// The types are really there: each of these is an error (an `any` module would accept them).
// @ts-expect-error: transports are "sse" | "polling"
connect("/socket", { transports: ["websocket"] });
// @ts-expect-error: emitWithAck's options take a number
socket.emitWithAck("x", 1, { timeout: "soon" });
// @ts-expect-error: resume takes a Storage
connect("/socket", { resume: "sessionStorage" });
// @ts-expect-error: a socket's id is a string
const n: number = socket.id;
void n;

type Hooks = [typeof useSocket, typeof useEvent];
const hooks: Hooks | null = null;
void hooks;
