use serde::{Deserialize, Serialize};
use socket_serve::{Config, SocketServe};

#[derive(Serialize, Deserialize)]
struct Chat {
    text: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt::init(); // handler errors and unknown events are logged
    let io = SocketServe::new(Config::from_env()?)?; // Redis if REDIS_URL is set
    io.on_connect(|s| async move { s.emit("welcome", &serde_json::json!({"id": s.id()})).await });
    io.on_message("chat", |s, msg: Chat| async move {
        s.broadcast("chat", &msg).await
    });
    let app = axum::Router::new().nest("/socket", io.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app).await?;
    Ok(())
}
