//! The sender task: posts buffered emits one at a time, in order, retrying failures with
//! the same `messageId`.

use std::sync::Arc;

use socket_serve_protocol::MessageRequest;
use tokio::sync::{mpsc, watch};

use crate::backoff::Backoff;
use crate::client::{Creds, Shared, State};
use crate::event::ClientEvent;
use crate::outbox::{Outcome, Pending};
use crate::Error;

/// How many times in a row an emit may fail with 500 `handler_error` before that is final.
/// (A handler that fails every time would otherwise block every emit behind it.)
pub(crate) const HANDLER_ERROR_ATTEMPTS: u32 = 3;

pub(crate) async fn run(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Pending>) {
    let mut state = shared.state.subscribe();
    let mut backoff = Backoff::new(
        shared.options.reconnect_delay,
        shared.options.reconnect_delay_max,
    );
    while let Some(pending) = rx.recv().await {
        let outcome = send(&shared, &pending, &mut state, &mut backoff).await;
        let failure = outcome.as_ref().err().cloned();
        if pending.reply.send(outcome).is_err() {
            // Nobody awaits this emit: an error must still be seen somewhere.
            if let Some(error) = failure.filter(|e| *e != Error::Closed) {
                tracing::warn!(event = %pending.event, %error, "emit failed");
                shared.emit_event(ClientEvent::Error { error });
            }
        }
    }
}

/// Waits until the client has a session (other than `not`), or is closed.
async fn session(state: &mut watch::Receiver<State>, not: Option<&str>) -> Result<Creds, Error> {
    let ready = state
        .wait_for(|s| {
            s.closed
                || s.session
                    .as_ref()
                    .is_some_and(|c| Some(c.session_id.as_str()) != not)
        })
        .await
        .map_err(|_| Error::Closed)?;
    match (&ready.session, ready.closed) {
        (Some(creds), false) => Ok(creds.clone()),
        _ => Err(Error::Closed),
    }
}

async fn send(
    shared: &Shared,
    pending: &Pending,
    state: &mut watch::Receiver<State>,
    backoff: &mut Backoff,
) -> Outcome {
    let mut handler_errors = 0;
    let mut stale: Option<String> = None;
    loop {
        let creds = session(state, stale.as_deref()).await?;
        let request = MessageRequest {
            session_id: creds.session_id.clone(),
            event: pending.event.clone(),
            data: pending.data.clone(),
            message_id: Some(pending.message_id.clone()),
            requires_ack: None,
        };
        let error = match shared.api.message(&request).await {
            Ok(answer) => {
                backoff.reset();
                return Ok(answer.ack);
            }
            Err(error) => error,
        };
        if error.is_unknown_session() {
            // The session is gone: the server did not run the handler. Have the driver make a
            // new session and send the emit there.
            tracing::debug!(message_id = %pending.message_id, "session unknown; waiting for a new one");
            let _ = shared.unknown_tx.send(creds.session_id.clone());
            stale = Some(creds.session_id);
            continue;
        }
        stale = None;
        if !error.is_retryable() {
            return Err(error);
        }
        if error.code() == Some("handler_error") {
            handler_errors += 1;
            if handler_errors >= HANDLER_ERROR_ATTEMPTS {
                return Err(error);
            }
        }
        let delay = error.retry_delay(backoff.next_delay());
        tracing::debug!(message_id = %pending.message_id, %error, ?delay, "emit failed; retrying with the same messageId");
        tokio::time::sleep(delay).await;
    }
}
