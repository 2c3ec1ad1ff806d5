//! Handler types: what an app registers with `on_connect`, `on_message` and
//! `on_disconnect`, and how their results become answers.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::engine::Socket;
use crate::error::{Error, HandlerError};

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

pub(crate) type LifecycleHandler =
    Arc<dyn Fn(Socket) -> BoxFuture<Result<(), HandlerError>> + Send + Sync>;

pub(crate) type MessageHandler =
    Arc<dyn Fn(Socket, Value) -> BoxFuture<Result<Option<Value>, Error>> + Send + Sync>;

/// The catch-all: gets the event name too.
pub(crate) type AnyHandler =
    Arc<dyn Fn(Socket, String, Value) -> BoxFuture<Result<Option<Value>, Error>> + Send + Sync>;

/// A reply to a client's emit (its ack), serialized as the POST answer's `ack`.
///
/// ```
/// use socket_serve::Ack;
/// # fn handler() -> Result<Ack<u32>, socket_serve::HandlerError> {
/// Ok(Ack(42))
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Ack<T>(pub T);

/// What a message handler may return on success: `()` (no ack), [`Ack`] or a
/// `serde_json::Value` (sent as the ack).
pub trait IntoAck {
    /// The ack JSON, if any.
    fn into_ack(self) -> Result<Option<Value>, Error>;
}

impl IntoAck for () {
    fn into_ack(self) -> Result<Option<Value>, Error> {
        Ok(None)
    }
}

impl IntoAck for Value {
    fn into_ack(self) -> Result<Option<Value>, Error> {
        Ok(Some(self))
    }
}

impl<T: Serialize> IntoAck for Ack<T> {
    fn into_ack(self) -> Result<Option<Value>, Error> {
        Ok(Some(serde_json::to_value(self.0)?))
    }
}

/// What a handler may return: `()`, or a `Result` whose error converts into a
/// [`HandlerError`] (any `std::error::Error` does, including [`Error`]).
pub trait HandlerOutput<R> {
    /// The result, normalized.
    fn into_result(self) -> Result<R, HandlerError>;
}

impl HandlerOutput<()> for () {
    fn into_result(self) -> Result<(), HandlerError> {
        Ok(())
    }
}

impl<R, E: Into<HandlerError>> HandlerOutput<R> for Result<R, E> {
    fn into_result(self) -> Result<R, HandlerError> {
        self.map_err(Into::into)
    }
}

pub(crate) fn lifecycle<F, Fut, O>(f: F) -> LifecycleHandler
where
    F: Fn(Socket) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
    O: HandlerOutput<()> + 'static,
{
    Arc::new(move |socket| {
        let fut = f(socket);
        Box::pin(async move { fut.await.into_result() })
    })
}

pub(crate) fn message<T, F, Fut, O, R>(event: &str, f: F) -> MessageHandler
where
    T: DeserializeOwned + Send + 'static,
    F: Fn(Socket, T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
    O: HandlerOutput<R> + 'static,
    R: IntoAck + 'static,
{
    let event: Arc<str> = event.into();
    Arc::new(move |socket, data| {
        let payload = match serde_json::from_value::<T>(data) {
            Ok(payload) => payload,
            Err(e) => {
                let err = Error::InvalidPayload {
                    event: event.to_string(),
                    detail: e.to_string(),
                };
                return Box::pin(async move { Err(err) });
            }
        };
        let fut = f(socket, payload);
        Box::pin(async move {
            let reply = fut.await.into_result()?;
            reply.into_ack()
        })
    })
}

pub(crate) fn any<F, Fut, O, R>(f: F) -> AnyHandler
where
    F: Fn(Socket, String, Value) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
    O: HandlerOutput<R> + 'static,
    R: IntoAck + 'static,
{
    Arc::new(move |socket, event, data| {
        let fut = f(socket, event, data);
        Box::pin(async move {
            let reply = fut.await.into_result()?;
            reply.into_ack()
        })
    })
}
