//! The tower `Service` that serverless runtimes (lambda_http, vercel_runtime) and any
//! hyper-based host mount.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response};

use tower::{Layer, ServiceExt};
use tower_http::cors::CorsLayer;

use super::origin::{cors_layer, OriginPolicy};
use super::Routing;
use crate::engine::{Engine, SocketServe};

/// Every endpoint of a [`SocketServe`] as one tower `Service`, for a serverless catch-all
/// function (such as `/api/socket/[[...path]]`). Built by [`SocketServe::service_at`]
/// (strict routing under a known base path) or [`SocketServe::service`] (any base: the
/// last path segment names the endpoint).
///
/// ```
/// use tower::ServiceExt;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let io = socket_serve::SocketServe::new(Default::default()).unwrap();
/// let request = http::Request::post("/api/socket/connect").body(String::new()).unwrap();
/// let response = io.service().oneshot(request).await.unwrap();
/// assert_eq!(response.status(), 200);
/// # });
/// ```
#[derive(Clone)]
pub struct SocketServeService {
    engine: Arc<Engine>,
    routing: Arc<Routing>,
    origins: OriginPolicy,
    cors: Option<CorsLayer>,
}

impl SocketServe {
    /// The server as a tower `Service` that routes by the last path segment, so it works
    /// under any base path; any path whose last segment is not an endpoint is the base.
    /// Prefer [`service_at`](Self::service_at) when you know the base.
    pub fn service(&self) -> SocketServeService {
        self.service_with(Routing::LastSegment)
    }

    /// The server as a tower `Service` under the base path `base`: it answers `base`,
    /// `base/connect`, `base/message`, `base/disconnect`, `base/sse`, `base/client.js`,
    /// and 404 to anything else.
    ///
    /// ```
    /// use tower::ServiceExt;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let io = socket_serve::SocketServe::new(Default::default()).unwrap();
    /// let svc = io.service_at("/api/socket");
    /// let ok = http::Request::post("/api/socket/connect").body(String::new()).unwrap();
    /// assert_eq!(svc.clone().oneshot(ok).await.unwrap().status(), 200);
    /// let nope = http::Request::post("/api/socket/nope").body(String::new()).unwrap();
    /// assert_eq!(svc.oneshot(nope).await.unwrap().status(), 404);
    /// # });
    /// ```
    pub fn service_at(&self, base: &str) -> SocketServeService {
        self.service_with(Routing::Strict(base.to_owned()))
    }

    pub(crate) fn service_with(&self, routing: Routing) -> SocketServeService {
        SocketServeService {
            engine: self.engine.clone(),
            routing: Arc::new(routing),
            origins: OriginPolicy::new(&self.engine.config.cors),
            cors: cors_layer(&self.engine.config.cors),
        }
    }
}

impl<B> tower::Service<Request<B>> for SocketServeService
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
        // Before routing: a disallowed origin must not reach `/connect` at all.
        if let Some(refused) = self.origins.refusal(&req) {
            return Box::pin(std::future::ready(Ok(refused)));
        }
        let engine = self.engine.clone();
        let routing = self.routing.clone();
        let endpoints = tower::service_fn(move |req: Request<Body>| {
            let (engine, routing) = (engine.clone(), routing.clone());
            async move { Ok::<_, Infallible>(super::handle(engine, &routing, req).await) }
        });
        let req = req.map(Body::new);
        match &self.cors {
            // Answers preflights, and adds the headers to every answer (streams included).
            Some(cors) => Box::pin(cors.layer(endpoints).oneshot(req)),
            None => Box::pin(endpoints.oneshot(req)),
        }
    }
}
