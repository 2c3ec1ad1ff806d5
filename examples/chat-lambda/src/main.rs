//! The chat example as an AWS Lambda function: the same handlers and page as
//! `examples/chat` (page at `/`, API at `/socket`), served through Lambda's streaming
//! runtime for a Function URL with invoke mode `RESPONSE_STREAM` ([`entry_points::lambda`]).
//!
//! `REDIS_URL` is required: every invocation may run in another instance, and instances
//! share nothing but the store. Without it the function reports an init error through the
//! Runtime API and exits. Streams end with `retry:` a safety margin before each
//! invocation's deadline, and clients resume from their cursor on the next invocation.
//! Build and deploy: `docs/DEPLOY.md`.

use socket_serve::SocketServe;

fn main() -> std::process::ExitCode {
    entry_points::lambda::main(|config| {
        let io = SocketServe::new(config)?;
        chat::register(&io);
        Ok(entry_points::App::new(chat::app(&io), &io))
    })
}
