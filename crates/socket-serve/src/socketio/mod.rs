//! `socket.io-client` on stateless instances: an Engine.IO v4 / Socket.IO v5 long-polling
//! endpoint on the same engine, store and handlers (`docs/SOCKETIO.md`).
//!
//! Everything a later request needs is in the store (`docs/DESIGN.md`, "Socket.IO"):
//! the Engine.IO session is a session of an internal *transport* server (its own key
//! prefix), whose log carries Engine.IO-level packets (connect answers, acks) and whose
//! state maps each namespace to that namespace's socket-serve session.

mod packets;
mod poll;
mod post;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use serde::Deserialize;
use tower::{Layer, ServiceExt};

use crate::config::Config;
use crate::engine::{lifecycle, Engine, SocketServe};
use crate::error::Error;

/// The Engine.IO error codes of a refused request (`{"code":N,"message":..}`), with a
/// socket-serve `error` code beside them.
#[derive(Debug, Clone, Copy)]
enum EioError {
    UnknownTransport,
    UnknownSid,
    BadHandshakeMethod,
    BadRequest,
    UnsupportedVersion,
}

impl EioError {
    fn response(self) -> Response<Body> {
        let (code, message, error) = match self {
            EioError::UnknownTransport => (0, "Transport unknown", "unknown_transport"),
            EioError::UnknownSid => (1, "Session ID unknown", "unknown_session"),
            EioError::BadHandshakeMethod => (2, "Bad handshake method", "bad_handshake_method"),
            EioError::BadRequest => (3, "Bad request", "bad_request"),
            EioError::UnsupportedVersion => (5, "Unsupported protocol version", "unsupported"),
        };
        let body = serde_json::json!({"code": code, "message": message, "error": error});
        let mut res = Response::new(Body::from(body.to_string()));
        *res.status_mut() = StatusCode::BAD_REQUEST;
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        res
    }
}

/// Settings of the Socket.IO endpoint.
///
/// ```
/// let options = socket_serve::SocketIoOptions::default();
/// assert_eq!(options.ping_interval.as_millis(), 25_000);
/// assert!(options.recovery);
/// ```
#[derive(Debug, Clone)]
pub struct SocketIoOptions {
    /// How long a poll waits before it answers a ping (`pingInterval`). Default 25 s.
    pub ping_interval: Duration,
    /// How long after a ping the client may take to answer (`pingTimeout`); an Engine.IO
    /// session not seen for `ping_interval + ping_timeout` expires. Default 20 s.
    pub ping_timeout: Duration,
    /// How long a session may stay without any namespace connected. Default 45 s.
    pub connect_timeout: Duration,
    /// Largest `POST` body (`maxPayload`). Default 1,000,000 bytes.
    pub max_payload: usize,
    /// Connection state recovery: events carry their cursor as a last argument (the
    /// `offset`), and a client that reconnects with `pid` and `offset` gets what it missed,
    /// once. Default on.
    pub recovery: bool,
}

impl Default for SocketIoOptions {
    fn default() -> Self {
        SocketIoOptions {
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(45),
            max_payload: 1_000_000,
            recovery: true,
        }
    }
}

/// The Socket.IO endpoint of one or more [`SocketServe`] namespaces, for
/// `socket.io-client` with `transports: ["polling"]`.
///
/// ```
/// use socket_serve::{SocketIo, SocketServe};
///
/// let chat = SocketServe::new(Default::default()).unwrap();
/// chat.on_message("chat", |socket, text: String| async move {
///     socket.broadcast("chat", text).await
/// });
/// let admin = SocketServe::new(socket_serve::Config { key_prefix: "admin".into(), ..Default::default() }).unwrap();
/// let io = SocketIo::new(&chat).unwrap().namespace("/admin", &admin);
/// let app: axum::Router = axum::Router::new()
///     .nest("/socket", chat.router())
///     .nest_service("/socket.io", io.service());
/// # let _ = app;
/// ```
#[derive(Clone)]
pub struct SocketIo {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// The main namespace's origin rule, checked before anything else (as on the
    /// socket-serve endpoints: a cross-origin page must not open sessions with the
    /// user's cookies).
    origins: crate::http::origin::OriginPolicy,
    /// The CORS headers of the allowed other origins (`None`: same origin only).
    cors: Option<tower_http::cors::CorsLayer>,
    /// The internal server whose sessions are Engine.IO sessions.
    transport: Arc<Engine>,
    /// The main namespace's server, whose rate limits the endpoint applies.
    root: Arc<Engine>,
    /// Namespace name → its server.
    namespaces: Vec<(String, Arc<Engine>)>,
    options: SocketIoOptions,
}

impl SocketIo {
    /// The endpoint with `root` as the main namespace (`/`), with default options.
    pub fn new(root: &SocketServe) -> Result<SocketIo, Error> {
        SocketIo::with_options(root, SocketIoOptions::default())
    }

