//! The one error type of the crate.

use std::time::Duration;

use socket_serve_protocol::EventNameError;

/// Everything that can go wrong in this crate, as a value.
///
/// Errors are `Clone` so that one failure can be handed to every event subscriber. Network
/// failures keep their message (and the chain of causes) as text.
///
/// ```
/// use socket_serve_client::Error;
///
/// let e = Error::Status {
///     status: 404,
///     code: Some("unknown_session".into()),
///     message: "no such session".into(),
///     retry_after: None,
/// };
/// assert!(e.is_unknown_session());
/// assert!(!e.is_retryable());
/// assert_eq!(e.status(), Some(404));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The base URL could not be parsed, or is not `http`/`https`.
    #[error("invalid url {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An option had an impossible value (such as a header that is not valid HTTP).
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// The client was started outside a Tokio runtime.
    #[error("no Tokio runtime: a client must be started from inside a Tokio runtime")]
    NoRuntime,
    /// The event name cannot be sent (empty, too long, control characters, or reserved).
    #[error("invalid event name: {0}")]
    InvalidEvent(#[from] EventNameError),
    /// The payload could not be turned into JSON.
    #[error("payload could not be serialized: {0}")]
    Serialize(String),
    /// The send buffer already holds the configured maximum of emits that are not sent yet.
    #[error("send buffer full: {0} emits are already waiting to be sent")]
    BufferFull(usize),
    /// A payload (a message's `data`, or an ack reply) does not have the shape the handler
    /// or the caller asked for.
    #[error("payload of event {event:?} does not have the expected shape: {message}")]
    Payload {
        /// The event whose payload did not fit.
        event: String,
        /// What serde said about it.
        message: String,
    },
    /// The server answered with an error status. `code` is the stable code of the error body
    /// (`unknown_session`, `invalid_payload`, ...), when the body was one.
    #[error("server answered {status}{}: {message}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The `code` of the error body, if the server sent one.
        code: Option<String>,
        /// The `error` of the error body, or the start of the body.
        message: String,
        /// The answer's `Retry-After` (a 429 `rate_limited`, a 503): no retry goes out
        /// sooner.
        retry_after: Option<std::time::Duration>,
    },
    /// The server refused to open a session: `POST {base}/connect` answered an error status,
    /// such as a 401 or 403 of the app's authorization or `on_connect` handler
    /// (`connect_rejected`, `unauthorized`...), or a 503 while the server's store is down.
    ///
    /// [`Client::wait_connected`](crate::Client::wait_connected) returns it, as does
    /// [`Client::open`](crate::Client::open) on a client that a rejection closed. A 4xx is
    /// final (the client closes); a 5xx is retried with backoff
    /// ([`is_retryable`](Self::is_retryable)).
    ///
    /// ```
    /// use socket_serve_client::Error;
    ///
    /// let e = Error::Rejected {
    ///     status: 403,
    ///     code: Some("connect_rejected".into()),
    ///     message: "no entry".into(),
    ///     retry_after: None,
    /// };
    /// assert_eq!(e.to_string(), "connect rejected: server answered 403 connect_rejected: no entry");
    /// assert_eq!((e.status(), e.code(), e.message()), (Some(403), Some("connect_rejected"), Some("no entry")));
    /// assert!(!e.is_retryable());
    /// ```
    #[error("connect rejected: server answered {status}{}: {message}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Rejected {
        /// The HTTP status code of the connect answer.
        status: u16,
        /// The `code` of the error body, if the server sent one.
        code: Option<String>,
        /// The `error` of the error body (the reason the app gave), or the start of the body.
        message: String,
        /// The answer's `Retry-After` (a 429 `rate_limited`, a 503): no retry goes out
        /// sooner.
        retry_after: Option<std::time::Duration>,
    },
    /// The request did not get an answer: connection refused or reset, DNS, a timeout of the
    /// HTTP client, or a stream that stalled.
    #[error("transport error: {0}")]
    Transport(String),
    /// The server answered something that is not the protocol (wrong content type,
    /// unparseable JSON).
    #[error("protocol error: {0}")]
    Protocol(String),
    /// Waiting (for an ack, for a connection) took longer than allowed.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The client is closed: `disconnect()` was called, the server ended the session, or the
    /// client gave up connecting. Pending emits fail with this. When the client closed
    /// because of an error (a rejected connect, attempts used up),
    /// [`open`](crate::Client::open), [`emit`](crate::Client::emit) and
    /// [`wait_connected`](crate::Client::wait_connected) return that error instead.
    #[error("the client is closed")]
    Closed,
}

