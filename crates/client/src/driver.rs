//! The connection task: creates the session, keeps a stream (or long-poll) open, resumes it
//! from the cursor after failures, and reports every change.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::client::{Creds, Shared};
use crate::event::{ClientEvent, DisconnectReason};
use crate::raw::means_no_sse;
use crate::tracker::{Step, Tracker};
use crate::{Error, Transport};

/// How a stream (or a run of long-polls) ended.
#[derive(Debug)]
enum End {
    /// `retry: <ms>` then end of stream: resume after that long, report nothing.
    Planned(Duration),
    /// The server does not know the session: make a new one.
    Unknown,
    /// A `__disconnect` frame: the session is over for good.
    Final(DisconnectReason),
    /// The stream or poll failed.
    Failed {
        reason: DisconnectReason,
        error: Error,
        /// Whether the transport was working (connected frame or poll answer) before failing.
        opened: bool,
        /// Whether the failure says that SSE does not work here (so `Auto` falls back).
        no_sse: bool,
    },
}

pub(crate) struct Driver {
    shared: Arc<Shared>,
    unknown_rx: mpsc::UnboundedReceiver<String>,
    session: Option<Creds>,
    tracker: Tracker,
    backoff: Backoff,
    /// `Connect` was reported and no `Disconnect` since.
    connected: bool,
    /// A `Reconnecting` was reported since the last `Connect`.
    reconnecting: bool,
    /// The session is new: its first `Connect` says `recovered: false`.
    fresh: bool,
    polling: bool,
}

impl Driver {
    pub(crate) fn new(shared: Arc<Shared>, unknown_rx: mpsc::UnboundedReceiver<String>) -> Self {
        let backoff = Backoff::new(
            shared.options.reconnect_delay,
            shared.options.reconnect_delay_max,
        );
        let polling = shared.options.transport == Transport::Polling;
        Driver {
            shared,
            unknown_rx,
            session: None,
            tracker: Tracker::default(),
            backoff,
            connected: false,
            reconnecting: false,
            fresh: true,
            polling,
        }
    }

    pub(crate) async fn run(mut self) {
        loop {
            if self.shared.is_closed() {
                return;
            }
            if self.session.is_none() && !self.create_session().await {
                return;
            }
            if self.session.is_none() {
                continue;
            }
            let end = if self.polling {
                self.run_polling().await
            } else {
                self.run_sse().await
            };
            tracing::debug!(?end, "transport ended");
            match end {
                End::Planned(delay) => tokio::time::sleep(delay).await,
                End::Unknown => self.lose_session(),
                End::Final(reason) => {
                    self.shared.close(reason, None);
                    return;
                }
                End::Failed {
                    reason,
                    error,
                    opened,
                    no_sse,
                } => {
                    if no_sse && !self.polling && self.shared.options.transport == Transport::Auto {
                        tracing::info!(%error, "event stream unavailable; falling back to long-polling");
                        self.polling = true;
                        self.shared
                            .state
                            .send_modify(|s| s.transport = Transport::Polling);
                        continue;
                    }
                    if self.connected {
                        self.set_disconnected(reason);
                    } else if !opened {
                        self.shared.emit_event(ClientEvent::ConnectError {
                            error: error.clone(),
                        });
                    }
                    if !self.wait_before_retry(error).await {
                        return;
                    }
                }
            }
        }
    }

    /// `POST /connect`. Returns `false` when the client must stop (a 4xx, attempts used up).
    async fn create_session(&mut self) -> bool {
        let auth = self.shared.options.auth.clone();
        match self.shared.api.connect(auth).await {
            Ok(answer) => {
                let creds = Creds {
                    session_id: answer.session_id,
                    public_id: answer.id,
                };
                tracing::debug!(id = %creds.public_id, "session created");
                self.tracker = Tracker::new(answer.cursor);
                self.fresh = true;
                self.session = Some(creds.clone());
                self.shared.state.send_modify(|s| {
                    s.session = Some(creds);
                    s.rejection = None;
                });
                true
            }
            Err(error) => {
                let error = error.into_rejection();
                let rejection = error.is_rejected().then(|| error.clone());
                self.shared.state.send_modify(|s| s.rejection = rejection);
                self.shared.emit_event(ClientEvent::ConnectError {
                    error: error.clone(),
                });
                if !error.is_retryable() {
                    tracing::warn!(%error, "connect refused; giving up");
                    self.shared.close(
                        DisconnectReason::TransportError(error.to_string()),
                        Some(error),
                    );
                    return false;
                }
                self.wait_before_retry(error).await
            }
        }
    }

