//! The client handle and the state its background tasks share.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use socket_serve_protocol::validate_event_name;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::ack::AckHandle;
use crate::event::{ClientEvent, DisconnectReason, EventStream, Message};
use crate::outbox::{Delivery, Outbox, Pending};
use crate::raw::Api;
use crate::{ClientOptions, Error, Transport};

/// The identity of the session the client currently has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Creds {
    pub(crate) session_id: String,
    pub(crate) public_id: String,
}

/// What the tasks and the handle agree on; watched by whoever waits for a change.
#[derive(Debug, Clone)]
pub(crate) struct State {
    pub(crate) session: Option<Creds>,
    pub(crate) connected: bool,
    pub(crate) recovered: bool,
    pub(crate) transport: Transport,
    pub(crate) closed: bool,
    /// Why the client closed, when an error closed it (a rejected connect, attempts used up).
    pub(crate) close_error: Option<Error>,
    /// The last connect attempt's rejection ([`Error::Rejected`]), until a session exists.
    pub(crate) rejection: Option<Error>,
}

impl State {
    /// The error for an operation on the closed client: the one that closed it, or
    /// [`Error::Closed`].
    pub(crate) fn closed_error(&self) -> Error {
        self.close_error.clone().unwrap_or(Error::Closed)
    }
}

type Handler = Arc<dyn Fn(&Message) -> Result<(), Error> + Send + Sync>;

#[derive(Default)]
struct Subscribers {
    list: Vec<mpsc::UnboundedSender<ClientEvent>>,
    closed: bool,
}

/// Everything the handle and the two background tasks (the connection driver and the
/// sender) share.
pub(crate) struct Shared {
    pub(crate) api: Api,
    pub(crate) options: ClientOptions,
    pub(crate) state: watch::Sender<State>,
    pub(crate) outbox: Outbox,
    outbox_rx: Mutex<Option<mpsc::UnboundedReceiver<Pending>>>,
    /// The sender reports a session the server called unknown; the driver replaces it.
    pub(crate) unknown_tx: mpsc::UnboundedSender<String>,
    unknown_rx: Mutex<Option<mpsc::UnboundedReceiver<String>>>,
    handlers: Mutex<HashMap<String, Vec<Handler>>>,
    subscribers: Mutex<Subscribers>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// Locks a mutex, also after a panic of another holder (the data stays consistent: every
/// critical section here is a plain assignment or push).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    /// Sends a lifecycle or error event to every subscriber.
    pub(crate) fn emit_event(&self, event: ClientEvent) {
        let mut subs = lock(&self.subscribers);
        if subs.closed {
            return;
        }
        subs.list.retain(|tx| tx.send(event.clone()).is_ok());
    }

    /// Hands a server message to the subscribers and to the handlers of its event.
    pub(crate) fn dispatch_message(&self, message: Message) {
        if self.is_closed() {
            return;
        }
        let handlers: Vec<Handler> = lock(&self.handlers)
            .get(&message.event)
            .cloned()
            .unwrap_or_default();
        for handler in handlers {
            match catch_unwind(AssertUnwindSafe(|| handler(&message))) {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::warn!(event = %message.event, %error, "handler could not take the message");
                    self.emit_event(ClientEvent::Error { error });
                }
                Err(_) => tracing::error!(event = %message.event, "a handler panicked"),
            }
        }
        self.emit_event(ClientEvent::Message(message));
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.borrow().closed
    }

    /// The error for an operation on the closed client (see [`State::closed_error`]).
    pub(crate) fn closed_error(&self) -> Error {
        self.state.borrow().closed_error()
    }

    /// Closes the client for good: stops the tasks, fails pending emits with
    /// [`Error::Closed`], reports `Disconnect { reason }` if it was connected, and ends every
    /// event stream. `error` is what closed it, if an error did: later `open`, `emit` and
    /// `wait_connected` calls return it. Returns the session it had, or `None` when it was
    /// already closed.
    pub(crate) fn close(
        &self,
        reason: DisconnectReason,
        error: Option<Error>,
    ) -> Option<Option<Creds>> {
        let mut before = None;
        self.state.send_if_modified(|s| {
            if s.closed {
                return false;
            }
            before = Some((s.session.clone(), s.connected));
            s.closed = true;
            s.connected = false;
            s.close_error = error;
            true
        });
        let (session, was_connected) = before?;
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
        drop(lock(&self.outbox_rx).take());
        if was_connected {
            self.emit_event(ClientEvent::Disconnect { reason });
        }
        let mut subs = lock(&self.subscribers);
        subs.closed = true;
        subs.list.clear();
        drop(subs);
        lock(&self.handlers).clear();
        Some(session)
    }
}

