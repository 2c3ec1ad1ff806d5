//! The connect handshake an authorizer judges, before any session exists.

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::engine::handlers::BoxFuture;
use crate::engine::request::RequestInfo;
use crate::error::HandlerError;

/// A `/connect` request as [`SocketServe::authorize`](crate::SocketServe::authorize) sees
/// it: the HTTP request (cookies, headers, extensions) and the `auth` value the client
/// sent. No session exists yet.
///
/// ```
/// use socket_serve::{Handshake, HandlerError};
///
/// async fn authorize(handshake: Handshake) -> Result<String, HandlerError> {
///     match handshake.bearer_token() {
///         Some("s3cret") => Ok("ann".to_owned()), // the session's data: its user
///         Some(_) => Err(HandlerError::forbidden("unknown token")),
///         None => Err(HandlerError::unauthorized("send a bearer token")),
///     }
/// }
/// # let io = socket_serve::SocketServe::new(Default::default()).unwrap();
/// # io.authorize(authorize);
/// ```
#[derive(Debug, Clone)]
pub struct Handshake {
    pub(crate) request: Arc<RequestInfo>,
    pub(crate) auth: Option<Value>,
}

impl Handshake {
    /// The HTTP request.
    pub fn request(&self) -> &RequestInfo {
        &self.request
    }

    /// The `auth` value of the connect body (the clients' `auth` option).
    pub fn auth(&self) -> Option<&Value> {
        self.auth.as_ref()
    }

    /// A bearer token: from `Authorization: Bearer <token>`, else the `auth` value's
    /// `token` field (browsers' `EventSource` cannot set headers, so clients often send it
    /// there).
    pub fn bearer_token(&self) -> Option<&str> {
        let header = self
            .request
            .header("authorization")
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim);
        header.or_else(|| self.auth.as_ref()?.get("token")?.as_str())
    }
}

/// An authorizer, type-erased: the session data (JSON) it accepted with, or its refusal.
pub(crate) type Authorizer =
    Arc<dyn Fn(Handshake) -> BoxFuture<Result<Option<String>, HandlerError>> + Send + Sync>;

pub(crate) fn authorizer<F, Fut, T>(f: F) -> Authorizer
where
    F: Fn(Handshake) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, HandlerError>> + Send + 'static,
    T: Serialize + 'static,
{
    Arc::new(move |handshake| {
        let fut = f(handshake);
        Box::pin(async move {
            let data = fut.await?;
            let json = serde_json::to_string(&data)?;
            // `()` (and `None`) accept without data.
            Ok((json != "null").then_some(json))
        })
    })
}