    /// Waits the next backoff delay, reporting `Reconnecting`. Returns `false` (after closing
    /// the client) when the configured number of attempts is used up.
    async fn wait_before_retry(&mut self, error: Error) -> bool {
        if let Some(max) = self.shared.options.reconnect_attempts {
            if self.backoff.attempt() >= max {
                tracing::warn!(%error, attempts = max, "giving up reconnecting");
                self.shared.close(
                    DisconnectReason::TransportError(error.to_string()),
                    Some(error),
                );
                return false;
            }
        }
        let delay = error.retry_delay(self.backoff.next_delay());
        let attempt = self.backoff.attempt();
        self.reconnecting = true;
        self.shared
            .emit_event(ClientEvent::Reconnecting { attempt, delay });
        tokio::time::sleep(delay).await;
        true
    }

    /// The session is gone (expired, or the server forgot it): report it and start over.
    fn lose_session(&mut self) {
        tracing::info!("session unknown to the server; connecting anew");
        if self.connected {
            self.set_disconnected(DisconnectReason::SessionExpired);
        }
        self.session = None;
        self.tracker = Tracker::default();
        self.shared.state.send_modify(|s| s.session = None);
    }

    fn set_disconnected(&mut self, reason: DisconnectReason) {
        self.connected = false;
        self.shared.state.send_modify(|s| s.connected = false);
        self.shared.emit_event(ClientEvent::Disconnect { reason });
    }

    /// The transport works (connected frame, or first poll answer).
    fn on_open(&mut self, server_recovered: Option<bool>) {
        let recovered = !self.fresh && server_recovered.unwrap_or(true);
        self.fresh = false;
        let attempt = self.backoff.attempt();
        self.backoff.reset();
        if !self.connected {
            if self.reconnecting {
                self.reconnecting = false;
                self.shared.emit_event(ClientEvent::Reconnect { attempt });
            }
            self.connected = true;
            self.shared.state.send_modify(|s| {
                s.connected = true;
                s.recovered = recovered;
            });
            self.shared.emit_event(ClientEvent::Connect { recovered });
        } else if !recovered {
            // A planned resume that could not replay everything: the app must know.
            self.shared.state.send_modify(|s| s.recovered = false);
            self.shared
                .emit_event(ClientEvent::Connect { recovered: false });
        }
    }

    /// Whether a report from the sender names the current session.
    fn is_current(&self, session_id: &str) -> bool {
        self.session
            .as_ref()
            .is_some_and(|c| c.session_id == session_id)
    }

    /// Acts on one frame. `Some` ends the transport.
    fn handle(&mut self, step: Step) -> Option<End> {
        match step {
            Step::Nothing => None,
            Step::Duplicate(cursor) => {
                tracing::debug!(%cursor, "dropped a frame already delivered");
                None
            }
            Step::Connected(data) => {
                self.on_open(Some(data.recovered));
                None
            }
            Step::Message(message) => {
                self.shared.dispatch_message(message);
                None
            }
            Step::Disconnect(DisconnectReason::SessionExpired) => Some(End::Unknown),
            Step::Disconnect(reason) => Some(End::Final(reason)),
            Step::Malformed(text) => {
                tracing::warn!(%text, "malformed frame skipped");
                self.shared.emit_event(ClientEvent::Error {
                    error: Error::Protocol(text),
                });
                None
            }
        }
    }

