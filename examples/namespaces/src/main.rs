//! `cargo run -p namespaces`: the namespaces example (its library: `/chat` and `/staff`)
//! on 127.0.0.1:3000 (`HOST`, `PORT` override; `REDIS_URL` puts both on one Redis, apart
//! by key prefix).

#[tokio::main]
async fn main() -> Result<(), namespaces::BuildError> {
    let app = namespaces::build(socket_serve::Config::from_env()?)?.into_router();
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("{host}:{port}")).await?;
    // Tests read this line to learn the port.
    println!(
        "socket-serve namespaces listening on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(socket_serve::shutdown_signal())
        .await?;
    Ok(())
}
