//! Reading request bodies: bounded in size, parsed as JSON, with errors a client can act on.

use axum::body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;

use crate::error::Error;

/// Reads at most `limit` bytes; a larger body is a 413, whatever its Content-Length says.
pub(crate) async fn read_limited(body: Body, limit: usize) -> Result<bytes::Bytes, Error> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => {
            Err(Error::PayloadTooLarge(limit))
        }
        Err(err) => Err(Error::InvalidJson(format!(
            "could not read the body: {err}"
        ))),
    }
}

/// Parses a JSON body; an empty (or all-whitespace) body is `T::default()` when `empty_ok`.
pub(crate) fn parse_json<T: DeserializeOwned + Default>(
    bytes: &[u8],
    empty_ok: bool,
) -> Result<T, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        if empty_ok {
            return Ok(T::default());
        }
        return Err(Error::InvalidJson(
            "the body is empty; expected a JSON object".into(),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| Error::InvalidJson(e.to_string()))
}
