//! A TCP proxy in front of Redis that injects the faults of a real network: latency on
//! every chunk each way, and connections that stall (they stay open but forward nothing,
//! as a half-dead connection behind a NAT does).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The proxy: point a Redis URL at [`FaultProxy::url`].
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct Shared {
    /// Added before each chunk is forwarded, either way, in microseconds.
    delay_us: AtomicU64,
    /// The stall flags of the connections open now.
    connections: Mutex<Vec<Arc<AtomicBool>>>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `127.0.0.1:<redis_port>`.
    pub async fn start(redis_port: u16) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared::default());
        let accepting = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let stalled = Arc::new(AtomicBool::new(false));
                lock(&accepting.connections).push(stalled.clone());
                let shared = accepting.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(("127.0.0.1", redis_port)).await {
                        relay(client, server, shared, stalled).await;
                    }
                });
            }
        });
        FaultProxy { addr, shared, task }
    }

    /// `redis://127.0.0.1:<proxy port>`.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// From now on every chunk waits `delay` before it is forwarded, each way.
    pub fn set_delay(&self, delay: Duration) {
        let us = delay.as_micros().min(u128::from(u64::MAX)) as u64;
        self.shared.delay_us.store(us, Ordering::SeqCst);
    }

    /// Every connection open now stops forwarding, and stays open; later ones work.
    /// Returns how many were stalled.
    pub fn stall_open_connections(&self) -> usize {
        let connections = std::mem::take(&mut *lock(&self.shared.connections));
        for stalled in &connections {
            stalled.store(true, Ordering::SeqCst);
        }
        connections.len()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn relay(
    client: TcpStream,
    server: TcpStream,
    shared: Arc<Shared>,
    stalled: Arc<AtomicBool>,
) {
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = pipe(client_read, server_write, shared.clone(), stalled.clone());
    let down = pipe(server_read, client_write, shared, stalled);
    tokio::join!(up, down);
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    shared: Arc<Shared>,
    stalled: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let delay = shared.delay_us.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_micros(delay)).await;
        }
        if stalled.load(Ordering::SeqCst) {
            // Swallow everything from now on, and never close: a stalled connection.
            std::future::pending::<()>().await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
