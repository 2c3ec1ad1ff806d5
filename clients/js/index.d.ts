// Types of socket-serve-client (src/index.js).

/** Version of this client. */
export const version: string;

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Bytes the client sends as bytes: an `ArrayBuffer` (or `SharedArrayBuffer`), a
 * `Uint8Array` or any other `ArrayBuffer` view (typed arrays, `DataView`, Node's `Buffer`).
 * Anywhere in an emit's data, it travels as the marker object `{"__ssbin": "<base64>"}`
 * (protocol section 6) and the server's typed handlers receive it as `Binary` / `Vec<u8>`.
 */
export type BinaryLike = ArrayBufferLike | ArrayBufferView;

/** Data an emit may carry: JSON, with bytes (`BinaryLike`) anywhere in it. */
export type Payload =
  | null
  | boolean
  | number
  | string
  | BinaryLike
  | Payload[]
  | { [key: string]: Payload };

/**
 * Data as the client hands it to listeners and ack callbacks: JSON in which every marker
 * object the server sent (its `Binary`, `Vec<u8>` with `socket_serve::binary`) is a
 * `Uint8Array`.
 */
export type Received = null | boolean | number | string | Uint8Array | Received[] | { [key: string]: Received };

/** Lifecycle state of a socket. */
export type SocketState = "connecting" | "connected" | "reconnecting" | "disconnected";

/** A transport: Server-Sent Events, or long-polling. */
export type Transport = "sse" | "polling";

/**
 * Why a session ended, as passed to `disconnect` listeners:
 * - "client disconnect": `socket.disconnect()` was called here (or, from a `__disconnect`
 *   frame, someone called POST /disconnect for this session);
 * - "server disconnect": the server removed the session;
 * - "expired": the server expired the session;
 * - "replaced": a newer stream of the same session took this one's slot (the server's
 *   `max_streams_per_session`); this client stops and does not reconnect;
 * - "session lost": the server no longer knows the session (404 unknown_session, e.g. a
 *   restarted server with the memory store); a new one is made (`willReconnect: true`);
 * - "reconnect failed": `reconnectionAttempts` ran out.
 */
export type DisconnectReason =
  | "client disconnect"
  | "server disconnect"
  | "expired"
  | "replaced"
  | "session lost"
  | "reconnect failed"
  | (string & {});

/** Stable error codes of `SocketServeError.code` (the server's codes pass through). */
export type ErrorCode =
  | "network_error"
  | "timeout"
  | "ack_timeout"
  | "queue_full"
  | "disconnected"
  | "transport_error"
  | "not_event_stream"
  | "invalid_response"
  | "invalid_json"
  | "missing_field"
  | "invalid_event"
  | "invalid_message_id"
  | "invalid_cursor"
  | "invalid_payload"
  | "connect_rejected"
  | "unknown_session"
  | "not_found"
  | "method_not_allowed"
  | "payload_too_large"
  | "handler_error"
  | "store_unavailable"
  | (string & {});

/** An error of the client, or of the server (then `status` is the HTTP status). */
export class SocketServeError extends Error {
  constructor(message: string, options?: { code?: ErrorCode; status?: number; cause?: unknown });
  readonly name: "SocketServeError";
  /** Stable snake_case code. */
  readonly code: ErrorCode;
  /** HTTP status, when the server answered. */
  readonly status?: number;
  /** On `connect_error` errors: whether the socket will try again. */
  retryable?: boolean;
}

export interface ConnectOptions {
  /** Transports in order of preference. Default `["sse", "polling"]`: SSE, and long-polling
   * when SSE cannot be opened. `["polling"]`: long-polling only. */
  transports?: Transport[];
  /** 0.6.0 form: `"polling"` is `transports: ["polling"]`. */
  transport?: Transport;
  /** Sent as `{"auth": ...}` in the body of POST /connect (handed to the server's
   * `on_connect`). A function is called before every /connect. */
  auth?: Json | (() => Json | Promise<Json>);
  /** Reconnect after transport failures and make a new session when the old one is lost.
   * Default true. */
  reconnection?: boolean;
  /** Base of the exponential backoff with full jitter, ms. Default 500. */
  reconnectionDelay?: number;
  /** Cap of the backoff, ms. Default 30000. */
  reconnectionDelayMax?: number;
  /** Attempts per outage before giving up (`disconnect` "reconnect failed"). Default Infinity. */
  reconnectionAttempts?: number;
  /** Most emits kept (queued, in flight or being retried); more fail with "queue_full".
   * Default 1000. */
  maxQueue?: number;
  /** Default timeout of acks (`emit` with a callback, `emitWithAck`), ms; 0: none.
   * Default 0. */
  ackTimeout?: number;
  /** Timeout of one POST, ms (then it is retried with the same messageId). Default 30000. */
  requestTimeout?: number;
  /** Time for a stream to deliver its first frame, ms. Default 10000. A stream answered but
   * silent for this long (a buffering proxy) makes the socket fall back to polling. */
  openTimeout?: number;
  /** A stream silent for this long (no heartbeat) is reopened, ms; 0: never. Default 45000. */
  heartbeatTimeout?: number;
  /** Timeout of one long-poll request, ms (above the server's poll_timeout). Default 60000. */
  pollTimeout?: number;
  /** Pause between polls against a server that gives no cursor (0.6.0), ms. Default 1000. */
  pollInterval?: number;
  /** How often an emit answered 500 handler_error is sent again before it fails. Default 2. */
  handlerErrorRetries?: number;
  /** Read SSE with an EventSource instead of fetch: `true` (the global one) or a constructor.
   * Default false (fetch; EventSource only where streaming fetch is missing). */
  eventSource?: boolean | (new (url: string, init?: { withCredentials?: boolean }) => EventSourceLike);
  /** The fetch to use. Default `globalThis.fetch`. */
  fetch?: (input: string, init?: RequestInit) => Promise<Response>;
  /** `credentials` of every request (and EventSource's withCredentials when "include").
   * Default "same-origin". */
  credentials?: RequestCredentials;
  /** Extra headers of every fetch request (not possible with EventSource). */
  headers?: Record<string, string>;
  /** Connect at once. Default true; with false, call `socket.connect()` (emits queue until then). */
  autoConnect?: boolean;
  /**
   * Keep the session across page loads: the session id, public id and cursor are saved in
   * this storage (e.g. `sessionStorage`), and the next socket made with it resumes that
   * session from the cursor (`connect` with `resumed: true`), or connects anew when the
   * server no longer knows it. The entry holds the session credential: readable by the
   * page's own scripts only, as the socket in memory is. Removed by `disconnect()`.
   */
  resume?: ResumeStorage;
  /** The key of the saved entry. Default `"socket-serve:" + url`. */
  resumeKey?: string;
}

/** What `resume` needs of a storage: Web Storage's `sessionStorage` has it. */
export interface ResumeStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** The part of EventSource the client uses. */
export interface EventSourceLike {
  onmessage: ((ev: { data: string; lastEventId: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(): void;
}

/** Second argument of server-event listeners: where the message came from. */
export interface MessageMeta {
  /** Server time of the message, ms since the epoch. */
  timestamp: number;
  /** Public id of the sending session (broadcasts and room messages). */
  from?: string;
  /** The room it was sent to. */
  room?: string;
  /** The message's cursor. */
  cursor?: string;
}

export interface ConnectInfo {
  /** Public id of the session. */
  id: string;
  /** False for a new session; for a `resumed` one, whether everything since the saved
   * cursor was replayed (false: older than the server's recovery window). */
  recovered: boolean;
  /** The session was carried over from a previous page load (`resume` option): its rooms
   * and state are there, and what was sent to it meanwhile was replayed. */
  resumed: boolean;
  /** When this session replaces one that was lost: the public id of the old one. */
  previousId?: string;
}

export interface ReconnectingInfo {
  /** 1 for the first attempt of this outage. */
  attempt: number;
  /** Wait before this attempt, ms. */
  delay: number;
  /** What failed. */
  error?: SocketServeError;
}

export interface ReconnectInfo {
  /** Attempts it took (0 for a stream reopened at once, e.g. after a planned cut). */
  attempt: number;
  /** false when the server could not replay everything missed (the app should refetch). */
  recovered: boolean;
}

export interface DisconnectDetails {
  /** true when the socket goes on with a new session ("session lost"). */
  willReconnect: boolean;
}

/** Lifecycle events and their listeners. */
export interface LifecycleEvents {
  /** A session is ready (once per session). */
  connect: (info: ConnectInfo) => void;
  /** The session ended (once per session). */
  disconnect: (reason: DisconnectReason, details: DisconnectDetails) => void;
  /** The transport is down; the next attempt comes after `delay`. */
  reconnecting: (info: ReconnectingInfo) => void;
  /** The same session is back (or a resume was incomplete: `recovered: false`). */
  reconnect: (info: ReconnectInfo) => void;
  /** /connect or a transport open failed. */
  connect_error: (error: SocketServeError) => void;
}

/** Listener of a server event. Bytes the server sent arrive as `Uint8Array`s (`Received`). */
export type EventListener<T = any> = (data: T, meta: MessageMeta) => void;

/**
 * The reply function of a server emit that waits for one (`socket.emit_with_ack` on the
 * server): the first call sends `reply` (JSON; bytes allowed) with `POST /ack`, retried on
 * network errors and 5xx; later calls do nothing. Resolves to whether the server took it.
 */
export type AckReply = (reply?: unknown) => Promise<boolean>;

/**
 * Listener of a server event that asks for a reply: `ack` comes before `meta`, as in
 * Socket.IO (`socket.on("confirm", (data, ack) => ack(true))`).
 */
export type AckListener<T = any> = (data: T, ack: AckReply, meta: MessageMeta) => void;

/** Node-style ack: `err` is null on success, `reply` the handler's reply (`ack` field). */
export type AckCallback<R = any> = (err: SocketServeError | null, reply?: R) => void;

export class Socket {
  constructor(url: string, options?: ConnectOptions);

  /** Public id of the session ("" until /connect answered). Safe to show to others. */
  id: string;
  /** true while the session is live and its transport is up. */
  connected: boolean;
  /** true when the last resume of this session was complete; false for a new session. */
  recovered: boolean;
  /** "connecting" | "connected" | "reconnecting" | "disconnected". */
  readonly state: SocketState;
  /** The transport in use, or null. */
  readonly transport: Transport | null;
  /** The private session credential, or null. Never show or send it to others. */
  readonly sessionId: string | null;
  /** The last cursor received. */
  readonly cursor: string | null;
  /** Emits waiting to be sent or answered. */
  readonly pending: number;

  on<E extends keyof LifecycleEvents>(event: E, fn: LifecycleEvents[E]): this;
  /** A listener gets `(data, meta)`, or `(data, ack, meta)` when the server asked for a reply. */
  on<T = any>(event: string, fn: EventListener<T> | AckListener<T>): this;
  once<E extends keyof LifecycleEvents>(event: E, fn: LifecycleEvents[E]): this;
  once<T = any>(event: string, fn: EventListener<T> | AckListener<T>): this;
  /** Without `fn`: every listener of `event`; without arguments: every listener. */
  off(event?: string, fn?: (...args: any[]) => void): this;
  listeners(event: string): Array<(...args: any[]) => void>;

  /**
   * Sends `event` with `data` (JSON). Kept in order while there is no session; retried with
   * the same messageId until the server answers; `ack(err, reply)` once at the end.
   * Bytes anywhere in `data` (`BinaryLike`: `Uint8Array`, `ArrayBuffer`, other views) are
   * sent as bytes; bytes in the reply arrive as `Uint8Array`s (see `Received`).
   */
  emit(event: string, data?: unknown, ack?: AckCallback): this;
  emit(event: string, ack: AckCallback): this;
  /** Like `emit`, as a Promise of the handler's reply (`undefined` when it gave none). */
  emitWithAck<R = any>(event: string, data?: unknown, options?: { timeout?: number }): Promise<R>;

  /** Opens the socket (after `disconnect()`, or with `autoConnect: false`). */
  connect(): this;
  /** Ends the session: queued emits are sent once each, then POST /disconnect. */
  disconnect(): this;
  /** Same as disconnect(). */
  close(): this;
}

/** Opens a socket to the socket-serve API at base URL `url`; returns at once. */
export function connect(url: string, options?: ConnectOptions): Socket;
export default connect;

/** Names of the lifecycle events. */
export const lifecycleEvents: Array<keyof LifecycleEvents>;

/** Incremental `text/event-stream` parser (used inside; exported for tests and tools). */
export class SseParser {
  constructor(
    onFrame: (frame: { id: string | null; data: string | null; event: string; retry: number | null }) => void,
    onComment?: (text: string) => void,
  );
  /** The last `id:` of a dispatched block ("" before any). */
  lastEventId: string;
  push(text: string): void;
  end(): void;
}

/** Full-jitter exponential backoff: a delay in [0, min(cap, base * 2^attempt)). */
export function backoffDelay(attempt: number, base?: number, cap?: number, random?: () => number): number;
/** `[ms, seq]` of a cursor, or null. */
export function parseCursor(cursor: string): [number, number] | null;
/** Order of two cursors (negative, 0, positive), NaN when either cannot be parsed. */
export function compareCursors(a: string, b: string): number;

/** The one key of a binary marker object: `{"__ssbin": "<base64>"}` stands for bytes. */
export const BINARY_MARKER: "__ssbin";
/**
 * The JSON value `emit` sends for `value`: every `BinaryLike`, however deep, replaced by
 * `{"__ssbin": "<base64 of its bytes>"}`; the rest as `JSON.stringify` makes it
 * (`undefined` for `undefined`). The socket does this itself; exported for tests and tools.
 */
export function encodeBinary(value: unknown): Json | undefined;
/**
 * `value` with every marker object, however deep, replaced by a `Uint8Array` of its bytes,
 * changing arrays and objects in place (and returning the `Uint8Array` for a marker at the
 * top). Objects with the marker key and other keys, or invalid base64, stay as they are.
 * The socket does this itself for events, acks and `emitWithAck` replies.
 */
export function decodeBinary<T = Received>(value: unknown): T;