    /// The endpoint with `root` as the main namespace (`/`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let io = socket_serve::SocketServe::new(Default::default()).unwrap();
    /// let options = socket_serve::SocketIoOptions { ping_interval: Duration::from_secs(10), ..Default::default() };
    /// let sio = socket_serve::SocketIo::with_options(&io, options).unwrap();
    /// # let _ = sio;
    /// ```
    pub fn with_options(root: &SocketServe, options: SocketIoOptions) -> Result<SocketIo, Error> {
        let root_config = &root.engine.config;
        let config = Config {
            key_prefix: format!("{}-eio", root_config.key_prefix),
            session_ttl: options.ping_interval + options.ping_timeout,
            ..root_config.clone()
        };
        let transport = SocketServe::new(config)?.engine;
        Ok(SocketIo {
            inner: Arc::new(Inner {
                origins: crate::http::origin::OriginPolicy::new(&root_config.cors),
                cors: crate::http::origin::cors_layer(&root_config.cors),
                transport,
                root: root.engine.clone(),
                namespaces: vec![("/".to_owned(), root.engine.clone())],
                options,
            }),
        })
    }

    /// Adds a namespace (`/admin`): a [`SocketServe`] with its own handlers and its own
    /// `key_prefix`, which `socket.io-client` reaches with `io("https://host/admin")`.
    pub fn namespace(self, name: &str, server: &SocketServe) -> SocketIo {
        let mut inner = Inner {
            origins: self.inner.origins.clone(),
            cors: self.inner.cors.clone(),
            transport: self.inner.transport.clone(),
            root: self.inner.root.clone(),
            namespaces: self.inner.namespaces.clone(),
            options: self.inner.options.clone(),
        };
        inner.namespaces.retain(|(n, _)| n != name);
        inner
            .namespaces
            .push((name.to_owned(), server.engine.clone()));
        SocketIo {
            inner: Arc::new(inner),
        }
    }

    /// The endpoint as a tower `Service`: it answers any path. Mount it with axum's
    /// `nest_service("/socket.io", io.service())` (a nested `Router` would not match the
    /// `/socket.io/` that socket.io-client asks for: axum 0.8 nests without the trailing
    /// slash), or under a catch-all.
    pub fn service(&self) -> SocketIoService {
        SocketIoService {
            inner: self.inner.clone(),
        }
    }
}

impl Inner {
    fn namespace(&self, name: &str) -> Option<&Arc<Engine>> {
        self.namespaces
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, e)| e)
    }
}

/// [`SocketIo`] as a tower `Service`.
#[derive(Clone)]
pub struct SocketIoService {
    inner: Arc<Inner>,
}

impl<B> tower::Service<Request<B>> for SocketIoService
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if let Some(refused) = self.inner.origins.refusal(&req) {
            return Box::pin(std::future::ready(Ok(refused)));
        }
        let inner = self.inner.clone();
        let endpoint = tower::service_fn(move |req: Request<Body>| {
            let inner = inner.clone();
            async move { Ok::<_, Infallible>(handle(inner, req).await) }
        });
        let req = req.map(Body::new);
        match &self.inner.cors {
            // Answers preflights, and adds the headers to every answer, as on the
            // socket-serve endpoints.
            Some(cors) => Box::pin(cors.layer(endpoint).oneshot(req)),
            None => Box::pin(endpoint.oneshot(req)),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct EioQuery {
    #[serde(rename = "EIO")]
    eio: Option<String>,
    transport: Option<String>,
    sid: Option<String>,
}

async fn handle(inner: Arc<Inner>, req: Request<Body>) -> Response<Body> {
    let query: EioQuery =
        serde_urlencoded::from_str(req.uri().query().unwrap_or("")).unwrap_or_default();
    if query.eio.as_deref() != Some("4") {
        return EioError::UnsupportedVersion.response();
    }
    if query.transport.as_deref() != Some("polling") {
        return EioError::UnknownTransport.response();
    }
    lifecycle::ensure_sweeper(&inner.transport);
    for (_, engine) in &inner.namespaces {
        lifecycle::ensure_sweeper(engine);
    }
    let method = req.method().clone();
    // The limits of the socket-serve endpoints: a handshake spends a token of the client
    // address's connect bucket, any other request one of its Engine.IO session's bucket.
    let root = inner.root.clone();
    let bucket = crate::http::rate::connect_bucket(&root, &req);
    let limited = match &query.sid {
        None => crate::http::rate::connect(&root, bucket).await,
        Some(sid) => crate::http::rate::session(&inner.transport, sid).await,
    };
    if let Err(err) = limited {
        return crate::http::error_response(&err);
    }
    let result = match (query.sid, method) {
        (None, Method::GET) => handshake(&inner).await,
        (None, _) => Ok(EioError::BadHandshakeMethod.response()),
        (Some(sid), Method::GET) => poll::poll(&inner, &sid).await,
        (Some(sid), Method::POST) => post::post(&inner, &sid, req).await,
        (Some(_), _) => Ok(EioError::BadRequest.response()),
    };
    result.unwrap_or_else(|err| crate::http::error_response(&err))
}

/// `GET ?EIO=4&transport=polling`: a new Engine.IO session, answered with the open packet.
async fn handshake(inner: &Inner) -> Result<Response<Body>, Error> {
    let session = lifecycle::connect(&inner.transport, None, None).await?;
    let options = &inner.options;
    let open = serde_json::json!({
        "sid": session.session_id,
        "upgrades": [],
        "pingInterval": options.ping_interval.as_millis() as u64,
        "pingTimeout": options.ping_timeout.as_millis() as u64,
        "maxPayload": options.max_payload,
    });
    Ok(text_response(format!("0{open}")))
}

fn text_response(body: String) -> Response<Body> {
    let mut res = Response::new(Body::from(body));
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
