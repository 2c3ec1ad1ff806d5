//! `GET B/openapi.json`: the OpenAPI 3 description of the wire protocol, for API tools and
//! schema-driven testers (CI runs schemathesis against the chat example with it).

use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::OriginalUri;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use serde_json::{Map, Value};

use super::error::{raw_json_response, simple_error};

/// `docs/openapi.json`, copied into the crate so that it can be packaged
/// (`tests/openapi.rs` fails when the copy is stale:
/// `cp docs/openapi.json crates/socket-serve/assets/openapi.json`).
const OPENAPI_JSON: &str = include_str!("../../assets/openapi.json");

fn document() -> Option<&'static Value> {
    static DOC: OnceLock<Option<Value>> = OnceLock::new();
    DOC.get_or_init(|| serde_json::from_str(OPENAPI_JSON).ok())
        .as_ref()
}

/// The document with its paths under `base`. The file's paths are relative to the base
/// (`/connect`, and `/` for the base itself); OpenAPI can only append paths to a server
/// URL, which would make the base's own `GET B?sessionId=..` into `B/`, so the served
/// copy names full paths instead.
fn under_base(base: &str) -> Option<Value> {
    let mut doc = document()?.clone();
    let paths = doc.get_mut("paths")?.as_object_mut()?;
    let rebased: Map<String, Value> = std::mem::take(paths)
        .into_iter()
        .map(|(path, item)| match path.as_str() {
            "/" if !base.is_empty() => (base.to_owned(), item),
            _ => (format!("{base}{path}"), item),
        })
        .collect();
    *paths = rebased;
    Some(doc)
}

pub(crate) fn serve<B>(req: &Request<B>) -> Response<Body> {
    // The path as the client sent it (a nested router sees it without its prefix).
    let path = req
        .extensions()
        .get::<OriginalUri>()
        .map_or(req.uri().path(), |OriginalUri(uri)| uri.path());
    let base = path
        .trim_end_matches('/')
        .strip_suffix("/openapi.json")
        .unwrap_or("");
    let Some(doc) = under_base(base) else {
        let message = "the embedded OpenAPI document is invalid";
        return simple_error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message);
    };
    let text = if req.method() == Method::HEAD {
        String::new()
    } else {
        doc.to_string()
    };
    let mut res = raw_json_response(StatusCode::OK, text);
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_document_parses_and_rebases() {
        assert!(document().is_some(), "assets/openapi.json is not JSON");
        let doc = under_base("/socket").unwrap();
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.contains_key("/socket"));
        assert!(paths.contains_key("/socket/connect"));
        let root = under_base("").unwrap();
        assert!(root["paths"].as_object().unwrap().contains_key("/"));
    }
}
