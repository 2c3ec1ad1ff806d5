//! An in-process server on a free loopback port, served by `axum::serve` in a task of the
//! test's runtime.

use std::net::SocketAddr;
use std::time::Duration;

use socket_serve::{Config, SocketServe};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{RawClient, TestStore};

/// How long [`TestServer::stop`] lets requests in flight finish.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Where the API is mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    /// `chat::app`-style: `Router::new().nest("/socket", io.router())` (plus the chat page at
    /// `/` when the chat handlers are registered). The default.
    Router,
    /// The bare tower service [`SocketServe::service`] answering every path, as a
    /// serverless catch-all whose base it does not know; the client's base is this path
    /// (e.g. `/api/socket`).
    Service(String),
    /// The tower service [`SocketServe::service_at`] for this base path, answering every
    /// path (404 outside its endpoints).
    ServiceAt(String),
}

/// A socket-serve server running in this process on `127.0.0.1:<free port>`.
///
/// ```no_run
/// use socket_serve_test_support::{TestServer, TestStore};
///
/// # async fn example() {
/// // The chat app on the store SOCKET_SERVE_TEST_STORE names:
/// let server = TestServer::chat().await;
/// // Tuned, with handlers of the test's own:
/// let server = TestServer::builder()
///     .config(|c| c.max_body_size = 256)
///     .handlers(|io| {
///         io.on_message("ping", |_socket, _: serde_json::Value| async move {});
///     })
///     .start()
///     .await;
/// // Or with an exact config:
/// let store = TestStore::memory();
/// let server = TestServer::start(store.config()).await;
/// # }
/// ```
pub struct TestServer {
    addr: SocketAddr,
    base_path: String,
    io: SocketServe,
    stop_tx: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    /// Kept alive as long as the server (a Redis store's process).
    _store: Option<TestStore>,
}

type Register = Box<dyn FnOnce(&SocketServe) + Send>;
type Tune = Box<dyn FnOnce(&mut Config) + Send>;

/// Builds a [`TestServer`]: store from the environment, default config, chat handlers,
/// mounted at `/socket`, unless told otherwise.
pub struct TestServerBuilder {
    store: Option<TestStore>,
    tune: Vec<Tune>,
    register: Option<Register>,
    mount: Mount,
}

impl TestServerBuilder {
    /// Runs on `store` instead of [`TestStore::from_env`].
    pub fn store(mut self, store: TestStore) -> Self {
        self.store = Some(store);
        self
    }

    /// Changes the config (after the store and key prefix are set).
    pub fn config(mut self, tune: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        self.tune.push(Box::new(tune));
        self
    }

    /// Registers these handlers instead of the chat app's.
    pub fn handlers(mut self, register: impl FnOnce(&SocketServe) + Send + 'static) -> Self {
        self.register = Some(Box::new(register));
        self
    }

    /// Mounts the API as [`Mount`] says.
    pub fn mount(mut self, mount: Mount) -> Self {
        self.mount = mount;
        self
    }

    /// Starts it.
    pub async fn start(self) -> TestServer {
        let store = self.store.unwrap_or_else(TestStore::from_env);
        let mut config = store.config();
        for tune in self.tune {
            tune(&mut config);
        }
        let chat = self.register.is_none();
        let register: Register = self.register.unwrap_or_else(|| Box::new(chat::register));
        let mut server = TestServer::serve(config, register, chat, self.mount).await;
        server._store = Some(store);
        server
    }
}

impl TestServer {
    /// A builder (store from `SOCKET_SERVE_TEST_STORE`, chat handlers, `/socket`).
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder {
            store: None,
            tune: Vec::new(),
            register: None,
            mount: Mount::Router,
        }
    }

    /// The chat app with the default config, on the store `SOCKET_SERVE_TEST_STORE` names.
    pub async fn chat() -> TestServer {
        Self::builder().start().await
    }

    /// The chat app (`chat::app`: page at `/`, API at `/socket`) with exactly `config`.
    pub async fn start(config: Config) -> TestServer {
        Self::serve(config, Box::new(chat::register), true, Mount::Router).await
    }

    /// A server with exactly `config` and the handlers `register` adds, API at `/socket`.
    pub async fn start_with(
        config: Config,
        register: impl FnOnce(&SocketServe) + Send + 'static,
    ) -> TestServer {
        Self::serve(config, Box::new(register), false, Mount::Router).await
    }

    async fn serve(config: Config, register: Register, chat: bool, mount: Mount) -> TestServer {
        let io = SocketServe::new(config).expect("SocketServe::new with the test config");
        register(&io);
        let (app, base_path) = match mount {
            Mount::Router if chat => (chat::app(&io), "/socket".to_owned()),
            Mount::Router => (
                axum::Router::new().nest("/socket", io.router()),
                "/socket".to_owned(),
            ),
            Mount::Service(base) => (
                axum::Router::new().fallback_service(io.service()),
                base.trim_end_matches('/').to_owned(),
            ),
            Mount::ServiceAt(base) => (
                axum::Router::new().fallback_service(io.service_at(&base)),
                base.trim_end_matches('/').to_owned(),
            ),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("local address of the listener");
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let signal = io.shutdown_on(async move {
            let _ = stop_rx.await;
        });
        let task = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app)
                .with_graceful_shutdown(signal)
                .await
            {
                eprintln!("test server on {addr} failed: {err}");
            }
        });
        TestServer {
            addr,
            base_path,
            io,
            stop_tx: Some(stop_tx),
            task: Some(task),
            _store: None,
        }
    }

    /// The API's base URL: `http://127.0.0.1:<port>/socket` (or the path of a [`Mount`] of the service).
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.addr, self.base_path)
    }

    /// The server's root URL: `http://127.0.0.1:<port>`.
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server, to emit from outside a handler or look at rooms.
    pub fn io(&self) -> &SocketServe {
        &self.io
    }

    /// The `redis-server` under this server, when it runs on one it started (to stop,
    /// kill or restart it).
    pub fn redis_mut(&mut self) -> Option<&mut crate::RedisServer> {
        match self._store.as_mut() {
            Some(TestStore::Redis(redis)) => Some(redis),
            _ => None,
        }
    }

    /// A protocol-level client of this server.
    pub fn client(&self) -> RawClient {
        RawClient::new(&self.base_url())
    }

    /// Stops it gracefully: streams end with `retry:`, requests in flight get 5 s, then the
    /// task is aborted. Returns once it is down.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop_tx.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(STOP_GRACE, &mut task).await.is_err() {
                task.abort();
                let _ = task.await;
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
