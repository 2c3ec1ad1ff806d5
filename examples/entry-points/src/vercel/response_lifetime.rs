//! An invocation lasts as long as its response body.
//!
//! `vercel_runtime` sends a request's `end` message to Vercel as soon as the handler has
//! returned the response head, and at SIGTERM it waits only for `waitUntil` work before
//! it returns. An SSE stream or a long-poll is still being written then. [`UntilBodyEnds`]
//! registers every response body as `waitUntil` work that settles when the body has been
//! sent (or dropped because the client went away), so:
//!
//! - Vercel hears `end` only once the whole response is out (a stream is billed and kept
//!   alive as what it is, not as a finished request);
//! - at SIGTERM the runtime's own drain waits for open streams, which socket-serve's
//!   shutdown ends with `retry:` at once;
//! - [`Responses::drained`] lets the process wait for them too (bounded by the shutdown
//!   grace), also on Ctrl-C, which the runtime does not listen to.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use tokio::sync::oneshot;
use tokio_util::task::TaskTracker;
use tower::{Layer, Service};
use vercel_runtime::{AppState, Request, Response, ResponseBody};

/// Every response body in flight on this instance.
#[derive(Clone, Default)]
pub struct Responses {
    tracker: TaskTracker,
}

impl Responses {
    /// None yet.
    pub fn new() -> Responses {
        Responses::default()
    }

    /// The layer that tracks each response of the service it wraps (put it outside
    /// `vercel_runtime::axum::VercelLayer`, so it sees the body the runtime writes).
    pub fn layer(&self) -> UntilBodyEnds {
        UntilBodyEnds {
            responses: self.clone(),
        }
    }

    /// Resolves once no response body is in flight. From then on, a new response still
    /// counts, but this future does not wait for it.
    pub async fn drained(&self) {
        self.tracker.close();
        self.tracker.wait().await;
    }
}

/// Layer of [`HoldsInvocation`]; made by [`Responses::layer`].
#[derive(Clone)]
pub struct UntilBodyEnds {
    responses: Responses,
}

impl<S> Layer<S> for UntilBodyEnds {
    type Service = HoldsInvocation<S>;

    fn layer(&self, inner: S) -> HoldsInvocation<S> {
        HoldsInvocation {
            inner,
            responses: self.responses.clone(),
        }
    }
}

/// A `vercel_runtime` service whose every response body is `waitUntil` work of its
/// request, settled when the body has been sent or dropped.
#[derive(Clone)]
pub struct HoldsInvocation<S> {
    inner: S,
    responses: Responses,
}

impl<S> Service<(AppState, Request)> for HoldsInvocation<S>
where
    S: Service<
        (AppState, Request),
        Response = Response<ResponseBody>,
        Error = vercel_runtime::Error,
    >,
    S::Future: Send + 'static,
{
    type Response = Response<ResponseBody>;
    type Error = vercel_runtime::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, (state, request): (AppState, Request)) -> Self::Future {
        let answer = self.inner.call((state.clone(), request));
        let tracker = self.responses.tracker.clone();
        Box::pin(async move {
            let response = answer.await?;
            let (sent, settled) = oneshot::channel::<()>();
            // Resolves when `sent` is dropped: the body ended or was dropped.
            state.wait_until(tracker.track_future(async move {
                let _ = settled.await;
            }));
            Ok(response.map(|body| {
                ResponseBody(
                    TrackedBody {
                        body,
                        sent: Some(sent),
                    }
                    .boxed(),
                )
            }))
        })
    }
}

/// A response body that drops `sent` at its end (or when it is dropped).
struct TrackedBody {
    body: ResponseBody,
    sent: Option<oneshot::Sender<()>>,
}

impl Body for TrackedBody {
    type Data = Bytes;
    type Error = vercel_runtime::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let frame = Pin::new(&mut this.body).poll_frame(cx);
        if let Poll::Ready(None) = frame {
            this.sent.take();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
