//! `cargo run -p notifications`: the notifications example on 127.0.0.1:3000 (`HOST`, `PORT` override;
//! `REDIS_URL` switches to the Redis store, and copies on different ports sharing one Redis
//! reach each other's pages: a webhook on one notifies pages on the other).

use socket_serve::{serve, shutdown_signal, Config, ServeConfig, SocketServe};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_env()?;
    let io = SocketServe::new(config)?;
    notifications::register(&io);

    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("{host}:{port}")).await?;
    // Tests read this line to learn the port.
    println!(
        "socket-serve notifications listening on http://{}",
        listener.local_addr()?
    );
    // Header-read and idle timeouts and a connection cap (`SOCKET_SERVE_*`, as for chat).
    let limits = ServeConfig::from_env()?;
    serve(
        listener,
        notifications::app(&io),
        limits,
        io.shutdown_on(shutdown_signal()),
    )
    .await?;
    Ok(())
}
