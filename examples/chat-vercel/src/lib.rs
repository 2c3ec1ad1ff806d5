//! # chat-vercel: the chat example as one Vercel Function
//!
//! The chat example's app, [`chat::register`] and [`chat::app`] (the page at `/`, the
//! socket-serve API at `/socket`), served by Vercel's Rust runtime: `vercel_runtime` with
//! its `axum` feature, whose `VercelLayer` turns the axum `Router` into the service
//! `vercel_runtime::run` takes. The function is `api/chat.rs` (the binary `chat-vercel`);
//! `vercel.json` rewrites `/` and `/socket/*` to it. A rewrite keeps the path the browser
//! asked for, so the app routes exactly as it does behind `axum::serve`.
//!
//! ## What runs where
//! - **State in Redis.** Every request may reach another instance, and instances share
//!   nothing but the store: on Vercel (`VERCEL` set) the function refuses to start without
//!   `REDIS_URL` ([`config_from_env`]). Locally, without `VERCEL`, the in-memory store
//!   serves one process.
//! - **Streaming.** The runtime streams a response only when its content type contains
//!   `text/event-stream` or `application/json` and buffers the rest. socket-serve's SSE
//!   streams and long-poll answers have those types; the page and `client.js` are small
//!   and buffered.
//! - **The time limit.** A Vercel Function runs at most `maxDuration` (300 s by default).
//!   [`socket_serve::Config::from_env`] sees `VERCEL` and ends each stream with `retry:`
//!   a safety margin before it (`SOCKET_SERVE_PLATFORM_MAX_DURATION_MS` when you change
//!   `maxDuration`); the client resumes from its cursor, nothing lost.
//! - **Responses hold their invocation** ([`response_lifetime`]): Vercel hears a request
//!   ended when its body has been sent, and shutdown waits for open streams.
//! - **Shutdown.** SIGTERM, as the runtime handles it: no new connections, and open
//!   streams end with `retry:` at once (socket-serve's graceful shutdown); the process
//!   exits when the last response is out, or after `shutdown_grace`.
//!
//! ## The same runtime around the bare service
//! An app whose pages come from elsewhere can serve only the API, from a function at
//! `api/socket/[[...path]].rs`, with the tower service socket-serve gives for a known base:
//!
//! ```no_run
//! use socket_serve::{Config, SocketServe};
//! use tower::ServiceBuilder;
//! use vercel_runtime::axum::VercelLayer;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), vercel_runtime::Error> {
//!     let io = SocketServe::new(Config::from_env()?)?;
//!     chat::register(&io);
//!     let service = ServiceBuilder::new()
//!         .layer(VercelLayer::new())
//!         .service(io.service_at("/api/socket"));
//!     vercel_runtime::run(service).await
//! }
//! ```
//!
//! ## Running it locally
//! `vercel_runtime::run` is a plain HTTP/1 server on `127.0.0.1:$VERCEL_DEV_PORT`. Like
//! the `chat` binary, this one also takes `PORT` (0 picks a free port; see [`port`]) and
//! prints [`LISTENING`]`http://127.0.0.1:<port>` once the port accepts connections:
//!
//! ```sh
//! cargo run -p chat-vercel                                   # memory store, port 3000
//! REDIS_URL=redis://127.0.0.1:6379 PORT=0 cargo run -p chat-vercel
//! ```

#![warn(missing_docs)]

pub mod port;
pub mod response_lifetime;

use std::time::Duration;

use socket_serve::{Config, SocketServe, StoreConfig};
use tower::ServiceBuilder;
use vercel_runtime::axum::VercelLayer;

use response_lifetime::Responses;

/// The error of everything here: a message for the operator.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The start of the line printed once the server accepts connections (followed by
/// `http://127.0.0.1:<port>`). Tests and benchmarks read it, as they read the `chat`
/// binary's.
pub const LISTENING: &str = "socket-serve chat listening on ";

/// How long the runtime may take to accept its first connection.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// [`Config::from_env`], refused on Vercel without Redis.
///
/// ```
/// let config = chat_vercel::config_from_env().expect("valid environment");
/// # let _ = config;
/// ```
pub fn config_from_env() -> Result<Config, Error> {
    let config = Config::from_env()?;
    let on_vercel = std::env::var_os("VERCEL").is_some_and(|v| !v.is_empty());
    check_store(on_vercel, &config)?;
    Ok(config)
}

/// A deployment (`on_vercel`) needs a shared store: Vercel runs many instances and sends
/// each request to any of them.
fn check_store(on_vercel: bool, config: &Config) -> Result<(), Error> {
    if on_vercel && config.store == StoreConfig::Memory {
        return Err(
            "REDIS_URL is not set. On Vercel every request may reach another \
                    instance and instances share no memory, so sessions must live in \
                    Redis: set REDIS_URL for the project (vercel env add REDIS_URL)"
                .into(),
        );
    }
    Ok(())
}

/// Serves the chat app on `127.0.0.1:port` through `vercel_runtime::run` until SIGTERM
/// (or Ctrl-C), then shuts down gracefully. `port` must be the port the runtime binds:
/// set `VERCEL_DEV_PORT` to it before the Tokio runtime starts (see [`port::choose`]).
pub async fn serve(port: u16) -> Result<(), Error> {
    let config = config_from_env()?;
    let grace = config.shutdown_grace;
    let io = SocketServe::new(config)?;
    chat::register(&io);

    let responses = Responses::new();
    let service = ServiceBuilder::new()
        .layer(responses.layer())
        .layer(VercelLayer::new())
        .service(chat::app(&io));

    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(io.shutdown_on(async move {
        socket_serve::shutdown_signal().await;
        let _ = stopped_tx.send(());
    }));
    let mut server = tokio::spawn(vercel_runtime::run(service));

    tokio::select! {
        ready = port::wait_until_accepting(port, STARTUP_TIMEOUT) => {
            ready?;
            println!("{LISTENING}http://127.0.0.1:{port}");
        }
        ended = &mut server => return server_ended(ended),
    }
    tokio::select! {
        ended = &mut server => return server_ended(ended),
        _ = stopped_rx => {}
    }

    // On SIGTERM the runtime returns once every response and `waitUntil` task is done;
    // it ignores Ctrl-C, so wait for the responses as well. Either way, at most `grace`.
    tracing::info!("shutting down");
    let finished = async {
        tokio::select! {
            _ = &mut server => {}
            _ = responses.drained() => {}
        }
    };
    if tokio::time::timeout(grace, finished).await.is_err() {
        tracing::warn!("responses still running after the grace period; exiting");
    }
    Ok(())
}

fn server_ended(
    ended: Result<Result<(), vercel_runtime::Error>, tokio::task::JoinError>,
) -> Result<(), Error> {
    match ended {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("the Vercel runtime stopped: {e}").into()),
        Err(e) => Err(format!("the Vercel runtime panicked: {e}").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_needs_redis_and_a_local_run_does_not() {
        let memory = Config::default();
        let err = check_store(true, &memory).unwrap_err();
        assert!(err.to_string().contains("REDIS_URL"), "{err}");
        assert!(check_store(false, &memory).is_ok());
        let redis = Config {
            store: StoreConfig::Redis("redis://127.0.0.1:6379".into()),
            ..Config::default()
        };
        assert!(check_store(true, &redis).is_ok());
    }
}
