//! The engine: the handler registry, the [`Socket`] handle, and the connect / message /
//! disconnect flows, all on top of a [`Store`](crate::store::Store).

mod ack;
pub(crate) mod emit;
mod emitter;
mod handlers;
mod handshake;
mod ids;
pub(crate) mod lifecycle;
mod presence;
mod request;
mod socket;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::watch;

pub use emit::{BroadcastOperator, RoomEmitter};
pub use emitter::{Emitter, RemoteSocket, SessionEmitter};
pub use handlers::{Ack, HandlerOutput, IntoAck};
pub use handshake::Handshake;
pub use presence::{
    Presence, PresenceMember, PresencePage, MAX_PAGE, PRESENCE_JOIN, PRESENCE_LEAVE,
    PRESENCE_UPDATE,
};
pub use request::RequestInfo;
pub use socket::Socket;

pub(crate) use ack::reply as ack_reply;
pub(crate) use ack::ClientWaits;
#[cfg(feature = "redis")]
pub(crate) use ids::new_instance_id;
pub(crate) use ids::{is_session_id, new_public_id};
pub(crate) use lifecycle::MessageInput;

use crate::config::{Config, StoreConfig};
use crate::error::Error;
use crate::store::{DynStore, MemoryStore, Store};
use handlers::{LifecycleHandler, MessageHandler};

/// The server: register handlers on it, emit from anywhere, and mount it with
/// [`SocketServe::router`] (axum) or [`SocketServe::service`] (any tower host).
///
/// Cloning is cheap; every clone is the same server.
///
/// ```
/// use serde::Deserialize;
/// use serde_json::json;
/// use socket_serve::{Config, SocketServe};
///
/// #[derive(Deserialize, serde::Serialize)]
/// struct ChatMsg { text: String }
///
/// let io = SocketServe::new(Config::default()).unwrap();
/// io.on_connect(|socket| async move {
///     socket.emit("welcome", json!({"id": socket.id()})).await
/// });
/// io.on_message("chat", |socket, msg: ChatMsg| async move {
///     socket.broadcast("chat", &msg).await
/// });
/// io.on_disconnect(|socket| async move {
///     tracing::info!(id = socket.id(), "left");
/// });
/// let app: axum::Router = axum::Router::new().nest("/socket", io.router());
/// # let _ = app;
/// ```
#[derive(Clone)]
pub struct SocketServe {
    pub(crate) engine: Arc<Engine>,
}

pub(crate) struct Engine {
    pub(crate) config: Config,
    pub(crate) store: DynStore,
    handlers: RwLock<Arc<Handlers>>,
    /// The app's state values, by type ([`SocketServe::with_state`]).
    app_state: RwLock<Arc<http::Extensions>>,
    pub(crate) last_sweep_ms: AtomicU64,
    shutdown: watch::Sender<bool>,
    pub(crate) ticker_running: AtomicBool,
    /// Whether the background sweep of a long-running server was started.
    pub(crate) sweeper_started: AtomicBool,
    /// Streams open on this instance (the heartbeat ticker runs while there are any).
    pub(crate) open_streams: AtomicUsize,
}

#[derive(Default, Clone)]
pub(crate) struct Handlers {
    pub(crate) authorize: Option<handshake::Authorizer>,
    pub(crate) connect: Option<LifecycleHandler>,
    pub(crate) disconnect: Option<LifecycleHandler>,
    pub(crate) messages: HashMap<String, MessageHandler>,
    pub(crate) any: Option<handlers::AnyHandler>,
}

impl SocketServe {
    /// A server on the store the config names (memory by default). Connecting to Redis
    /// happens on the first request, not here: start-up stays cheap.
    ///
    /// ```
    /// let io = socket_serve::SocketServe::new(socket_serve::Config::default()).unwrap();
    /// # let _ = io;
    /// ```
    pub fn new(config: Config) -> Result<SocketServe, Error> {
        let store: DynStore = match &config.store {
            StoreConfig::Memory => {
                Arc::new(MemoryStore::new(config.session_ttl, config.recovery_window))
            }
            #[cfg(feature = "redis")]
            StoreConfig::Redis(url) => Arc::new(crate::store::redis::RedisStore::open(
                url,
                crate::store::redis::RedisOptions::from_config(&config),
            )?),
            #[cfg(not(feature = "redis"))]
            StoreConfig::Redis(_) => {
                return Err(Error::Config(
                    "REDIS_URL is set but socket-serve was built without the `redis` feature"
                        .into(),
                ))
            }
        };
        Ok(Self::with_store(config, store))
    }

