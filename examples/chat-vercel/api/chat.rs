//! The Vercel Function `api/chat` (binary `chat-vercel`): the chat example served by
//! `vercel_runtime` (see the `chat_vercel` library for what it does and why).
//!
//! `vercel.json` rewrites `/` and `/socket/*` here. Locally: `cargo run -p chat-vercel`
//! (`PORT`, `VERCEL_DEV_PORT`, `REDIS_URL`, `SOCKET_SERVE_*`).

use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("chat-vercel: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), chat_vercel::Error> {
    let port = chat_vercel::port::choose(|name| std::env::var(name).ok())?;
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
    runtime.block_on(chat_vercel::serve(port))
}
