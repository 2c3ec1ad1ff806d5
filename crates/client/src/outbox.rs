//! The send buffer: emits waiting for their POST, in order, bounded.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::Error;

/// The result of one emit: the server's `ack` reply, if its handler returned one.
pub(crate) type Outcome = Result<Option<Value>, Error>;

/// One emit waiting to be sent.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) event: String,
    pub(crate) data: Value,
    pub(crate) message_id: String,
    pub(crate) reply: oneshot::Sender<Outcome>,
    /// Holds a place in the buffer until the emit is done (or dropped).
    _slot: Slot,
}

#[derive(Debug)]
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The sending side of the buffer. Emits get a unique `messageId`
/// (`<random prefix>-<sequence>`) and keep their order.
#[derive(Debug)]
pub(crate) struct Outbox {
    tx: mpsc::UnboundedSender<Pending>,
    len: Arc<AtomicUsize>,
    capacity: usize,
    next: AtomicU64,
    prefix: String,
}

impl Outbox {
    /// A buffer of at most `capacity` emits, and the receiving end the sender task reads.
    pub(crate) fn new(capacity: usize) -> (Outbox, mpsc::UnboundedReceiver<Pending>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let prefix: String = (0..10)
            .map(|_| {
                let n = rand::random_range(0..36u32);
                char::from_digit(n, 36).unwrap_or('x')
            })
            .collect();
        let outbox = Outbox {
            tx,
            len: Arc::new(AtomicUsize::new(0)),
            capacity,
            next: AtomicU64::new(1),
            prefix,
        };
        (outbox, rx)
    }

    /// How many emits are waiting or in flight.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Queues an emit, or refuses it when the buffer is full or closed.
    pub(crate) fn push(&self, event: &str, data: Value) -> Result<Delivery, Error> {
        let before = self.len.fetch_add(1, Ordering::AcqRel);
        let slot = Slot(Arc::clone(&self.len));
        if before >= self.capacity {
            return Err(Error::BufferFull(before));
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let message_id = format!("{}-{n}", self.prefix);
        let (reply, rx) = oneshot::channel();
        let pending = Pending {
            event: event.to_owned(),
            data,
            message_id: message_id.clone(),
            reply,
            _slot: slot,
        };
        self.tx.send(pending).map_err(|_| Error::Closed)?;
        Ok(Delivery { message_id, rx })
    }
}

/// The pending outcome of one [`emit`](crate::Client::emit).
///
/// The emit is sent whether or not this is awaited (dropping it does not cancel anything).
/// Awaiting it gives the server's answer: `Ok(Some(reply))` when the handler returned a
/// reply (the POST answer's `ack`), `Ok(None)` when it did not, or the error that made the
/// emit fail for good (a 4xx answer, [`Error::Closed`]).
///
/// ```no_run
/// # async fn run(client: socket_serve_client::Client) -> Result<(), socket_serve_client::Error> {
/// let delivery = client.emit("chat", serde_json::json!({"text": "hi"}))?;
/// println!("sent as {}", delivery.message_id());
/// delivery.await?; // the server accepted it
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Delivery {
    message_id: String,
    rx: oneshot::Receiver<Outcome>,
}

impl Delivery {
    /// The `messageId` the emit is sent with (and retried with).
    ///
    /// ```
    /// let client = socket_serve_client::Client::new("http://127.0.0.1:3000/socket", Default::default()).unwrap();
    /// let a = client.emit("chat", serde_json::json!({"text": "a"})).unwrap();
    /// let b = client.emit("chat", serde_json::json!({"text": "b"})).unwrap();
    /// assert_ne!(a.message_id(), b.message_id());
    /// ```
    pub fn message_id(&self) -> &str {
        &self.message_id
    }
}

impl Future for Delivery {
    type Output = Result<Option<Value>, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(Error::Closed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn keeps_order_and_unique_ids() {
        let (outbox, mut rx) = Outbox::new(10);
        let d1 = outbox.push("a", json!(1)).unwrap();
        let d2 = outbox.push("b", json!(2)).unwrap();
        assert_ne!(d1.message_id(), d2.message_id());
        assert!(d1.message_id().len() <= 128);
        let p1 = rx.recv().await.unwrap();
        let p2 = rx.recv().await.unwrap();
        assert_eq!((p1.event.as_str(), p2.event.as_str()), ("a", "b"));
        assert_eq!(p1.message_id, d1.message_id());
        p1.reply.send(Ok(Some(json!("r")))).unwrap();
        assert_eq!(d1.await, Ok(Some(json!("r"))));
        drop(p2);
        assert_eq!(d2.await, Err(Error::Closed));
    }

    #[tokio::test]
    async fn is_bounded_and_frees_places() {
        let (outbox, mut rx) = Outbox::new(2);
        let _a = outbox.push("a", json!(null)).unwrap();
        let _b = outbox.push("b", json!(null)).unwrap();
        assert_eq!(
            outbox.push("c", json!(null)).unwrap_err(),
            Error::BufferFull(2)
        );
        assert_eq!(outbox.len(), 2);
        // One done: one place free again.
        {
            let first = rx.recv().await.unwrap();
            let _ = first.reply.send(Ok(None));
        }
        assert_eq!(outbox.len(), 1);
        assert!(outbox.push("c", json!(null)).is_ok());
    }

    #[tokio::test]
    async fn refuses_after_close() {
        let (outbox, rx) = Outbox::new(2);
        drop(rx);
        assert_eq!(outbox.push("a", json!(null)).unwrap_err(), Error::Closed);
        assert_eq!(outbox.len(), 0);
    }

    #[test]
    fn ids_differ_between_clients() {
        let (a, _ra) = Outbox::new(1);
        let (b, _rb) = Outbox::new(1);
        assert_ne!(a.prefix, b.prefix);
    }
}
