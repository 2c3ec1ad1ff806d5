//! [`serve`]: an app on a TCP listener like `axum::serve`, with the connection limits a
//! public endpoint needs and `axum::serve` does not have: a header-read timeout, an idle
//! keep-alive timeout, and a cap on open connections past which new ones get a quick 503.

use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};
use tower::ServiceExt;

use crate::config::ConfigError;

/// The connection limits of [`serve`].
///
/// ```
/// use std::time::Duration;
/// use socket_serve::ServeConfig;
///
/// let limits = ServeConfig { max_connections: 2_000, ..ServeConfig::default() };
/// assert_eq!(limits.header_read_timeout, Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    /// A new connection must send a request's headers within this, or it is closed
    /// (slowloris, sockets that never speak). Default 10 s.
    pub header_read_timeout: Duration,
    /// A keep-alive connection with no request in flight is closed after this. An open
    /// stream counts as a request in flight until it ends. Default 60 s.
    pub idle_timeout: Duration,
    /// Connections open at once; past it a new connection is answered 503
    /// `over_capacity` with `Retry-After` and closed, so `accept` never stalls. Keep it
    /// below the process's file descriptor limit (`ulimit -n`). Default 10,000.
    pub max_connections: usize,
    /// The `Retry-After` of that 503. Default 1 s.
    pub retry_after: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            retry_after: Duration::from_secs(1),
        }
    }
}

impl ServeConfig {
    /// The defaults, overridden by `SOCKET_SERVE_HEADER_READ_TIMEOUT_MS`,
    /// `SOCKET_SERVE_IDLE_TIMEOUT_MS` and `SOCKET_SERVE_MAX_CONNECTIONS` (each above 0).
    ///
    /// ```
    /// let limits = socket_serve::ServeConfig::from_env().expect("valid environment");
    /// # let _ = limits;
    /// ```
    pub fn from_env() -> Result<ServeConfig, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<ServeConfig, ConfigError> {
        let number = |name: &'static str| -> Result<Option<u64>, ConfigError> {
            let Some(value) = get(name) else {
                return Ok(None);
            };
            match value.trim().parse::<u64>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => Err(ConfigError::new(
                    name,
                    value,
                    "expected a whole number above 0",
                )),
            }
        };
        let mut c = ServeConfig::default();
        if let Some(ms) = number("SOCKET_SERVE_HEADER_READ_TIMEOUT_MS")? {
            c.header_read_timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = number("SOCKET_SERVE_IDLE_TIMEOUT_MS")? {
            c.idle_timeout = Duration::from_millis(ms);
        }
        if let Some(n) = number("SOCKET_SERVE_MAX_CONNECTIONS")? {
            c.max_connections = usize::try_from(n).unwrap_or(usize::MAX);
        }
        Ok(c)
    }
}

