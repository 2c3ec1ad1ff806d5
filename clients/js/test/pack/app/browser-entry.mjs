// A page's module: bundled by esbuild for the browser.
import { connect } from "socket-serve-client";

export function start(base = "/socket") {
  const socket = connect(base, { autoConnect: false });
  socket.on("chat", (msg) => console.log(msg.text));
  return socket;
}
