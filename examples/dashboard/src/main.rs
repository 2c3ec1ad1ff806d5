//! `cargo run -p dashboard`: the dashboard example on 127.0.0.1:3000 (`HOST`, `PORT` override;
//! `REDIS_URL` switches to the Redis store, and copies on different ports sharing one Redis
//! show one stream: each second once, the same on both).

use socket_serve::{serve, shutdown_signal, Config, ServeConfig, SocketServe};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let io = SocketServe::new(Config::from_env()?)?;
    dashboard::register(&io);
    // Every instance ticks; the idempotency keys make it one stream.
    tokio::spawn(dashboard::ticker(io.emitter()));

    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("{host}:{port}")).await?;
    // Tests read this line to learn the port.
    println!(
        "socket-serve dashboard listening on http://{}",
        listener.local_addr()?
    );
    // Header-read and idle timeouts and a connection cap (`SOCKET_SERVE_*`, as for chat).
    let limits = ServeConfig::from_env()?;
    serve(
        listener,
        dashboard::app(&io),
        limits,
        io.shutdown_on(shutdown_signal()),
    )
    .await?;
    Ok(())
}
