//! The chat example as an AWS Lambda function: the same handlers and page as
//! `examples/chat` (page at `/`, API at `/socket`), served through Lambda's streaming
//! runtime for a Function URL with invoke mode `RESPONSE_STREAM`.
//!
//! `REDIS_URL` is required: every invocation may run in another instance, and instances
//! share nothing but the store. Without it the function reports an init error through the
//! Runtime API and exits. Streams end with `retry:` a safety margin before each
//! invocation's deadline, and clients resume from their cursor on the next invocation.
//! Build and deploy: `docs/DEPLOY.md`.

use std::process::ExitCode;

use socket_serve::{Config, SocketServe, StoreConfig};
use tracing_subscriber::EnvFilter;

// One invocation at a time per instance: one thread is all the runtime needs.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_ansi(false)
        .without_time() // CloudWatch stamps every line
        .with_writer(std::io::stderr)
        .init();
    let io = match init() {
        Ok(io) => io,
        Err(message) => {
            tracing::error!("{message}");
            if let Err(err) = socket_serve::lambda::report_init_error(&message).await {
                tracing::error!(error = %err, "could not report the init error");
            }
            return ExitCode::FAILURE;
        }
    };
    match socket_serve::lambda::run(chat::app(&io)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}

/// The server, or why the function cannot start.
fn init() -> Result<SocketServe, String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    if config.store == StoreConfig::Memory {
        return Err(
            "REDIS_URL is not set: a Lambda function needs the Redis store, \
                    since every invocation may run in another instance (set REDIS_URL \
                    to redis://… or rediss://…)"
                .into(),
        );
    }
    let io = SocketServe::new(config).map_err(|e| e.to_string())?;
    chat::register(&io);
    Ok(io)
}