impl Error {
    /// The HTTP status of a [`Error::Status`] or [`Error::Rejected`].
    ///
    /// ```
    /// # use socket_serve_client::Error;
    /// assert_eq!(Error::Closed.status(), None);
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Status { status, .. } | Error::Rejected { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The error code of a [`Error::Status`] or [`Error::Rejected`] (`"unknown_session"`,
    /// `"invalid_payload"`, `"connect_rejected"`...).
    ///
    /// ```
    /// # use socket_serve_client::Error;
    /// let e = Error::Status { status: 400, code: Some("invalid_event".into()), message: String::new(), retry_after: None };
    /// assert_eq!(e.code(), Some("invalid_event"));
    /// ```
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Status { code, .. } | Error::Rejected { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// The server's message of a [`Error::Status`] or [`Error::Rejected`] (the `error` of
    /// its error body: for a rejected connect, the reason the app gave).
    ///
    /// ```
    /// # use socket_serve_client::Error;
    /// let e = Error::Rejected { status: 401, code: Some("unauthorized".into()), message: "log in first".into(), retry_after: None };
    /// assert_eq!(e.message(), Some("log in first"));
    /// assert_eq!(Error::Closed.message(), None);
    /// ```
    pub fn message(&self) -> Option<&str> {
        match self {
            Error::Status { message, .. } | Error::Rejected { message, .. } => Some(message),
            _ => None,
        }
    }

    /// How long the server asked a retry to wait (`Retry-After` of a 429 or 503), if it did.
    ///
    /// ```
    /// # use socket_serve_client::Error;
    /// # use std::time::Duration;
    /// let e = Error::Status { status: 429, code: Some("rate_limited".into()), message: String::new(), retry_after: Some(Duration::from_secs(2)) };
    /// assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
    /// assert!(e.is_retryable());
    /// ```
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Error::Status { retry_after, .. } | Error::Rejected { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The wait before retrying after this error: `backoff`, but never less than the
    /// server's `Retry-After`.
    pub(crate) fn retry_delay(&self, backoff: std::time::Duration) -> std::time::Duration {
        self.retry_after()
            .map_or(backoff, |after| after.max(backoff))
    }

    /// Whether this is an [`Error::Rejected`]: the server refused to open a session.
    ///
    /// ```
    /// # use socket_serve_client::Error;
    /// let e = Error::Rejected { status: 403, code: None, message: "no".into(), retry_after: None };
    /// assert!(e.is_rejected());
    /// assert!(!Error::Closed.is_rejected());
    /// ```
    pub fn is_rejected(&self) -> bool {
        matches!(self, Error::Rejected { .. })
    }

    /// Whether this is the server's 404 `unknown_session`: the session expired or never
    /// existed, and only a new one helps.
    ///
    /// ```
    /// # use socket_serve_client::Error;
    /// let e = Error::Status { status: 404, code: Some("not_found".into()), message: String::new(), retry_after: None };
    /// assert!(!e.is_unknown_session());
    /// ```
    pub fn is_unknown_session(&self) -> bool {
        matches!(self, Error::Status { status: 404, code: Some(c), .. } if c == "unknown_session")
    }

    /// Whether the same request may succeed if sent again: transport failures, timeouts,
    /// 5xx answers, 408 and 429, and 409 `message_in_progress` (a repeat of an emit whose
    /// first attempt is still running on the server). Other 4xx answers are final.
    ///
    /// ```
    /// # use socket_serve_client::Error;
    /// assert!(Error::Transport("connection refused".into()).is_retryable());
    /// let e = Error::Status { status: 503, code: Some("store_unavailable".into()), message: String::new(), retry_after: None };
    /// assert!(e.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(_) | Error::Timeout(_) => true,
            Error::Status { status, code, .. } | Error::Rejected { status, code, .. } => {
                *status >= 500
                    || *status == 408
                    || *status == 429
                    || (*status == 409 && code.as_deref() == Some("message_in_progress"))
            }
            _ => false,
        }
    }

    /// The error of a failed `POST /connect`: an error status becomes [`Error::Rejected`],
    /// anything else stays as it is.
    pub(crate) fn into_rejection(self) -> Error {
        match self {
            Error::Status {
                status,
                code,
                message,
                retry_after,
            } => Error::Rejected {
                status,
                code,
                message,
                retry_after,
            },
            other => other,
        }
    }

    pub(crate) fn transport(e: &(dyn std::error::Error + 'static)) -> Error {
        Error::Transport(chain(e))
    }

    pub(crate) fn payload(event: &str, e: &serde_json::Error) -> Error {
        Error::Payload {
            event: event.to_owned(),
            message: e.to_string(),
        }
    }
}

/// An error and its causes, as one line.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_status_and_code() {
        let e = Error::Status {
            status: 400,
            code: Some("invalid_payload".into()),
            message: "bad".into(),
            retry_after: None,
        };
        assert_eq!(e.to_string(), "server answered 400 invalid_payload: bad");
        let e = Error::Status {
            status: 502,
            code: None,
            message: "gateway".into(),
            retry_after: None,
        };
        assert_eq!(e.to_string(), "server answered 502: gateway");
        assert!(e.is_retryable());
    }

    #[test]
    fn rejections_keep_status_code_and_message() {
        let e = Error::Status {
            status: 503,
            code: Some("store_unavailable".into()),
            message: "the store is down".into(),
            retry_after: None,
        }
        .into_rejection();
        assert_eq!(
            e,
            Error::Rejected {
                status: 503,
                code: Some("store_unavailable".into()),
                message: "the store is down".into(),
                retry_after: None,
            }
        );
        assert!(e.is_retryable(), "a 503 connect is retried");
        assert_eq!(
            Error::Transport("refused".into()).into_rejection(),
            Error::Transport("refused".into())
        );
        let no_body = Error::Rejected {
            status: 401,
            code: None,
            message: "Unauthorized".into(),
            retry_after: None,
        };
        assert_eq!(
            no_body.to_string(),
            "connect rejected: server answered 401: Unauthorized"
        );
        assert!(!no_body.is_retryable());
    }

    #[test]
    fn four_hundreds_are_final() {
        let in_progress = Error::Status {
            status: 409,
            code: Some("message_in_progress".into()),
            message: String::new(),
            retry_after: None,
        };
        assert!(in_progress.is_retryable());
        for status in [400, 403, 404, 405, 409, 413] {
            let e = Error::Status {
                status,
                code: None,
                message: String::new(),
                retry_after: None,
            };
            assert!(!e.is_retryable(), "{status}");
        }
    }
}
