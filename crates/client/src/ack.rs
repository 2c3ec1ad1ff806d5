//! Replies to server emits that wait for one (the server's `emit_with_ack`).

use std::sync::{Arc, Weak};

use serde::Serialize;
use serde_json::Value;
use socket_serve_protocol::AckRequest;

use crate::backoff::Backoff;
use crate::client::Shared;
use crate::Error;

/// How many times a reply is tried before it is given up (network errors and 5xx).
const ATTEMPTS: u32 = 8;

/// The reply a handler registered with [`Client::on_with_ack`](crate::Client::on_with_ack)
/// owes the server. [`send`](AckHandle::send) it once; a handle dropped unsent sends
/// nothing (the server's wait then times out).
///
/// ```no_run
/// # fn run(client: socket_serve_client::Client) {
/// client.on_with_ack("confirm", |question: String, ack| {
///     println!("server asks: {question}");
///     ack.send(true);
/// });
/// # }
/// ```
#[derive(Debug)]
pub struct AckHandle {
    shared: Weak<Shared>,
    session_id: String,
    ack_id: String,
}

impl AckHandle {
    pub(crate) fn new(shared: &Arc<Shared>, session_id: String, ack_id: String) -> Self {
        AckHandle {
            shared: Arc::downgrade(shared),
            session_id,
            ack_id,
        }
    }

    /// A handle that sends nothing when the message asked for nothing.
    pub(crate) fn only_if_asked(mut self) -> Self {
        if self.ack_id.is_empty() || self.session_id.is_empty() {
            self.shared = Weak::new();
        }
        self
    }

    /// The id the server asked under (empty when the message asked for no reply).
    pub fn ack_id(&self) -> &str {
        &self.ack_id
    }

    /// Whether [`send`](AckHandle::send) would send anything: the message asked for a reply
    /// and the client still exists.
    pub fn is_asked(&self) -> bool {
        self.shared.strong_count() > 0
    }

    /// Sends `reply` in the background (retried on network errors and 5xx); a failure is
    /// reported as [`ClientEvent::Error`](crate::ClientEvent::Error). Must be called from
    /// within a tokio runtime (handlers are).
    pub fn send(self, reply: impl Serialize) {
        let data = serde_json::to_value(reply).map_err(|e| Error::Serialize(e.to_string()));
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        tokio::spawn(async move {
            let result = match data {
                Ok(data) => post(&shared, self.session_id, self.ack_id, data).await,
                Err(error) => Err(error),
            };
            if let Err(error) = result {
                tracing::warn!(%error, "ack reply failed");
                shared.emit_event(crate::ClientEvent::Error { error });
            }
        });
    }
}

/// Posts a reply, retrying transient failures with backoff.
pub(crate) async fn post(
    shared: &Shared,
    session_id: String,
    ack_id: String,
    data: Value,
) -> Result<(), Error> {
    let request = AckRequest {
        session_id,
        ack_id,
        data,
    };
    let options = &shared.options;
    let mut backoff = Backoff::new(options.reconnect_delay, options.reconnect_delay_max);
    loop {
        match shared.api.ack(&request).await {
            Ok(()) => return Ok(()),
            Err(error) if error.is_retryable() && backoff.attempt() + 1 < ATTEMPTS => {
                if shared.is_closed() {
                    return Err(error);
                }
                tokio::time::sleep(error.retry_delay(backoff.next_delay())).await;
            }
            Err(error) => return Err(error),
        }
    }
}
