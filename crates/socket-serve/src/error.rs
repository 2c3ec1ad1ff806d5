//! The library's errors: [`Error`] for everything socket-serve does, [`HandlerError`] for
//! what an app's handler reports.

use std::fmt;

use http::StatusCode;
use socket_serve_protocol::{CursorParseError, EventNameError};

use crate::store::StoreError;

/// What went wrong in socket-serve. Each variant maps to one HTTP status and one stable
/// `code` in the JSON error body (see `docs/PROTOCOL.md`, section 5).
///
/// ```
/// use socket_serve::Error;
/// let err = Error::UnknownSession;
/// assert_eq!(err.code(), "unknown_session");
/// assert_eq!(err.status(), http::StatusCode::NOT_FOUND);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No such session, or it expired or was disconnected.
    #[error("unknown or expired session")]
    UnknownSession,
    /// An event name the protocol does not allow.
    #[error("invalid event name: {0}")]
    InvalidEvent(#[from] EventNameError),
    /// A room name the protocol does not allow.
    #[error("invalid room name: {0}")]
    InvalidRoom(&'static str),
    /// A `messageId` the protocol does not allow.
    #[error("invalid messageId: {0}")]
    InvalidMessageId(&'static str),
    /// The payload does not have the shape the handler's type asks for.
    #[error("invalid payload for event {event:?}: {detail}")]
    InvalidPayload {
        /// The event.
        event: String,
        /// What serde said.
        detail: String,
    },
    /// A required field is missing or empty.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// The body is not JSON of the expected shape.
    #[error("invalid JSON body: {0}")]
    InvalidJson(String),
    /// A `Last-Event-ID` or `lastEventId` that is not a cursor.
    #[error(transparent)]
    InvalidCursor(#[from] CursorParseError),
    /// The body is larger than `max_body_size`.
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// A value could not be turned into JSON, or stored JSON into the asked type.
    #[error("JSON conversion failed: {0}")]
    Json(#[from] serde_json::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An app handler failed.
    #[error("{0}")]
    Handler(HandlerError),
    /// A repeat of a client message that is still being handled did not finish in time.
    #[error("message {0:?} is still being handled; retry later")]
    MessageInProgress(String),
    /// The configuration cannot be used.
    #[error("configuration error: {0}")]
    Config(String),
    /// A client emitted an event that has no handler, under `strict_events`.
    #[error("no handler for event {0:?}")]
    UnknownEvent(String),
    /// An SSE stream was asked of a host that buffers whole responses (such as AWS Lambda
    /// served by `lambda_http::run`, or Netlify): it would never reach the client.
    #[error("this host buffers responses, so an SSE stream would never arrive: use long-polling (transport=polling), or on AWS Lambda serve through socket_serve::lambda::run behind a Function URL with invoke mode RESPONSE_STREAM")]
    SseUnsupported,
    /// A server emit that asked for a reply (`emit_with_ack`) got none in time.
    #[error("no reply to {event:?} within {after:?}")]
    AckTimeout {
        /// The event of the emit.
        event: String,
        /// How long it waited.
        after: std::time::Duration,
    },
    /// A message's `data` (or an ack's reply) is larger than
    /// [`Config::max_message_size`](crate::Config::max_message_size).
    #[error("message data is larger than {0} bytes")]
    MessageTooLarge(usize),
    /// A join past [`Config::max_rooms_per_session`](crate::Config::max_rooms_per_session).
    #[error("a session may be in at most {0} rooms")]
    TooManyRooms(usize),
    /// An `ackId` the protocol does not allow (`POST B/ack`).
    #[error("invalid ackId: 1 to 64 letters, digits, '-' or '_'")]
    InvalidAckId,
    /// A state write that would pass
    /// [`Config::max_state_keys`](crate::Config::max_state_keys) or
    /// [`Config::max_state_bytes`](crate::Config::max_state_bytes).
    #[error("a session's state may hold at most {} keys and {} bytes", .0.max_keys, .0.max_bytes)]
    StateTooLarge(crate::store::StateQuota),
    /// A retry of a `messageId` whose answer was larger than
    /// [`Config::max_kept_answer`](crate::Config::max_kept_answer): it was handled and
    /// answered once, and is not run again.
    #[error("message {0:?} was handled; its answer was too large to keep for retries")]
    AnswerNotKept(String),
    /// A session's or a client address's rate limit
    /// ([`Config::rate_limits`](crate::Config::rate_limits)) is spent for now.
    #[error("too many requests; retry in {} s", crate::store::retry_after_secs(*.retry_after))]
    RateLimited {
        /// How long until the next request may go through (sent as `Retry-After`).
        retry_after: std::time::Duration,
    },
}

impl Error {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::UnknownSession => StatusCode::NOT_FOUND,
            Error::InvalidEvent(_)
            | Error::InvalidRoom(_)
            | Error::InvalidMessageId(_)
            | Error::InvalidPayload { .. }
            | Error::MissingField(_)
            | Error::InvalidJson(_)
            | Error::InvalidCursor(_)
            | Error::InvalidAckId => StatusCode::BAD_REQUEST,
            Error::PayloadTooLarge(_) | Error::MessageTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Json(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Error::Store(StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Store(StoreError::Corrupt(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            Error::Handler(h) => h.status,
            Error::MessageInProgress(_) => StatusCode::CONFLICT,
            Error::Config(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Error::SseUnsupported => StatusCode::NOT_IMPLEMENTED,
            Error::UnknownEvent(_) => StatusCode::NOT_FOUND,
            Error::AckTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            Error::TooManyRooms(_) => StatusCode::FORBIDDEN,
            Error::StateTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::AnswerNotKept(_) => StatusCode::GONE,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The stable code of the JSON error body.
    pub fn code(&self) -> &str {
        match self {
            Error::UnknownSession => "unknown_session",
            Error::InvalidEvent(_) => "invalid_event",
            Error::InvalidRoom(_) => "invalid_room",
            Error::InvalidMessageId(_) => "invalid_message_id",
            Error::InvalidPayload { .. } => "invalid_payload",
            Error::MissingField(_) => "missing_field",
            Error::InvalidJson(_) => "invalid_json",
            Error::InvalidCursor(_) => "invalid_cursor",
            Error::PayloadTooLarge(_) => "payload_too_large",
            Error::Json(_) => "internal_error",
            Error::Store(StoreError::Unavailable(_)) => "store_unavailable",
            Error::Store(StoreError::Corrupt(_)) => "internal_error",
            Error::Handler(h) => &h.code,
            Error::MessageInProgress(_) => "message_in_progress",
            Error::Config(_) => "internal_error",
            Error::SseUnsupported => "sse_unsupported",
            Error::UnknownEvent(_) => "unknown_event",
            Error::AckTimeout { .. } => "ack_timeout",
            Error::InvalidAckId => "invalid_ack_id",
            Error::TooManyRooms(_) => "too_many_rooms",
            Error::MessageTooLarge(_) => "message_too_large",
            Error::StateTooLarge(_) => "state_too_large",
            Error::AnswerNotKept(_) => "answer_not_kept",
            Error::RateLimited { .. } => "rate_limited",
        }
    }

    /// The message for a person, in the JSON error body. Internal details (store and
    /// handler failures) are logged, not sent.
    pub fn public_message(&self) -> String {
        match self {
            Error::Store(StoreError::Unavailable(_)) => "the store is unavailable; retry".into(),
            Error::Store(StoreError::Corrupt(_)) | Error::Json(_) | Error::Config(_) => {
                "internal error".into()
            }
            Error::Handler(h) => h.message.clone(),
            other => other.to_string(),
        }
    }
}

impl From<HandlerError> for Error {
    fn from(err: HandlerError) -> Self {
        Error::Handler(err)
    }
}

/// An app handler's failure: a status, a stable code and a message for the client.
///
/// Anything that converts into a boxed error converts into one, so `?` works in handlers
/// on `std::error::Error`s, `anyhow::Error`, strings: as a 500 `handler_error` whose
/// detail is logged but not sent, except socket-serve's own [`Error`], which keeps its
/// status and code. [`HandlerError::reject`] refuses a connection or a message with 403.
///
/// ```
/// use socket_serve::HandlerError;
///
/// fn check(token: &str) -> Result<(), HandlerError> {
///     if token != "secret" {
///         return Err(HandlerError::reject("bad token"));
///     }
///     let _n: u32 = "42".parse()?; // any std error converts
///     Ok(())
/// }
/// assert_eq!(check("nope").unwrap_err().status(), http::StatusCode::FORBIDDEN);
/// assert!(check("secret").is_ok());
/// ```
pub struct HandlerError {
    status: StatusCode,
    code: String,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl HandlerError {
    /// An error with the status, code and message the client gets.
    ///
    /// ```
    /// # use socket_serve::HandlerError;
    /// let e = HandlerError::new(http::StatusCode::TOO_MANY_REQUESTS, "slow_down", "one at a time");
    /// assert_eq!(e.code(), "slow_down");
    /// ```
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        HandlerError {
            status,
            code: code.into(),
            message: message.into(),
            source: None,
        }
    }

    /// Refuses the connection (in `on_connect`: 403 `connect_rejected`) or the message
    /// (403 `rejected`), telling the client why.
    ///
    /// ```
    /// # use socket_serve::HandlerError;
    /// assert_eq!(HandlerError::reject("no").to_string(), "no");
    /// ```
    pub fn reject(message: impl Into<String>) -> Self {
        HandlerError::new(StatusCode::FORBIDDEN, "rejected", message)
    }

    /// 401 `unauthorized`: the request carries no valid credentials (from
    /// [`SocketServe::authorize`](crate::SocketServe::authorize), typically).
    ///
    /// ```
    /// # use socket_serve::HandlerError;
    /// assert_eq!(HandlerError::unauthorized("log in first").status(), 401);
    /// ```
    pub fn unauthorized(message: impl Into<String>) -> Self {
        HandlerError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403 `forbidden`: the credentials are valid but do not allow this.
    ///
    /// ```
    /// # use socket_serve::HandlerError;
    /// assert_eq!(HandlerError::forbidden("admins only").code(), "forbidden");
    /// ```
    pub fn forbidden(message: impl Into<String>) -> Self {
        HandlerError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The underlying error, when it came from one.
    pub fn source_error(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.source.as_deref()
    }

    pub(crate) fn with_code(mut self, code: &str) -> Self {
        self.code = code.to_owned();
        self
    }
}

/// What a handler returns: `Ok` with its ack (or `()`), or the error the client gets.
/// Handlers written as `async fn` with this return type need no annotations.
///
/// ```
/// use socket_serve::{Ack, HandlerResult, Socket};
///
/// async fn add(_socket: Socket, (a, b): (i64, i64)) -> HandlerResult<Ack<i64>> {
///     let c: i64 = "1".parse()?; // any error converts
///     Ok(Ack(a + b + c))
/// }
/// let io = socket_serve::SocketServe::new(Default::default()).unwrap();
/// io.on_message("add", add);
/// ```
pub type HandlerResult<T = ()> = Result<T, HandlerError>;

/// The boxed error every handler error type converts into (`anyhow::Error`, any
/// `std::error::Error`, `String` and `&str` included).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl<E: Into<BoxError>> From<E> for HandlerError {
    /// socket-serve's own [`Error`] keeps its status and code (a Redis outage inside a
    /// handler is still a 503 the clients retry, a bad room still a 400 `invalid_room`);
    /// anything else is a 500 `handler_error` whose detail is logged, not sent.
    fn from(err: E) -> Self {
        let err: BoxError = err.into();
        match err.downcast::<Error>() {
            Ok(own) => HandlerError {
                status: own.status(),
                code: own.code().to_owned(),
                message: own.public_message(),
                source: Some(own),
            },
            Err(other) => HandlerError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "handler_error".into(),
                message: "the handler failed".into(),
                source: Some(other),
            },
        }
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(source) = &self.source {
            write!(f, " ({source})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerError")
            .field("status", &self.status)
            .field("code", &self.code)
            .field("message", &self.message)
            .field("source", &self.source)
            .finish()
    }
}
