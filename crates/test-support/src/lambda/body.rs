//! Response bodies: a whole one, or a streamed one relayed chunk by chunk from the
//! function's `/response` request to the HTTP client, which can be cut.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::{mpsc, oneshot};

/// Every response body the emulator serves (front and Runtime API).
pub(crate) type Body = http_body_util::combinators::BoxBody<Bytes, Cut>;

/// Why a relayed body ended without its last chunk. Given to hyper as the body's error,
/// which makes it abort the connection: the client sees a truncated body, not a clean end.
#[derive(Debug, Clone)]
pub(crate) struct Cut(pub &'static str);

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Cut {}

/// A whole body.
pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// What the function's side sends into a relay.
pub(crate) enum Chunk {
    /// Body bytes, as they arrived.
    Data(Bytes),
    /// The function's body ended normally.
    End,
}

/// How many chunks may wait between the function and a slow client before the function's
/// request is held back (TCP-like backpressure, no unbounded buffering).
const RELAY_DEPTH: usize = 16;

/// The function side of a relay.
pub(crate) struct RelaySender {
    pub data: mpsc::Sender<Chunk>,
}

/// A streamed body: the chunks the function sends, each as soon as it arrives. It ends
/// cleanly only after [`Chunk::End`]; a sender gone without it, or a cut, is an error.
pub(crate) struct RelayBody {
    data: mpsc::Receiver<Chunk>,
    cut: Option<oneshot::Receiver<Cut>>,
    ended: bool,
}

/// A relay: the sender for the function's side, the trigger to cut it, and the body.
pub(crate) fn relay() -> (RelaySender, oneshot::Sender<Cut>, RelayBody) {
    let (data_tx, data_rx) = mpsc::channel(RELAY_DEPTH);
    let (cut_tx, cut_rx) = oneshot::channel();
    (
        RelaySender { data: data_tx },
        cut_tx,
        RelayBody {
            data: data_rx,
            cut: Some(cut_rx),
            ended: false,
        },
    )
}

impl HttpBody for RelayBody {
    type Data = Bytes;
    type Error = Cut;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Cut>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        if let Some(cut) = self.cut.as_mut() {
            match Pin::new(cut).poll(cx) {
                Poll::Ready(Ok(reason)) => {
                    self.ended = true;
                    return Poll::Ready(Some(Err(reason)));
                }
                // The invocation finished: nothing will cut it any more.
                Poll::Ready(Err(_)) => self.cut = None,
                Poll::Pending => {}
            }
        }
        match self.data.poll_recv(cx) {
            Poll::Ready(Some(Chunk::Data(bytes))) => Poll::Ready(Some(Ok(Frame::data(bytes)))),
            Poll::Ready(Some(Chunk::End)) => {
                self.ended = true;
                Poll::Ready(None)
            }
            Poll::Ready(None) => {
                self.ended = true;
                Poll::Ready(Some(Err(Cut(
                    "the function's response stream broke off before its end",
                ))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}