    /// A server on a store of your own (or a [`MemoryStore`] shared with a test).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use socket_serve::{store::MemoryStore, Config, SocketServe};
    ///
    /// let config = Config::default();
    /// let store = MemoryStore::new(config.session_ttl, config.recovery_window);
    /// let io = SocketServe::with_store(config, Arc::new(store));
    /// # let _ = io;
    /// ```
    pub fn with_store(config: Config, store: Arc<dyn Store>) -> SocketServe {
        let (shutdown, _) = watch::channel(false);
        SocketServe {
            engine: Arc::new(Engine {
                config,
                store,
                handlers: RwLock::new(Arc::new(Handlers::default())),
                app_state: RwLock::default(),
                last_sweep_ms: AtomicU64::new(0),
                shutdown,
                ticker_running: AtomicBool::new(false),
                sweeper_started: AtomicBool::new(false),
                open_streams: AtomicUsize::new(0),
            }),
        }
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &Config {
        &self.engine.config
    }

    /// How many SSE streams this instance serves right now (a gauge for metrics). A stream
    /// counts until it has ended and freed its slot of
    /// [`Config::max_streams_per_session`].
    ///
    /// ```
    /// let io = socket_serve::SocketServe::new(socket_serve::Config::default()).unwrap();
    /// assert_eq!(io.open_streams(), 0);
    /// ```
    pub fn open_streams(&self) -> usize {
        self.engine.open_streams.load(Ordering::Acquire)
    }

    /// Gives every handler `state` (a database pool, a client, settings): handlers read it
    /// with [`Socket::state`], by its type, with no cloning into each closure. One value per
    /// type; setting a type again replaces it. Wrap what is not cheap to clone in an `Arc`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use socket_serve::{HandlerResult, Socket};
    ///
    /// struct Db { greeting: String }
    ///
    /// async fn hello(socket: Socket, _: serde_json::Value) -> HandlerResult {
    ///     let db = socket.state::<Arc<Db>>().expect("set at start-up");
    ///     socket.emit("hello", &db.greeting).await?;
    ///     Ok(())
    /// }
    ///
    /// let io = socket_serve::SocketServe::new(Default::default()).unwrap();
    /// io.with_state(Arc::new(Db { greeting: "hi".into() }));
    /// io.on_message("hello", hello);
    /// ```
    pub fn with_state<T: Clone + Send + Sync + 'static>(&self, state: T) -> &Self {
        let mut guard = self
            .engine
            .app_state
            .write()
            .unwrap_or_else(|e| e.into_inner());
        let mut values = http::Extensions::clone(&guard);
        values.insert(state);
        *guard = Arc::new(values);
        self
    }

    /// Runs `f` on every `/connect` before a session exists: `Err` refuses it with the
    /// error's status and code ([`HandlerError::unauthorized`](crate::HandlerError::unauthorized)
    /// 401, [`HandlerError::forbidden`](crate::HandlerError::forbidden) 403) and nothing is
    /// stored; `Ok(data)` accepts it, and `data` becomes the session's data, which every
    /// handler of the session reads with [`Socket::data`] at no extra cost. Use it for
    /// cookie sessions and bearer tokens. Registering again replaces it.
    ///
    /// ```
    /// use socket_serve::{HandlerError, Handshake, HandlerResult, Socket};
    ///
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct User { name: String }
    ///
    /// async fn authorize(handshake: Handshake) -> Result<User, HandlerError> {
    ///     let name = handshake.request().cookie("user")
    ///         .ok_or_else(|| HandlerError::unauthorized("log in first"))?;
    ///     Ok(User { name })
    /// }
    ///
    /// async fn hello(socket: Socket, _: serde_json::Value) -> HandlerResult {
    ///     let user: User = socket.data()?.expect("set by authorize");
    ///     socket.emit("hello", format!("hi {}", user.name)).await?;
    ///     Ok(())
    /// }
    ///
    /// let io = socket_serve::SocketServe::new(Default::default()).unwrap();
    /// io.authorize(authorize);
    /// io.on_message("hello", hello);
    /// ```
    pub fn authorize<F, Fut, T>(&self, f: F) -> &Self
    where
        F: Fn(Handshake) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, crate::HandlerError>> + Send + 'static,
        T: Serialize + 'static,
    {
        let authorizer = handshake::authorizer(f);
        self.engine
            .update_handlers(|h| h.authorize = Some(authorizer));
        self
    }

