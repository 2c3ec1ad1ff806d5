//! Session ids (private credentials) and public ids.

use base64::Engine as _;
use rand::RngCore;

/// A new private session id: 128 bits from the thread's CSPRNG (ChaCha seeded by the OS),
/// as 32 lowercase hex digits.
pub(crate) fn new_session_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A new public id: 96 random bits as 16 URL-safe base64 characters. Unrelated to the
/// session id, so knowing it gives nothing.
pub(crate) fn new_public_id() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A random id for this process (its heartbeat channel on Redis).
#[cfg(feature = "redis")]
pub(crate) fn new_instance_id() -> String {
    new_public_id()
}

/// Whether `s` has the form of a session id; anything else is unknown without a store
/// look-up (and cannot smuggle odd bytes into store keys).
pub(crate) fn is_session_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_32_lowercase_hex_and_distinct() {
        let a = new_session_id();
        assert!(is_session_id(&a), "{a}");
        assert_ne!(a, new_session_id());
    }

    #[test]
    fn public_ids_are_16_url_safe_chars() {
        let p = new_public_id();
        assert_eq!(p.len(), 16);
        assert!(p
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert!(!is_session_id(&p));
    }

    #[test]
    fn session_id_form_is_strict() {
        assert!(!is_session_id("broadcast"));
        assert!(!is_session_id(&"A".repeat(32)));
        assert!(!is_session_id(&"a".repeat(33)));
    }
}
