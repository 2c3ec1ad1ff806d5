// The installed package, imported by its name as an app would.
import assert from "node:assert/strict";
import { connect, Socket, SocketServeError, version } from "socket-serve-client";
import defaultConnect from "socket-serve-client";
import pkg from "socket-serve-client/package.json" with { type: "json" };

assert.equal(typeof connect, "function");
assert.equal(defaultConnect, connect);
assert.equal(version, pkg.version, "the module's version is the package's");

// Nothing is sent with autoConnect: false; emits queue until connect().
const socket = connect("http://127.0.0.1:9/socket", { autoConnect: false });
assert.ok(socket instanceof Socket);
assert.equal(socket.connected, false);
socket.emit("chat", { text: "queued" });
assert.equal(socket.pending, 1);
socket.disconnect();

const error = new SocketServeError("no", { code: "disconnected" });
assert.equal(error.code, "disconnected");
assert.ok(error instanceof Error);

// The React entry resolves (its import of the optional peer `react` fails without it).
await assert.rejects(import("socket-serve-client/react"), /react/);
console.log(`node: socket-serve-client ${version} imports by name`);
