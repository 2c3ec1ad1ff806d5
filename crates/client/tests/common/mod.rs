//! Test harness: the chat example (plus a few test handlers) served in-process, behind a TCP
//! proxy that can cut every connection, refuse new ones, or switch to another server.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use socket_serve::store::MemoryStore;
use socket_serve::{Ack, Config, SocketServe};
use socket_serve_client::{ClientEvent, EventStream};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How long any single wait in a test may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(15);

/// What the test handlers count.
#[derive(Default)]
pub struct Counters {
    /// Runs of the `count` and `slow` handlers.
    pub runs: AtomicUsize,
    /// Runs of `on_disconnect`.
    pub disconnects: AtomicUsize,
    /// Runs of the `fail` handler.
    pub failures: AtomicUsize,
    /// Runs of the `slow` handler that got to the end of their sleep.
    pub slow_done: AtomicUsize,
}

impl Counters {
    pub fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }
    pub fn disconnects(&self) -> usize {
        self.disconnects.load(Ordering::SeqCst)
    }
    pub fn failures(&self) -> usize {
        self.failures.load(Ordering::SeqCst)
    }
}

/// The chat app plus test handlers:
/// - `count` (any data): ack = how many times `count`/`slow` ran so far, this run included
/// - `slow` (ms): sleeps that long, then acks `"done"` (counted like `count`)
/// - `fail` (any data): the handler fails (500 `handler_error`)
/// - `kick`: the server disconnects the sender
/// - `spam` (n): emits `seq` 0..n to the sender
pub fn build_io(config: Config, store: Arc<MemoryStore>) -> (SocketServe, Arc<Counters>) {
    let io = SocketServe::with_store(config, store);
    chat::register(&io);
    let counters = Arc::new(Counters::default());
    let c = Arc::clone(&counters);
    io.on_message("count", move |_socket, _data: Value| {
        let c = Arc::clone(&c);
        async move {
            let n = c.runs.fetch_add(1, Ordering::SeqCst) + 1;
            Ok::<_, socket_serve::Error>(Ack(n))
        }
    });
    let c = Arc::clone(&counters);
    io.on_message("slow", move |_socket, ms: u64| {
        let c = Arc::clone(&c);
        async move {
            c.runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            c.slow_done.fetch_add(1, Ordering::SeqCst);
            Ok::<_, socket_serve::Error>(Ack("done"))
        }
    });
    let c = Arc::clone(&counters);
    io.on_message("fail", move |_socket, _data: Value| {
        let c = Arc::clone(&c);
        async move {
            c.failures.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(std::io::Error::other("boom"))
        }
    });
    io.on_message("kick", |socket, _data: Value| async move {
        socket.disconnect().await
    });
    io.on_message("spam", |socket, n: u64| async move {
        for i in 0..n {
            socket.emit("seq", &json!(i)).await?;
        }
        Ok::<_, socket_serve::Error>(())
    });
    let c = Arc::clone(&counters);
    io.on_disconnect(move |_socket| {
        let c = Arc::clone(&c);
        async move {
            c.disconnects.fetch_add(1, Ordering::SeqCst);
        }
    });
    (io, counters)
}

