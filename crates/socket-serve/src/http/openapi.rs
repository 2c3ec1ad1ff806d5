//! `GET B/openapi.json`: the OpenAPI 3 description of the wire protocol, for API tools and
//! schema-driven testers (CI runs schemathesis against the chat example with it).

use axum::body::Body;
use http::{header, HeaderValue, Method, Request, Response};

/// `docs/openapi.json`, copied into the crate so that it can be packaged
/// (`tests/openapi.rs` fails when the copy is stale:
/// `cp docs/openapi.json crates/socket-serve/assets/openapi.json`).
const OPENAPI_JSON: &str = include_str!("../../assets/openapi.json");

pub(crate) fn serve<B>(req: &Request<B>) -> Response<Body> {
    let body = if req.method() == Method::HEAD {
        Body::empty()
    } else {
        Body::from(OPENAPI_JSON)
    };
    let mut res = Response::new(body);
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}