/// How many over-cap connections are answered at once; past that they are just closed.
const MAX_REFUSING: usize = 256;
/// How long answering one over-cap connection may take.
const REFUSAL_TIME: Duration = Duration::from_secs(1);

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, lets
/// connections finish their requests in flight, and returns. Requests carry axum's
/// `ConnectInfo<SocketAddr>` (so [`RequestInfo::remote_addr`](crate::RequestInfo::remote_addr)
/// knows the peer). HTTP/1.1 and HTTP/2 (prior knowledge).
///
/// ```no_run
/// use socket_serve::{serve, shutdown_signal, ServeConfig, SocketServe};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let io = SocketServe::new(Default::default())?;
/// let app = axum::Router::new().nest("/socket", io.router());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// serve(listener, app, ServeConfig::from_env()?, io.shutdown_on(shutdown_signal())).await?;
/// # Ok(())
/// # }
/// ```
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout);
    let builder = Arc::new(builder);
    let open = Arc::new(Semaphore::new(config.max_connections));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    accept_failed(err).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = open.clone().try_acquire_owned() else {
            if let Ok(refuser) = refusing.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    refuse(stream, config.retry_after).await;
                    drop(refuser);
                });
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let activity = Activity::new();
        // Per request: the peer's address as `ConnectInfo`, and the request counted as in
        // flight until its response body is done (a stream, until it ends).
        let (app_, activity_) = (app.clone(), activity.clone());
        let service = hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
            let in_flight = InFlight::start(activity_.clone());
            req.extensions_mut().insert(ConnectInfo(peer));
            let app = app_.clone();
            async move {
                let res = app.oneshot(req.map(Body::new)).await?;
                Ok::<_, Infallible>(res.map(|body| {
                    Body::new(body.map_frame(move |frame| {
                        let _ = &in_flight;
                        frame
                    }))
                }))
            }
        });
        let builder = builder.clone();
        let (first, idle) = (config.header_read_timeout, config.idle_timeout);
        let conn = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            tokio::select! {
                result = conn => if let Err(err) = result {
                    tracing::debug!(%peer, error = %err, "connection ended with an error");
                },
                // Nothing in flight: dropping the connection closes it, and loses nothing.
                () = activity.quiet_for(first, idle) => {
                    tracing::debug!(%peer, "idle connection closed");
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Errors of `accept` that concern one connection go on at once; others (out of file
/// descriptors) wait a moment so the loop does not spin.
async fn accept_failed(err: std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(
        err.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted
    ) {
        return;
    }
    tracing::error!(error = %err, "accept failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// The 503 for a connection over the cap, once its request head arrived (an answer before
/// the request confuses clients), then closed. A client that says nothing within
/// `REFUSAL_TIME` is just closed.
async fn refuse(mut stream: TcpStream, retry_after: Duration) {
    let body = r#"{"error":"the server is at its connection limit; retry","code":"over_capacity"}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        retry_after.as_secs().max(1),
        body.len()
    );
    let _ = tokio::time::timeout(REFUSAL_TIME, async {
        let mut head = Vec::with_capacity(1024);
        let mut buf = [0_u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            head.extend_from_slice(&buf[..n]);
        }
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        // Read what else comes (a body) until the client closes, so that closing does not
        // reset the answer away before the client read it.
        while stream.read(&mut buf).await? > 0 {}
        Ok::<(), std::io::Error>(())
    })
    .await;
}

/// What one connection is doing: requests in flight, and since when nothing changed.
struct Activity {
    state: Mutex<ActivityState>,
    changed: Notify,
}

struct ActivityState {
    in_flight: usize,
    since: Instant,
    served: bool,
}

impl Activity {
    fn new() -> Arc<Activity> {
        Arc::new(Activity {
            state: Mutex::new(ActivityState {
                in_flight: 0,
                since: Instant::now(),
                served: false,
            }),
            changed: Notify::new(),
        })
    }

    fn update(&self, change: impl FnOnce(&mut ActivityState)) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        change(&mut state);
        state.since = Instant::now();
        drop(state);
        self.changed.notify_waiters();
    }

    /// Completes once nothing has been in flight for `first` (before any request: the
    /// header-read timeout) or `idle` (after one).
    async fn quiet_for(&self, first: Duration, idle: Duration) {
        loop {
            let changed = self.changed.notified();
            let wait = {
                let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                let limit = if state.served { idle } else { first };
                (state.in_flight == 0).then(|| limit.saturating_sub(state.since.elapsed()))
            };
            match wait {
                Some(left) if left.is_zero() => return,
                Some(left) => {
                    tokio::select! {
                        () = changed => {}
                        () = tokio::time::sleep(left) => {}
                    }
                }
                None => changed.await,
            }
        }
    }
}

/// One request in flight, until dropped.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> InFlight {
        activity.update(|s| {
            s.in_flight += 1;
            s.served = true;
        });
        InFlight(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0
            .update(|s| s.in_flight = s.in_flight.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_come_from_the_environment() {
        let env = |name: &str| match name {
            "SOCKET_SERVE_HEADER_READ_TIMEOUT_MS" => Some("500".to_owned()),
            "SOCKET_SERVE_MAX_CONNECTIONS" => Some("3".to_owned()),
            _ => None,
        };
        let c = ServeConfig::from_lookup(env).unwrap();
        assert_eq!(c.header_read_timeout, Duration::from_millis(500));
        assert_eq!(c.max_connections, 3);
        assert_eq!(c.idle_timeout, Duration::from_secs(60));
        let zero = |name: &str| (name == "SOCKET_SERVE_MAX_CONNECTIONS").then(|| "0".to_owned());
        let err = ServeConfig::from_lookup(zero).unwrap_err();
        assert!(err.to_string().contains("SOCKET_SERVE_MAX_CONNECTIONS"));
    }
}
