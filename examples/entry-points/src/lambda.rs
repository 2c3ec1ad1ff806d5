//! An example as an AWS Lambda function for a Function URL with invoke mode
//! `RESPONSE_STREAM`, through [`socket_serve::lambda::run`].
//!
//! `REDIS_URL` is required: every invocation may run in another instance, and instances
//! share nothing but the store. Without it the function reports an init error through the
//! Runtime API and exits. Streams end with `retry:` a safety margin before each
//! invocation's deadline, and clients resume from their cursor on the next invocation.
//! Between invocations Lambda freezes the instance: tasks spawned by the app run only while
//! it serves a request. Build and deploy: `docs/DEPLOY.md`.

use std::process::ExitCode;

use socket_serve::Config;

use crate::{App, Error};

/// Runs the function until the runtime stops: `app` builds the app from
/// [`Config::from_env`] (it runs inside the Tokio runtime, so it may spawn tasks).
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     entry_points::lambda::main(|config| {
///         let io = socket_serve::SocketServe::new(config)?;
///         chat::register(&io);
///         Ok(entry_points::App::new(chat::app(&io), &io))
///     })
/// }
/// ```
pub fn main(app: impl FnOnce(Config) -> Result<App, Error>) -> ExitCode {
    crate::init_tracing(false);
    // One invocation at a time per instance: one thread is all the runtime needs.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(error = %e, "could not start the Tokio runtime");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(app))
}

async fn run(app: impl FnOnce(Config) -> Result<App, Error>) -> ExitCode {
    let app = match init(app) {
        Ok(app) => app,
        Err(err) => {
            let message = err.to_string();
            tracing::error!("{message}");
            if let Err(err) = socket_serve::lambda::report_init_error(&message).await {
                tracing::error!(error = %err, "could not report the init error");
            }
            return ExitCode::FAILURE;
        }
    };
    match socket_serve::lambda::run(app.into_router()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}

/// The app, or why the function cannot start.
fn init(app: impl FnOnce(Config) -> Result<App, Error>) -> Result<App, Error> {
    let config = Config::from_env()?;
    crate::needs_shared_store("Lambda", &config)?;
    app(config)
}