    /// Runs `f` for every new session, inside its `/connect` request, before the answer.
    /// What it emits is stored before the client gets its session id. Returning an error
    /// refuses the connection (see [`HandlerError::reject`](crate::HandlerError::reject)).
    ///
    /// ```
    /// # let io = socket_serve::SocketServe::new(Default::default()).unwrap();
    /// io.on_connect(|socket| async move {
    ///     socket.emit("welcome", serde_json::json!({"id": socket.id()})).await
    /// });
    /// ```
    pub fn on_connect<F, Fut, O>(&self, f: F) -> &Self
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: HandlerOutput<()> + 'static,
    {
        let handler = handlers::lifecycle(f);
        self.engine.update_handlers(|h| h.connect = Some(handler));
        self
    }

    /// Runs `f` for each client emit of `event`, inside its `/message` request. The payload
    /// is deserialized into `T` (`serde_json::Value` takes anything); a payload that does
    /// not fit answers 400 and `f` does not run. What `f` returns on success becomes the
    /// emit's ack (see [`IntoAck`]).
    ///
    /// ```
    /// use socket_serve::Ack;
    /// # let io = socket_serve::SocketServe::new(Default::default()).unwrap();
    /// io.on_message("add", |_socket, (a, b): (i64, i64)| async move {
    ///     Ok::<_, socket_serve::Error>(Ack(a + b))
    /// });
    /// ```
    pub fn on_message<T, F, Fut, O, R>(&self, event: &str, f: F) -> &Self
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(Socket, T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: HandlerOutput<R> + 'static,
        R: IntoAck + 'static,
    {
        let handler = handlers::message(event, f);
        self.engine.update_handlers(|h| {
            h.messages.insert(event.to_owned(), handler);
        });
        self
    }

    /// Runs `f` for client emits of events that have no handler of their own: it gets the
    /// event name and the raw payload, and its result is the ack, as for
    /// [`on_message`](Self::on_message). Without it such events are answered 200 with no
    /// ack and logged at `warn` (or refused with 404 `unknown_event` under
    /// [`Config::strict_events`]).
    ///
    /// ```
    /// use socket_serve::{HandlerResult, Socket};
    ///
    /// async fn relay(socket: Socket, event: String, data: serde_json::Value) -> HandlerResult {
    ///     socket.broadcast(&event, data).await?;
    ///     Ok(())
    /// }
    /// let io = socket_serve::SocketServe::new(Default::default()).unwrap();
    /// io.on_any(relay);
    /// ```
    pub fn on_any<F, Fut, O, R>(&self, f: F) -> &Self
    where
        F: Fn(Socket, String, serde_json::Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: HandlerOutput<R> + 'static,
        R: IntoAck + 'static,
    {
        let handler = handlers::any(f);
        self.engine.update_handlers(|h| h.any = Some(handler));
        self
    }

    /// Runs `f` once when a session ends: the client disconnected, the server called
    /// [`Socket::disconnect`], or the session expired. Its state and rooms are still
    /// readable inside `f`; they are deleted after it.
    ///
    /// ```
    /// # let io = socket_serve::SocketServe::new(Default::default()).unwrap();
    /// io.on_disconnect(|socket| async move {
    ///     let _ = socket.broadcast("left", serde_json::json!({"id": socket.id()})).await;
    /// });
    /// ```
    pub fn on_disconnect<F, Fut, O>(&self, f: F) -> &Self
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: HandlerOutput<()> + 'static,
    {
        let handler = handlers::lifecycle(f);
        self.engine
            .update_handlers(|h| h.disconnect = Some(handler));
        self
    }

    /// Sends `event` to every session.
    ///
    /// ```
    /// # async fn f(io: socket_serve::SocketServe) -> Result<(), socket_serve::Error> {
    /// io.emit("announcement", serde_json::json!({"text": "deploying"})).await?;
    /// # Ok(()) }
    /// ```
    pub async fn emit<T: Serialize>(&self, event: &str, data: T) -> Result<(), Error> {
        emit::broadcast(&self.engine, None, event, &data).await
    }

    /// Sends to the members of a room.
    ///
    /// ```
    /// # async fn f(io: socket_serve::SocketServe) -> Result<(), socket_serve::Error> {
    /// io.to("lobby").emit("tick", &1).await?;
    /// # Ok(()) }
    /// ```
    pub fn to(&self, room: &str) -> BroadcastOperator {
        BroadcastOperator::new(self.engine.clone(), Some(room), None)
    }

    /// Sends to everyone but the members of a room, or but one session by its public id
    /// (chain more `except`s, or `to` for rooms only).
    ///
    /// ```
    /// # async fn f(io: socket_serve::SocketServe) -> Result<(), socket_serve::Error> {
    /// io.except("banned").emit("news", "hello").await?;
    /// # Ok(()) }
    /// ```
    pub fn except(&self, room_or_id: &str) -> BroadcastOperator {
        BroadcastOperator::new(self.engine.clone(), None, None).except(room_or_id)
    }

    /// A volatile emit to everyone (or, chained with `to`, to rooms): not logged, not
    /// replayed, only for the clients connected now.
    ///
    /// ```
    /// # async fn f(io: socket_serve::SocketServe) -> Result<(), socket_serve::Error> {
    /// io.volatile().emit("load", 0.42).await?;
    /// # Ok(()) }
    /// ```
    pub fn volatile(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.engine.clone(), None, None).volatile()
    }

    /// Public ids of the sessions in a room.
    ///
    /// ```
    /// # async fn f(io: socket_serve::SocketServe) -> Result<(), socket_serve::Error> {
    /// let who: Vec<String> = io.room_members("lobby").await?;
    /// # Ok(()) }
    /// ```
    pub async fn room_members(&self, room: &str) -> Result<Vec<String>, Error> {
        emit::validate_room(room)?;
        Ok(self.engine.store.room_members(room).await?)
    }

    /// Starts a graceful shutdown: open streams end with a `retry:` hint (their clients
    /// resume on another instance) and long-polls answer at once. Pair it with your HTTP
    /// server's graceful shutdown, or use [`SocketServe::shutdown_on`].
    pub fn begin_shutdown(&self) {
        self.engine.shutdown.send_replace(true);
    }

    /// A future for `axum::serve(..).with_graceful_shutdown(..)`: waits for `signal`,
    /// then [`begin_shutdown`](Self::begin_shutdown).
    ///
    /// ```no_run
    /// # async fn f(io: socket_serve::SocketServe, listener: tokio::net::TcpListener) {
    /// let app = axum::Router::new().nest("/socket", io.router());
    /// axum::serve(listener, app)
    ///     .with_graceful_shutdown(io.shutdown_on(socket_serve::shutdown_signal()))
    ///     .await
    ///     .unwrap();
    /// # }
    /// ```
    pub fn shutdown_on(
        &self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> impl Future<Output = ()> + Send + 'static {
        let io = self.clone();
        async move {
            signal.await;
            io.begin_shutdown();
        }
    }

    /// Runs the expiry sweep now: ends expired sessions, `sweep_batch` at a time, until
    /// none is left or `sweep_interval` has passed; returns how many. It also runs by itself, at most once per
    /// `sweep_interval`: on a long-running server ([`Platform::Server`](crate::Platform))
    /// in the background from the first request on, until shutdown; on serverless
    /// platforms inside requests.
    pub async fn sweep_expired(&self) -> Result<usize, Error> {
        let (ended, _) = lifecycle::sweep(&self.engine, self.engine.config.sweep_interval).await?;
        Ok(ended)
    }
}

impl Engine {
    /// The handlers as registered now (a cheap snapshot: registration copies, requests don't).
    pub(crate) fn handlers(&self) -> Arc<Handlers> {
        self.handlers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn update_handlers(&self, f: impl FnOnce(&mut Handlers)) {
        let mut guard = self.handlers.write().unwrap_or_else(|e| e.into_inner());
        let mut handlers = Handlers::clone(&guard);
        f(&mut handlers);
        *guard = Arc::new(handlers);
    }

    /// The app's state values as set now (a cheap snapshot).
    pub(crate) fn app_state(&self) -> Arc<http::Extensions> {
        self.app_state
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn shutdown_watch(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }
}

/// Resolves on SIGTERM or Ctrl-C: the signals a platform sends before it stops an
/// instance.
///
/// ```no_run
/// # async fn f() {
/// socket_serve::shutdown_signal().await;
/// # }
/// ```
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
