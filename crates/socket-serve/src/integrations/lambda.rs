//! AWS Lambda (feature `lambda`): an app served through Lambda's streaming runtime, for a
//! Function URL with invoke mode `RESPONSE_STREAM`.
//!
//! [`run`] is `lambda_http::run_with_streaming_response` plus what socket-serve needs
//! from each invocation: its deadline (streams and long-polls end with `retry:` a safety
//! margin before it, so Lambda never cuts one mid-frame) and the word that this runtime
//! streams. Served by the buffering `lambda_http::run` instead, an SSE request would be
//! held until it ends and reach the client never; there it answers 501
//! `sse_unsupported` at once, and the clients fall back to long-polling.
//!
//! Lambda freezes the process as soon as a response ends and may thaw it minutes later;
//! every invocation checks the store's connections first (see
//! [`Store::refresh`](crate::store::Store::refresh)), so connections that died while
//! frozen are replaced before they are used.
//!
//! ```no_run
//! use socket_serve::{Config, SocketServe};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), socket_serve::lambda::LambdaError> {
//!     let io = SocketServe::new(Config::from_env()?)?;
//!     io.on_message("echo", |s, data: serde_json::Value| async move { s.emit("echo", data).await });
//!     let app = axum::Router::new().nest("/socket", io.router());
//!     socket_serve::lambda::run(app).await
//! }
//! ```

use std::time::{Duration, Instant, SystemTime};

use lambda_http::RequestExt;
use tower::ServiceExt;

use crate::platform::{AfterFreeze, Deadline, ResponseStreaming};

/// The error type of the Lambda runtime.
pub type LambdaError = lambda_http::Error;

/// Serves `app` as a Lambda function with streamed responses, one invocation at a time,
/// until the runtime stops. Every request gets its invocation's [`Deadline`] and the
/// [`ResponseStreaming`] mark.
///
/// Refuses to start where `AWS_LAMBDA_MAX_CONCURRENCY` is set (Lambda Managed Instances),
/// as `lambda_http` does.
pub async fn run(app: axum::Router) -> Result<(), LambdaError> {
    let service = lambda_http::service_fn(move |mut request: lambda_http::Request| {
        mark(&mut request);
        let app = app.clone();
        async move {
            let response = app.oneshot(request.map(axum::body::Body::new)).await;
            response.map_err(|never| -> LambdaError { match never {} })
        }
    });
    lambda_http::run_with_streaming_response(service).await
}

/// Adds what socket-serve reads from an invocation to its request (done by [`run`]; for a
/// runtime loop of your own around `run_with_streaming_response`).
///
/// ```
/// let mut request = lambda_http::Request::default();
/// socket_serve::lambda::mark(&mut request);
/// assert!(request.extensions().get::<socket_serve::platform::ResponseStreaming>().is_some());
/// ```
pub fn mark<B>(request: &mut http::Request<B>) {
    let deadline = request
        .extensions()
        .lambda_context_ref()
        .map(|context| context.deadline());
    if let Some(deadline) = deadline.and_then(to_instant) {
        request.extensions_mut().insert(Deadline(deadline));
    }
    request.extensions_mut().insert(ResponseStreaming);
    request.extensions_mut().insert(AfterFreeze);
    if let Some(peer) = source_ip(request) {
        // Where handlers look for the peer (RequestInfo::remote_addr), as axum puts it.
        let addr = std::net::SocketAddr::new(peer, 0);
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(addr));
    }
}

/// The client's IP as the Function URL saw it.
fn source_ip<B>(request: &http::Request<B>) -> Option<std::net::IpAddr> {
    match request.extensions().request_context_ref()? {
        lambda_http::request::RequestContext::ApiGatewayV2(context) => {
            context.http.source_ip.as_deref()?.parse().ok()
        }
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// An invocation deadline (wall clock) as an instant on this process's clock.
fn to_instant(deadline: SystemTime) -> Option<Instant> {
    let left = deadline
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    // A deadline of 0 (a test event) or one past the 15-minute limit is no deadline.
    (deadline > SystemTime::UNIX_EPOCH && left <= Duration::from_secs(900))
        .then(|| Instant::now() + left)
}

/// Tells Lambda that the function cannot start (`POST /runtime/init/error`), so the
/// failure shows in the invocation's result and logs as `Runtime.InitError` with
/// `message`, instead of a bare exit. Call it before [`run`], then exit non-zero.
///
/// ```no_run
/// # async fn f() {
/// if std::env::var("REDIS_URL").is_err() {
///     let _ = socket_serve::lambda::report_init_error("REDIS_URL is not set").await;
///     std::process::exit(1);
/// }
/// # }
/// ```
pub async fn report_init_error(message: &str) -> Result<(), LambdaError> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API")
        .map_err(|_| "AWS_LAMBDA_RUNTIME_API is not set: not running inside Lambda")?;
    let endpoint: http::Uri = format!("http://{api}").parse()?;
    let client = lambda_runtime_api_client::Client::builder()
        .with_endpoint(endpoint)
        .build()?;
    let body = serde_json::json!({ "errorType": "Runtime.InitError", "errorMessage": message });
    let request = http::Request::post("/2018-06-01/runtime/init/error")
        .header("lambda-runtime-function-error-type", "Runtime.InitError")
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(lambda_runtime_api_client::body::Body::from(
            body.to_string(),
        ))?;
    let response = client.call(request).await?;
    if !response.status().is_success() {
        return Err(format!("the Runtime API answered {}", response.status()).into());
    }
    Ok(())
}