/// Stops the background tasks when the last [`Client`] clone is dropped.
struct Owner(Arc<Shared>);

impl Drop for Owner {
    fn drop(&mut self) {
        for task in lock(&self.0.tasks).drain(..) {
            task.abort();
        }
        self.0.state.send_modify(|s| {
            s.closed = true;
            s.connected = false;
        });
    }
}

/// A connection to a socket-serve server: one session, kept alive across network failures.
///
/// Create it with [`connect`](crate::connect) (starts at once) or [`Client::new`] +
/// [`open`](Client::open) (register handlers first). All methods take `&self`; clones share
/// the same connection. When the last clone is dropped the background tasks stop (the
/// server session then expires by itself; call [`disconnect`](Client::disconnect) to end it
/// at once).
///
/// ```no_run
/// # async fn run() -> Result<(), socket_serve_client::Error> {
/// use std::time::Duration;
/// use socket_serve_client::{Client, ClientOptions};
/// use serde::Deserialize;
/// use serde_json::json;
///
/// #[derive(Deserialize)]
/// struct Chat { from: String, text: String }
///
/// let client = Client::new("http://127.0.0.1:3000/socket", ClientOptions::default())?;
/// client.on("chat", |msg: Chat| println!("{}: {}", msg.from, msg.text));
/// client.open()?;
///
/// client.emit("chat", json!({"text": "hello"}))?;
/// let echoed = client.emit_with_ack::<Vec<u32>>("echo", json!([1, 2])).await?;
/// assert_eq!(echoed, [1, 2]);
/// client.wait_connected(Duration::from_secs(5)).await?;
/// client.disconnect().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    _owner: Arc<Owner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.shared.state.borrow();
        f.debug_struct("Client")
            .field("base", &self.shared.api.base_url().as_str())
            .field("id", &state.session.as_ref().map(|c| c.public_id.as_str()))
            .field("connected", &state.connected)
            .field("closed", &state.closed)
            .finish()
    }
}

impl Client {
    /// A client for the server whose endpoints live under `url` (e.g.
    /// `http://127.0.0.1:3000/socket`), not started yet: register handlers, subscribe to
    /// events, even emit (buffered), then call [`open`](Self::open).
    ///
    /// Fails only on a bad URL or bad options; nothing is sent yet.
    ///
    /// ```
    /// use socket_serve_client::{Client, ClientOptions};
    /// let client = Client::new("http://127.0.0.1:3000/socket", ClientOptions::default()).unwrap();
    /// assert!(!client.connected());
    /// assert!(Client::new("nope", ClientOptions::default()).is_err());
    /// ```
    pub fn new(url: &str, options: ClientOptions) -> Result<Client, Error> {
        let api = Api::with_options(url, &options)?;
        let (outbox, outbox_rx) = Outbox::new(options.max_buffered);
        let (unknown_tx, unknown_rx) = mpsc::unbounded_channel();
        let transport = match options.transport {
            Transport::Polling => Transport::Polling,
            Transport::Auto | Transport::Sse => Transport::Sse,
        };
        let (state, _) = watch::channel(State {
            session: None,
            connected: false,
            recovered: false,
            transport,
            closed: false,
            close_error: None,
            rejection: None,
        });
        let shared = Arc::new(Shared {
            api,
            options,
            state,
            outbox,
            outbox_rx: Mutex::new(Some(outbox_rx)),
            unknown_tx,
            unknown_rx: Mutex::new(Some(unknown_rx)),
            handlers: Mutex::new(HashMap::new()),
            subscribers: Mutex::new(Subscribers::default()),
            tasks: Mutex::new(Vec::new()),
        });
        Ok(Client {
            _owner: Arc::new(Owner(Arc::clone(&shared))),
            shared,
        })
    }