/// One server instance on 127.0.0.1, on a port of its own.
pub struct Server {
    pub io: SocketServe,
    pub counters: Arc<Counters>,
    pub store: Arc<MemoryStore>,
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Server {
    /// A server with a new memory store.
    pub async fn start(config: Config) -> Server {
        let store = Arc::new(MemoryStore::new(config.session_ttl, config.recovery_window));
        Self::start_with_store(config, store).await
    }

    /// A server on an existing store (a "restarted instance" that keeps the state, as with
    /// Redis).
    pub async fn start_with_store(config: Config, store: Arc<MemoryStore>) -> Server {
        let (io, counters) = build_io(config, Arc::clone(&store));
        Self::serve(io, counters, store, chat_router).await
    }

    /// A server whose router is built by `router` from the app's router.
    pub async fn serve(
        io: SocketServe,
        counters: Arc<Counters>,
        store: Arc<MemoryStore>,
        router: impl FnOnce(&SocketServe) -> axum::Router,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let app = router(&io);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Server {
            io,
            counters,
            store,
            addr,
            task,
        }
    }

    /// The socket API's base URL, straight to this server (no proxy).
    pub fn url(&self) -> String {
        format!("http://{}/socket", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn chat_router(io: &SocketServe) -> axum::Router {
    chat::app(io)
}

/// A TCP proxy in front of a server: the client talks to it, the test cuts it.
pub struct Proxy {
    pub addr: SocketAddr,
    shared: Arc<Mutex<ProxyState>>,
    task: JoinHandle<()>,
}

struct ProxyState {
    upstream: Option<SocketAddr>,
    connections: Vec<JoinHandle<()>>,
    accepted: usize,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let shared = Arc::new(Mutex::new(ProxyState {
            upstream: Some(upstream),
            connections: Vec::new(),
            accepted: 0,
        }));
        let state = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                let mut st = state.lock().unwrap();
                st.accepted += 1;
                let Some(upstream) = st.upstream else {
                    drop(inbound); // refused: closed at once
                    continue;
                };
                st.connections.retain(|c| !c.is_finished());
                st.connections.push(tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = inbound.set_nodelay(true);
                    let _ = outbound.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }));
            }
        });
        Proxy { addr, shared, task }
    }

    /// The socket API's base URL through the proxy.
    pub fn url(&self) -> String {
        format!("http://{}/socket", self.addr)
    }

    /// Closes every open connection at once (both sides), as a crash or a network cut would.
    pub fn cut(&self) {
        let mut st = self.shared.lock().unwrap();
        for c in st.connections.drain(..) {
            c.abort();
        }
    }

    /// Where new connections go; `None` closes them at once.
    pub fn set_upstream(&self, upstream: Option<SocketAddr>) {
        self.shared.lock().unwrap().upstream = upstream;
    }

    /// How many connections were accepted so far.
    pub fn accepted(&self) -> usize {
        self.shared.lock().unwrap().accepted
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut();
    }
}

/// A config for tests: defaults, with a few timings made short.
pub fn config() -> Config {
    Config::default()
}

/// Waits for the first event matching `pred`, returning it and every event before it.
/// Fails the test after [`WAIT`].
pub async fn until(
    events: &mut EventStream,
    what: &str,
    mut pred: impl FnMut(&ClientEvent) -> bool,
) -> (ClientEvent, Vec<ClientEvent>) {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(WAIT, async {
        while let Some(event) = events.recv().await {
            if pred(&event) {
                return Some(event);
            }
            seen.push(event);
        }
        None
    })
    .await;
    match found {
        Ok(Some(event)) => (event, seen),
        Ok(None) => panic!("event stream ended waiting for {what}; saw {seen:#?}"),
        Err(_) => panic!("timed out waiting for {what}; saw {seen:#?}"),
    }
}

/// Waits for a message of `event`, returning its payload.
pub async fn message(events: &mut EventStream, event: &str) -> Value {
    let (found, _) = until(
        events,
        event,
        |e| matches!(e, ClientEvent::Message(m) if m.event == event),
    )
    .await;
    match found {
        ClientEvent::Message(m) => m.data,
        _ => unreachable!(),
    }
}

/// Waits for `Connect`, returning its `recovered`.
pub async fn connected(events: &mut EventStream) -> bool {
    match until(events, "Connect", |e| {
        matches!(e, ClientEvent::Connect { .. })
    })
    .await
    .0
    {
        ClientEvent::Connect { recovered } => recovered,
        _ => unreachable!(),
    }
}

/// Runs `check` until it returns true, every 20 ms, failing the test after [`WAIT`].
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Logs to stderr when `RUST_LOG` is set.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}
