//! Which event names the protocol accepts.

/// The longest event name, in bytes.
pub const MAX_EVENT_NAME_LEN: usize = 128;

/// Why an event name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventNameError {
    /// The name is the empty string.
    #[error("event name is empty")]
    Empty,
    /// The name is longer than [`MAX_EVENT_NAME_LEN`] bytes.
    #[error("event name is longer than {MAX_EVENT_NAME_LEN} bytes")]
    TooLong,
    /// The name contains a control character (such as a newline).
    #[error("event name contains a control character")]
    ControlCharacter,
    /// The name is reserved for the protocol itself (`connected`, or starting with `__`).
    #[error("event name {0:?} is reserved by the protocol")]
    Reserved(String),
}

/// Checks an event name: 1 to 128 bytes, no control characters, not reserved.
///
/// ```
/// use socket_serve_protocol::validate_event_name;
/// assert!(validate_event_name("chat").is_ok());
/// assert!(validate_event_name("room:update").is_ok());
/// assert!(validate_event_name("").is_err());
/// assert!(validate_event_name("bad\nname").is_err());
/// assert!(validate_event_name("__ack").is_err());
/// ```
pub fn validate_event_name(name: &str) -> Result<(), EventNameError> {
    if name.is_empty() {
        return Err(EventNameError::Empty);
    }
    if name.len() > MAX_EVENT_NAME_LEN {
        return Err(EventNameError::TooLong);
    }
    if name.chars().any(char::is_control) {
        return Err(EventNameError::ControlCharacter);
    }
    if name == crate::CONNECTED_EVENT || name.starts_with("__") {
        return Err(EventNameError::Reserved(name.to_owned()));
    }
    Ok(())
}