    /// Starts connecting in the background (returns at once). Calling it again does nothing.
    /// Must be called inside a Tokio runtime ([`Error::NoRuntime`] otherwise).
    ///
    /// On a closed client it fails: with the error that closed it, such as the
    /// [`Error::Rejected`] of a refused connect (status, code and the server's message), or
    /// with [`Error::Closed`] after [`disconnect`](Self::disconnect). To learn whether the
    /// connection is accepted, await [`wait_connected`](Self::wait_connected).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), socket_serve_client::Error> {
    /// use std::time::Duration;
    /// use socket_serve_client::Error;
    ///
    /// let client = socket_serve_client::Client::new("http://127.0.0.1:3000/socket", Default::default())?;
    /// client.on("welcome", |w: serde_json::Value| println!("{w}"));
    /// client.open()?;
    /// match client.wait_connected(Duration::from_secs(5)).await {
    ///     Ok(()) => println!("in"),
    ///     Err(Error::Rejected { status, code, message, .. }) => {
    ///         eprintln!("refused ({status} {code:?}): {message}");
    ///         assert!(client.open().is_err()); // the same rejection again
    ///     }
    ///     Err(other) => eprintln!("no connection: {other}"),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn open(&self) -> Result<(), Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        if self.shared.is_closed() {
            return Err(self.shared.closed_error());
        }
        let outbox_rx = lock(&self.shared.outbox_rx).take();
        let unknown_rx = lock(&self.shared.unknown_rx).take();
        let (Some(outbox_rx), Some(unknown_rx)) = (outbox_rx, unknown_rx) else {
            return Ok(()); // already open
        };
        let driver = crate::driver::Driver::new(Arc::clone(&self.shared), unknown_rx);
        let mut tasks = lock(&self.shared.tasks);
        tasks.push(runtime.spawn(driver.run()));
        tasks.push(runtime.spawn(crate::sender::run(Arc::clone(&self.shared), outbox_rx)));
        Ok(())
    }

    /// The session's public id (the `id` other clients see as `from`), once a session exists.
    ///
    /// ```no_run
    /// # async fn run(client: socket_serve_client::Client) -> Result<(), socket_serve_client::Error> {
    /// client.wait_connected(std::time::Duration::from_secs(5)).await?;
    /// println!("others see me as {}", client.id().unwrap_or_default());
    /// # Ok(()) }
    /// ```
    pub fn id(&self) -> Option<String> {
        self.shared
            .state
            .borrow()
            .session
            .as_ref()
            .map(|c| c.public_id.clone())
    }

    /// Whether the client is connected now (between a `Connect` and a `Disconnect` event).
    ///
    /// ```
    /// let client = socket_serve_client::Client::new("http://127.0.0.1:3000/socket", Default::default()).unwrap();
    /// assert!(!client.connected()); // not opened yet
    /// ```
    pub fn connected(&self) -> bool {
        self.shared.state.borrow().connected
    }

    /// Whether the last connection recovered everything since the one before (see
    /// [`ClientEvent::Connect`]). `false` before the first connection and for new sessions.
    ///
    /// ```no_run
    /// # fn run(client: socket_serve_client::Client) {
    /// if client.connected() && !client.recovered() {
    ///     // A new session, or messages were lost: rebuild the state (join rooms again...).
    ///     client.emit("join", serde_json::json!({"room": "lobby"})).ok();
    /// }
    /// # }
    /// ```
    pub fn recovered(&self) -> bool {
        self.shared.state.borrow().recovered
    }

    /// The transport in use: [`Transport::Sse`] or [`Transport::Polling`] (after a fallback).
    ///
    /// ```
    /// use socket_serve_client::{Client, ClientOptions, Transport};
    /// let client = Client::new("http://127.0.0.1:3000/socket", ClientOptions::default()).unwrap();
    /// assert_eq!(client.transport(), Transport::Sse); // Auto starts with SSE
    /// ```
    pub fn transport(&self) -> Transport {
        self.shared.state.borrow().transport
    }

    /// Whether the client is closed for good (after `disconnect()`, a server disconnect, or
    /// when it gave up connecting).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let client = socket_serve_client::Client::new("http://127.0.0.1:3000/socket", Default::default()).unwrap();
    /// client.disconnect().await; // never opened: nothing is sent
    /// assert!(client.is_closed());
    /// # }
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// How many emits are buffered or in flight.
    ///
    /// ```
    /// let client = socket_serve_client::Client::new("http://127.0.0.1:3000/socket", Default::default()).unwrap();
    /// client.emit("chat", serde_json::json!({"text": "queued"})).unwrap();
    /// assert_eq!(client.buffered(), 1); // not opened: waiting
    /// ```
    pub fn buffered(&self) -> usize {
        self.shared.outbox.len()
    }

    /// Waits until the client is connected, for at most `timeout`.
    ///
    /// Fails with
    /// - [`Error::Rejected`] (status, code, the server's message) when the server refused
    ///   the connection: at once for a 4xx, which closes the client; for a 5xx, which the
    ///   client keeps retrying, when `timeout` passes with the last attempt refused;
    /// - the error that closed the client, if one did (the last one when
    ///   [`reconnect_attempts`](ClientOptions::reconnect_attempts) are used up), or
    ///   [`Error::Closed`] if it was closed otherwise;
    /// - [`Error::Timeout`] when `timeout` passes for any other reason.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), socket_serve_client::Error> {
    /// use std::time::Duration;
    /// let client = socket_serve_client::connect("http://127.0.0.1:3000/socket", Default::default())?;
    /// if let Err(e) = client.wait_connected(Duration::from_secs(5)).await {
    ///     // e.g. "connect rejected: server answered 401 unauthorized: log in first"
    ///     eprintln!("{e} (status {:?}, code {:?})", e.status(), e.code());
    ///     return Err(e);
    /// }
    /// println!("connected as {:?}", client.id());
    /// # Ok(()) }
    /// ```
    pub async fn wait_connected(&self, timeout: Duration) -> Result<(), Error> {
        let mut rx = self.shared.state.subscribe();
        let wait = async {
            match rx.wait_for(|s| s.connected || s.closed).await {
                Ok(s) if s.connected => Ok(()),
                Ok(s) => Err(s.closed_error()),
                Err(_) => Err(Error::Closed),
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(result) => result,
            Err(_) => Err(self
                .shared
                .state
                .borrow()
                .rejection
                .clone()
                .unwrap_or(Error::Timeout(timeout))),
        }
    }

    /// Calls `handler` with the payload of every `event` message, decoded as a `T`.
    ///
    /// A payload that does not decode as `T` does not reach the handler: it is logged
    /// (`tracing`, warn) and reported as [`ClientEvent::Error`] with an [`Error::Payload`].
    /// Handlers run on the client's task, in order: keep them short (spawn for long work).
    /// A handler that captures a clone of the client keeps it alive until
    /// [`disconnect`](Self::disconnect).
    ///
    /// ```no_run
    /// # fn run(client: socket_serve_client::Client) {
    /// #[derive(serde::Deserialize)]
    /// struct Welcome { id: String }
    /// client.on("welcome", |w: Welcome| println!("I am {}", w.id));
    /// client.on("tick", |n: u64| println!("tick {n}"));
    /// client.on("anything", |v: serde_json::Value| println!("{v}"));
    /// # }
    /// ```
    pub fn on<T, F>(&self, event: &str, handler: F)
    where
        T: DeserializeOwned + 'static,
        F: Fn(T) + Send + Sync + 'static,
    {
        self.add_handler(
            event,
            Arc::new(move |m: &Message| {
                handler(m.decode::<T>()?);
                Ok(())
            }),
        );
    }

    /// Calls `handler` with every `event` message, whole: payload, sender (`from`), room,
    /// timestamp, cursor.
    ///
    /// ```no_run
    /// # fn run(client: socket_serve_client::Client) {
    /// client.on_message("say", |m| println!("[{:?}] {:?}: {}", m.room, m.from, m.data));
    /// # }
    /// ```
    pub fn on_message<F>(&self, event: &str, handler: F)
    where
        F: Fn(&Message) + Send + Sync + 'static,
    {
        self.add_handler(
            event,
            Arc::new(move |m: &Message| {
                handler(m);
                Ok(())
            }),
        );
    }

    /// Calls `handler` with the payload of every `event` message, decoded as a `T`, and
    /// an [`AckHandle`] to answer a server that waits for a reply (its `emit_with_ack`).
    /// Messages of `event` that do not ask for a reply reach the handler too; their handle
    /// sends nothing.
    ///
    /// ```no_run
    /// # fn run(client: socket_serve_client::Client) {
    /// client.on_with_ack("question", |q: serde_json::Value, ack| {
    ///     ack.send(serde_json::json!({"answer": 42, "to": q}));
    /// });
    /// # }
    /// ```
    pub fn on_with_ack<T, F>(&self, event: &str, handler: F)
    where
        T: DeserializeOwned + 'static,
        F: Fn(T, AckHandle) + Send + Sync + 'static,
    {
        let shared = Arc::downgrade(&self.shared);
        self.add_handler(
            event,
            Arc::new(move |m: &Message| {
                let data = m.decode::<T>()?;
                let Some(shared) = shared.upgrade() else {
                    return Ok(());
                };
                let session = shared.state.borrow().session.clone();
                let session_id = session.map(|c| c.session_id).unwrap_or_default();
                let ack_id = m.ack_id.clone().unwrap_or_default();
                let handle = AckHandle::new(&shared, session_id, ack_id);
                handler(data, handle.only_if_asked());
                Ok(())
            }),
        );
    }

    /// Replies to `message`, a server emit that waits for one ([`Message::ack_id`]), and
    /// waits until the server has it (retried on network errors and 5xx). A message that
    /// asked for nothing needs no reply: `Ok(())` at once.
    ///
    /// ```no_run
    /// # async fn run(client: socket_serve_client::Client) -> Result<(), socket_serve_client::Error> {
    /// use futures_util::StreamExt;
    /// use socket_serve_client::ClientEvent;
    /// let mut events = client.events();
    /// while let Some(ClientEvent::Message(m)) = events.next().await {
    ///     client.ack(&m, "got it").await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn ack(&self, message: &Message, reply: impl Serialize) -> Result<(), Error> {
        let Some(ack_id) = message.ack_id.clone() else {
            return Ok(());
        };
        let data = serde_json::to_value(reply).map_err(|e| Error::Serialize(e.to_string()))?;
        let session = self.shared.state.borrow().session.clone();
        let session = session.ok_or_else(|| self.shared.closed_error())?;
        crate::ack::post(&self.shared, session.session_id, ack_id, data).await
    }

    /// Removes every handler of `event`.
    ///
    /// ```
    /// let client = socket_serve_client::Client::new("http://127.0.0.1:3000/socket", Default::default()).unwrap();
    /// client.on("tick", |n: u64| println!("{n}"));
    /// client.off("tick");
    /// ```
    pub fn off(&self, event: &str) {
        lock(&self.shared.handlers).remove(event);
    }

    fn add_handler(&self, event: &str, handler: Handler) {
        if self.shared.is_closed() {
            return;
        }
        lock(&self.shared.handlers)
            .entry(event.to_owned())
            .or_default()
            .push(handler);
    }

    /// A stream of everything that happens from now on: messages and lifecycle events
    /// ([`ClientEvent`]). Each call makes an independent stream; each gets every event. It
    /// ends when the client is closed. Events wait in the stream until read (unbounded): drop
    /// a stream you stop reading.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), socket_serve_client::Error> {
    /// use futures_util::StreamExt;
    /// use socket_serve_client::{Client, ClientEvent};
    ///
    /// let client = Client::new("http://127.0.0.1:3000/socket", Default::default())?;
    /// let mut events = client.events(); // before open(): nothing is missed
    /// client.open()?;
    /// while let Some(event) = events.next().await {
    ///     match event {
    ///         ClientEvent::Connect { recovered } => println!("connected, recovered={recovered}"),
    ///         ClientEvent::Message(m) => println!("{}: {}", m.event, m.data),
    ///         other => println!("{other:?}"),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn events(&self) -> EventStream {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut subs = lock(&self.shared.subscribers);
        if !subs.closed {
            subs.list.push(tx);
        }
        EventStream { rx }
    }

    /// Sends `event` with `data` to the server. Returns at once: the emit is buffered (also
    /// before the first connection and while reconnecting) and sent in order, with a unique
    /// `messageId`. A POST that fails on the network or with a 5xx is retried with the same
    /// `messageId` (the server runs the handler once); a 4xx is final. Await the returned
    /// [`Delivery`] to learn the outcome, or drop it.
    ///
    /// Fails at once with [`Error::InvalidEvent`] (reserved or malformed name),
    /// [`Error::Serialize`], [`Error::BufferFull`] or [`Error::Closed`].
    ///
    /// ```no_run
    /// # async fn run(client: socket_serve_client::Client) -> Result<(), socket_serve_client::Error> {
    /// use serde_json::json;
    /// client.emit("join", json!({"room": "lobby"}))?;           // fire and forget
    /// client.emit("say", json!({"room": "lobby", "text": "hi"}))?.await?; // wait for the server
    /// # Ok(()) }
    /// ```
    pub fn emit<D: Serialize>(&self, event: &str, data: D) -> Result<Delivery, Error> {
        validate_event_name(event)?;
        if self.shared.is_closed() {
            return Err(self.shared.closed_error());
        }
        let data: Value =
            serde_json::to_value(data).map_err(|e| Error::Serialize(e.to_string()))?;
        self.shared.outbox.push(event, data)
    }

    /// Sends `event` with `data` and waits for the handler's reply (the POST answer's
    /// `ack`), decoded as an `R`: `client.emit_with_ack::<Reply>("event", data)`, or with the
    /// reply's type inferred from where it goes. Waits at most
    /// [`ClientOptions::ack_timeout`] (30 s by default); see
    /// [`emit_with_ack_timeout`](Self::emit_with_ack_timeout) for another limit.
    ///
    /// A handler that returned no reply counts as the reply `null` (so `R = ()` or
    /// `Option<_>` fit it). Errors: [`Error::Timeout`] (the emit may still be sent later),
    /// [`Error::Payload`] (the reply has another shape), a 4xx [`Error::Status`], or any error
    /// of [`emit`](Self::emit).
    ///
    /// ```no_run
    /// # async fn run(client: socket_serve_client::Client) -> Result<(), socket_serve_client::Error> {
    /// use serde_json::json;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Echo { n: u32 }
    ///
    /// let reply = client.emit_with_ack::<Echo>("echo", json!({"n": 7})).await?;
    /// assert_eq!(reply.n, 7);
    ///
    /// let joined: serde_json::Value = client.emit_with_ack("join", json!({"room": "lobby"})).await?;
    /// # let _ = joined;
    /// # Ok(()) }
    /// ```
    pub async fn emit_with_ack<R>(&self, event: &str, data: impl Serialize) -> Result<R, Error>
    where
        R: DeserializeOwned,
    {
        self.emit_with_ack_timeout(event, data, self.shared.options.ack_timeout)
            .await
    }

    /// [`emit_with_ack`](Self::emit_with_ack), waiting at most `timeout` for the reply.
    ///
    /// ```no_run
    /// # async fn run(client: socket_serve_client::Client) -> Result<(), socket_serve_client::Error> {
    /// use std::time::Duration;
    /// use socket_serve_client::Error;
    ///
    /// match client.emit_with_ack_timeout::<String>("slow", 5000, Duration::from_secs(1)).await {
    ///     Err(Error::Timeout(after)) => println!("no reply within {after:?}"),
    ///     other => println!("{other:?}"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn emit_with_ack_timeout<R>(
        &self,
        event: &str,
        data: impl Serialize,
        timeout: Duration,
    ) -> Result<R, Error>
    where
        R: DeserializeOwned,
    {
        let delivery = self.emit(event, data)?;
        let reply = tokio::time::timeout(timeout, delivery)
            .await
            .map_err(|_| Error::Timeout(timeout))??;
        let reply = reply.unwrap_or(Value::Null);
        R::deserialize(&reply).map_err(|e| Error::payload(event, &e))
    }

    /// Ends the session: stops reconnecting, fails emits not sent yet with
    /// [`Error::Closed`], reports `Disconnect { reason: ClientDisconnect }` (if connected),
    /// ends every event stream, and tells the server (`POST {base}/disconnect`, best effort,
    /// bounded by the request timeout). Calling it again does nothing.
    ///
    /// ```no_run
    /// # async fn run(client: socket_serve_client::Client) {
    /// client.disconnect().await;
    /// assert!(client.is_closed());
    /// # }
    /// ```
    pub async fn disconnect(&self) {
        let Some(Some(session)) = self.shared.close(DisconnectReason::ClientDisconnect, None)
        else {
            return;
        };
        let api = &self.shared.api;
        match tokio::time::timeout(
            self.shared.options.request_timeout,
            api.disconnect(&session.session_id),
        )
        .await
        {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::debug!(%error, "disconnect request failed"),
            Err(_) => tracing::debug!("disconnect request timed out"),
        }
    }
}

/// Creates a client for `url` and starts connecting in the background; returns at once.
///
/// Emits made before the connection is up are buffered. To register handlers or subscribe
/// to events before anything can happen, use [`Client::new`] and [`Client::open`] instead.
/// Must be called inside a Tokio runtime.
///
/// ```no_run
/// # async fn run() -> Result<(), socket_serve_client::Error> {
/// use socket_serve_client::{connect, ClientOptions, Transport};
///
/// let client = connect(
///     "http://127.0.0.1:3000/socket",
///     ClientOptions::default().transport(Transport::Auto),
/// )?;
/// client.on("welcome", |w: serde_json::Value| println!("welcome {w}"));
/// client.emit("chat", serde_json::json!({"text": "hi"}))?;
/// # Ok(()) }
/// ```
pub fn connect(url: &str, options: ClientOptions) -> Result<Client, Error> {
    let client = Client::new(url, options)?;
    client.open()?;
    Ok(client)
}
