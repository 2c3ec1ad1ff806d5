//! Errors as HTTP answers: a status and `{"error": ..., "code": ...}`.

use axum::body::Body;
use http::{header, HeaderValue, Response, StatusCode};
use socket_serve_protocol::ErrorBody;

use crate::error::Error;

/// The JSON answer for an error; 5xx are logged (4xx are the client's business).
pub(crate) fn error_response(err: &Error) -> Response<Body> {
    let status = err.status();
    if status.is_server_error() {
        tracing::error!(code = err.code(), error = %err, "request failed");
    } else {
        tracing::debug!(code = err.code(), error = %err, "request refused");
    }
    let body = ErrorBody {
        error: err.public_message(),
        code: err.code().to_owned(),
    };
    let mut response = json_response(status, &body);
    if let Error::RateLimited { retry_after } = err {
        let secs = crate::store::retry_after_secs(*retry_after);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// A plain error answer for failures that are not an [`Error`] (routing).
pub(crate) fn simple_error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let body = ErrorBody {
        error: message.to_owned(),
        code: code.to_owned(),
    };
    json_response(status, &body)
}

pub(crate) fn json_response<T: serde::Serialize>(status: StatusCode, body: &T) -> Response<Body> {
    let text = serde_json::to_string(body).unwrap_or_else(|_| String::from("{}"));
    raw_json_response(status, text)
}

pub(crate) fn raw_json_response(status: StatusCode, text: String) -> Response<Body> {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
