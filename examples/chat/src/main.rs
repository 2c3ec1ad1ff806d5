//! `cargo run -p chat`: the chat example on 127.0.0.1:3000 (`HOST`, `PORT` override;
//! `REDIS_URL` switches to the Redis store; `SOCKET_SERVE_*` tune the protocol). Presence
//! events are on unless `SOCKET_SERVE_PRESENCE_EVENTS` says otherwise: the page's member
//! lists follow them.

use std::net::SocketAddr;
use std::process::ExitCode;

use socket_serve::{Config, ServeConfig, SocketServe};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("chat: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = Config::from_env()?;
    if std::env::var_os("SOCKET_SERVE_PRESENCE_EVENTS").is_none() {
        config.presence_events = true;
    }
    // Header-read and idle timeouts and a connection cap (SOCKET_SERVE_HEADER_READ_TIMEOUT_MS,
    // SOCKET_SERVE_IDLE_TIMEOUT_MS, SOCKET_SERVE_MAX_CONNECTIONS), which axum::serve lacks.
    let limits = ServeConfig::from_env()?;
    let grace = config.shutdown_grace;
    let io = SocketServe::new(config)?;
    chat::register(&io);

    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("PORT={p:?} is not a port number"))?,
        Err(_) => 3000,
    };
    let addr: SocketAddr = format!("{host}:{port}")
        .parse()
        .map_err(|_| format!("HOST={host:?} is not an IP address"))?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    // Tests and the benchmark harness read this line to learn the port.
    println!("socket-serve chat listening on http://{local}");

    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = io.shutdown_on(async move {
        socket_serve::shutdown_signal().await;
        let _ = stopped_tx.send(());
    });
    let server = socket_serve::serve(listener, chat::app(&io), limits, signal);
    let mut server = tokio::spawn(server);
    tokio::select! {
        joined = &mut server => return Ok(joined??),
        _ = stopped_rx => {}
    }
    // Once the signal came, requests in flight get `grace` to finish.
    tracing::info!("shutting down");
    match tokio::time::timeout(grace, server).await {
        Ok(joined) => joined??,
        Err(_) => tracing::warn!("requests still running after the grace period; exiting"),
    }
    Ok(())
}
