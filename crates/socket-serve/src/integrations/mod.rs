//! Integrations with web frameworks and hosts. axum is built in ([`SocketServe::router`]);
//! AWS Lambda has its runner (feature `lambda`); other serverless runtimes mount
//! [`SocketServe::service`] or the router (see the `examples/` folder).
//!
//! [`SocketServe::router`]: crate::SocketServe::router
//! [`SocketServe::service`]: crate::SocketServe::service

mod axum;
#[cfg(feature = "lambda")]
pub mod lambda;