    async fn run_sse(&mut self) -> End {
        let Some(creds) = self.session.clone() else {
            return End::Unknown;
        };
        let deadline = Instant::now() + self.shared.options.sse_open_timeout;
        let shared = Arc::clone(&self.shared);
        let open = tokio::time::timeout_at(
            deadline,
            shared
                .api
                .open_stream(&creds.session_id, self.tracker.cursor()),
        );
        tokio::pin!(open);
        let mut frames = loop {
            tokio::select! {
                opened = &mut open => match opened {
                    Err(_) => {
                        let error = Error::Transport(String::from("no answer to the stream request in time"));
                        return failed(error, false, false);
                    }
                    Ok(Err(error)) if error.is_unknown_session() => return End::Unknown,
                    Ok(Err(error)) => {
                        let no_sse = means_no_sse(&error);
                        return failed(error, false, no_sse);
                    }
                    Ok(Ok(frames)) => break frames,
                },
                Some(id) = self.unknown_rx.recv() => {
                    if self.is_current(&id) {
                        return End::Unknown;
                    }
                }
            }
        };
        let mut opened = false;
        let mut retry: Option<u64> = None;
        loop {
            let item = tokio::select! {
                biased;
                Some(id) = self.unknown_rx.recv() => {
                    if self.is_current(&id) {
                        return End::Unknown;
                    }
                    continue;
                }
                _ = tokio::time::sleep_until(deadline), if !opened => {
                    let error = Error::Transport(String::from("the stream did not start (no connected frame) in time"));
                    return failed(error, false, true);
                }
                item = frames.next() => item,
            };
            match item {
                None => {
                    return match retry {
                        Some(ms) if opened => End::Planned(
                            Duration::from_millis(ms).min(self.shared.options.reconnect_delay_max),
                        ),
                        _ => End::Failed {
                            reason: DisconnectReason::TransportClose,
                            error: Error::Transport(String::from("the server ended the stream")),
                            opened,
                            no_sse: !opened,
                        },
                    };
                }
                Some(Err(error)) => {
                    return End::Failed {
                        reason: DisconnectReason::TransportError(error.to_string()),
                        error,
                        opened,
                        no_sse: !opened,
                    };
                }
                Some(Ok(frame)) => {
                    if frame.retry.is_some() {
                        retry = frame.retry;
                    }
                    let step = self
                        .tracker
                        .on_block(frame.id.as_deref(), frame.data.as_deref());
                    match &step {
                        Step::Connected(_) => opened = true,
                        Step::Message(_) => retry = None,
                        _ => {}
                    }
                    if let Some(end) = self.handle(step) {
                        return end;
                    }
                }
            }
        }
    }

    async fn run_polling(&mut self) -> End {
        let Some(creds) = self.session.clone() else {
            return End::Unknown;
        };
        let mut opened = false;
        if self.fresh {
            // A new session has nothing to recover: it is connected as soon as it exists.
            self.on_open(None);
            opened = true;
        }
        loop {
            let cursor = self.tracker.cursor();
            let answer = tokio::select! {
                biased;
                Some(id) = self.unknown_rx.recv() => {
                    if self.is_current(&id) {
                        return End::Unknown;
                    }
                    continue;
                }
                answer = self.shared.api.poll(&creds.session_id, cursor) => answer,
            };
            match answer {
                Ok(answer) => {
                    if !opened {
                        opened = true;
                        self.on_open(answer.recovered);
                    }
                    let empty = answer.messages.is_empty();
                    for message in answer.messages {
                        let step = self.tracker.on_polled(message);
                        if let Some(end) = self.handle(step) {
                            return end;
                        }
                    }
                    if let Some(c) = answer.cursor {
                        self.tracker.advance(c);
                    }
                    if cursor.is_none() && answer.cursor.is_none() && empty {
                        // A server without long-polling (0.6.0) answers at once: poll gently.
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                Err(error) if error.is_unknown_session() => return End::Unknown,
                Err(error) => {
                    return End::Failed {
                        reason: DisconnectReason::TransportError(error.to_string()),
                        error,
                        opened,
                        no_sse: false,
                    }
                }
            }
        }
    }
}

fn failed(error: Error, opened: bool, no_sse: bool) -> End {
    End::Failed {
        reason: DisconnectReason::TransportError(error.to_string()),
        error,
        opened,
        no_sse,
    }
}
