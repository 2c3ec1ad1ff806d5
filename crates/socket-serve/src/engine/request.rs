//! The HTTP request a handler runs inside: what `on_connect` and message handlers read of
//! it (headers, cookies, the query, extensions a tower layer added, the peer's address).

use std::net::SocketAddr;
use std::sync::LazyLock;

use axum::extract::{ConnectInfo, OriginalUri};
use http::{Extensions, HeaderMap, Method, Uri};
use serde::de::DeserializeOwned;

use crate::error::Error;

/// The request a handler runs in (`/connect` for `on_connect` and
/// [`SocketServe::authorize`](crate::SocketServe::authorize), `/message` for message
/// handlers, `/disconnect` for a client's disconnect): method, URI, headers and the
/// `http::Extensions` that layers in front of socket-serve inserted (an auth layer's
/// identity, say). The body is not kept: the payload reaches the handler typed.
///
/// ```
/// use socket_serve::{HandlerResult, Socket};
///
/// async fn on_connect(socket: Socket) -> HandlerResult {
///     let request = socket.request().expect("on_connect runs in its request");
///     let agent = request.header("user-agent").unwrap_or("unknown");
///     let theme = request.cookie("theme");
///     tracing::info!(%agent, ?theme, peer = ?request.remote_addr(), "connected");
///     Ok(())
/// }
/// # let io = socket_serve::SocketServe::new(Default::default()).unwrap();
/// # io.on_connect(on_connect);
/// ```
#[derive(Debug, Clone)]
pub struct RequestInfo {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    extensions: Extensions,
}

/// What [`Socket::headers`](crate::Socket::headers) answers outside a request.
pub(crate) static NO_HEADERS: LazyLock<HeaderMap> = LazyLock::new(HeaderMap::new);

impl RequestInfo {
    pub(crate) fn from_parts(parts: &http::request::Parts) -> RequestInfo {
        RequestInfo {
            method: parts.method.clone(),
            // A nested router sees its own part of the path; handlers get the whole.
            uri: parts
                .extensions
                .get::<OriginalUri>()
                .map_or_else(|| parts.uri.clone(), |OriginalUri(uri)| uri.clone()),
            headers: parts.headers.clone(),
            extensions: parts.extensions.clone(),
        }
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URI as the client sent it (path and query; the whole path also when the
    /// router is nested).
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// Every header.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// One header's value as text (`None` if absent or not visible ASCII).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The extensions layers in front of socket-serve inserted (`axum`'s `ConnectInfo`, an
    /// auth layer's user, ...).
    ///
    /// ```
    /// # fn f(request: &socket_serve::RequestInfo) {
    /// #[derive(Clone)]
    /// struct User(String);
    /// let user: Option<&User> = request.extensions().get::<User>();
    /// # }
    /// ```
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// The query string decoded into `T` (400 `invalid_json` if it does not fit).
    ///
    /// ```
    /// # fn f(request: &socket_serve::RequestInfo) -> Result<(), socket_serve::Error> {
    /// #[derive(serde::Deserialize)]
    /// struct Q { room: Option<String> }
    /// let q: Q = request.query()?;
    /// # Ok(()) }
    /// ```
    pub fn query<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_urlencoded::from_str(self.uri.query().unwrap_or(""))
            .map_err(|e| Error::InvalidJson(format!("query string: {e}")))
    }

    /// A cookie's value, from the `Cookie` headers (the first of that name).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(cookie::Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|c| c.name() == name)
            .map(|c| c.value().to_owned())
    }

    /// The peer's address, when the server knows it: axum served with
    /// `into_make_service_with_connect_info::<SocketAddr>()`, or a Lambda Function URL's
    /// source IP. Behind a proxy this is the proxy.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| *addr)
    }
}
