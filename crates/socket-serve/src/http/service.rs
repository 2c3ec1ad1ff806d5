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

use crate::engine::{Engine, SocketServe};

/// Every endpoint of a [`SocketServe`] as one tower `Service`: requests are routed by the
/// last segment of their path, so it can sit behind any base path (a Next.js-style
/// catch-all such as `/api/socket/[[...path]]`).
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
}

impl SocketServe {
    /// The server as a tower `Service`, for serverless runtimes and plain hyper.
    pub fn service(&self) -> SocketServeService {
        SocketServeService {
            engine: self.engine.clone(),
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
        let engine = self.engine.clone();
        let req = req.map(Body::new);
        Box::pin(async move { Ok(super::handle(engine, req).await) })
    }
}
