//! An example as one Vercel Function: `vercel_runtime` with its `axum` feature, whose
//! `VercelLayer` turns the app's `Router` into the service `vercel_runtime::run` takes.
//!
//! - **State in Redis.** Every request may reach another instance: on Vercel (`VERCEL`
//!   set) the function refuses to start without `REDIS_URL` ([`config_from_env`]).
//!   Locally, without `VERCEL`, the in-memory store serves one process.
//! - **Streaming.** The runtime streams a response only when its content type contains
//!   `text/event-stream` or `application/json` and buffers the rest: socket-serve's SSE
//!   streams and long-poll answers stream, pages are small and buffered.
//! - **The time limit.** [`Config::from_env`] sees `VERCEL` and ends each stream with
//!   `retry:` a safety margin before `maxDuration` (300 s by default;
//!   `SOCKET_SERVE_PLATFORM_MAX_DURATION_MS` when you change it).
//! - **Responses hold their invocation** ([`response_lifetime`]), and shutdown (SIGTERM,
//!   or Ctrl-C locally) ends open streams with `retry:` at once, then waits for them, at
//!   most `shutdown_grace`.
//!
//! Locally `vercel_runtime::run` is a plain HTTP/1 server on `127.0.0.1:$VERCEL_DEV_PORT`;
//! the binaries also take `PORT` (0 picks a free port; see [`port`]) and print
//! `socket-serve <name> listening on http://127.0.0.1:<port>` once the port accepts
//! connections, the line the axum binaries print, so the tests drive either.

pub mod port;
pub mod response_lifetime;

use std::process::ExitCode;
use std::time::Duration;

use socket_serve::Config;
use tower::ServiceBuilder;
use vercel_runtime::axum::VercelLayer;

use crate::{App, Error};
use response_lifetime::Responses;

/// How long the runtime may take to accept its first connection.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the function until SIGTERM (or Ctrl-C): `app` builds the app `name` from
/// [`config_from_env`] (inside the Tokio runtime, so it may spawn tasks).
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     entry_points::vercel::main("chat", |config| {
///         let io = socket_serve::SocketServe::new(config)?;
///         chat::register(&io);
///         Ok(entry_points::App::new(chat::app(&io), &io))
///     })
/// }
/// ```
pub fn main(name: &str, app: impl FnOnce(Config) -> Result<App, Error>) -> ExitCode {
    crate::init_tracing(true);
    match start(name, app) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{name}-vercel: {err}");
            ExitCode::FAILURE
        }
    }
}

fn start(name: &str, app: impl FnOnce(Config) -> Result<App, Error>) -> Result<(), Error> {
    let port = port::choose(|name| std::env::var(name).ok())?;
    if let Ok(host) = std::env::var("HOST") {
        if !matches!(host.trim(), "" | "127.0.0.1" | "localhost") {
            tracing::warn!(%host, "HOST is ignored: vercel_runtime listens on 127.0.0.1 only");
        }
    }
    // The runtime reads its port from here. Set it before any thread exists: the Tokio
    // runtime is built only below.
    std::env::set_var("VERCEL_DEV_PORT", port.to_string());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(name, port, app))
}

/// [`Config::from_env`], refused on Vercel without Redis.
///
/// ```
/// let config = entry_points::vercel::config_from_env().expect("valid environment");
/// # let _ = config;
/// ```
pub fn config_from_env() -> Result<Config, Error> {
    let config = Config::from_env()?;
    if std::env::var_os("VERCEL").is_some_and(|v| !v.is_empty()) {
        crate::needs_shared_store("Vercel", &config)?;
    }
    Ok(config)
}

/// Serves the app `name` on `127.0.0.1:port` through `vercel_runtime::run` until SIGTERM
/// (or Ctrl-C), then shuts down gracefully. `port` must be the port the runtime binds:
/// `VERCEL_DEV_PORT`, set before the Tokio runtime starts (as [`main`] does).
pub async fn serve(
    name: &str,
    port: u16,
    app: impl FnOnce(Config) -> Result<App, Error>,
) -> Result<(), Error> {
    let config = config_from_env()?;
    let grace = config.shutdown_grace;
    let app = app(config)?;

    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
    app.shutdown_on(async move {
        socket_serve::shutdown_signal().await;
        let _ = stopped_tx.send(());
    });
    let responses = Responses::new();
    let service = ServiceBuilder::new()
        .layer(responses.layer())
        .layer(VercelLayer::new())
        .service(app.into_router());
    let mut server = tokio::spawn(vercel_runtime::run(service));

    tokio::select! {
        ready = port::wait_until_accepting(port, STARTUP_TIMEOUT) => {
            ready?;
            println!("socket-serve {name} listening on http://127.0.0.1:{port}");
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
