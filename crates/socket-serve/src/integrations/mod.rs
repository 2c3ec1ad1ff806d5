//! Integrations with web frameworks and hosts. axum is built in ([`SocketServe::router`]);
//! serverless runtimes mount [`SocketServe::service`] (see the `examples/` folder).
//!
//! [`SocketServe::router`]: crate::SocketServe::router
//! [`SocketServe::service`]: crate::SocketServe::service

mod axum;
