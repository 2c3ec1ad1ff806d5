// socket-serve-client/react: React hooks over the socket-serve client.
//
//   const socket = useSocket("/socket", { auth: { token } });
//   useEvent(socket, "chat", (msg) => setMessages((m) => [...m, msg]));
//   <button disabled={!socket?.connected} onClick={() => socket.emit("chat", { text })}>
//
// `react` is a peer dependency. The socket is made in an effect (never during server
// rendering) and disconnected when the component unmounts or `url` changes.
import { useEffect, useReducer, useRef, useState } from "react";
import { connect } from "./index.js";

const STATUS_EVENTS = ["connect", "disconnect", "reconnecting", "reconnect", "connect_error"];

/**
 * Opens a socket for the life of the component and re-renders it on every lifecycle change
 * (so `socket.connected`, `socket.state`, `socket.id` and `socket.recovered` read fresh).
 * Returns `null` until the socket exists (first render, server rendering).
 * `options` are read when the socket is made; give the component a new `key`, or change
 * `url`, to make a new one.
 */
export function useSocket(url, options) {
  const [socket, setSocket] = useState(null);
  const [, rerender] = useReducer((n) => n + 1, 0);
  const optionsRef = useRef(options);
  optionsRef.current = options;

  useEffect(() => {
    if (!url) return undefined;
    const s = connect(url, optionsRef.current);
    const onStatus = () => rerender();
    for (const e of STATUS_EVENTS) s.on(e, onStatus);
    setSocket(s);
    return () => {
      for (const e of STATUS_EVENTS) s.off(e, onStatus);
      s.disconnect();
      setSocket((cur) => (cur === s ? null : cur));
    };
  }, [url]);

  return socket;
}

/**
 * Calls `fn` for every `event` on `socket` (a server event or a lifecycle event) while the
 * component is mounted. `fn` may change on every render: the latest one is called, and
 * the listener is not re-attached. `socket` may be null (nothing happens).
 */
export function useEvent(socket, event, fn) {
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    if (!socket) return undefined;
    const listener = (...args) => fnRef.current && fnRef.current(...args);
    socket.on(event, listener);
    return () => {
      socket.off(event, listener);
    };
  }, [socket, event]);
}
