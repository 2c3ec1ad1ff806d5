//! `GET B/client.js`: the JavaScript client, embedded in the binary, so a page can
//! `import { connect } from "/socket/client.js"` with no npm at all.

use std::sync::OnceLock;

use axum::body::Body;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};

/// The ES module of `clients/js`, exactly as published: a byte-for-byte copy of
/// `clients/js/src/index.js` kept inside the crate so that it can be packaged
/// (`tests/client_js_copy.rs` fails when the copy is stale; refresh it with
/// `bash scripts/sync-client-js.sh`).
const CLIENT_JS: &str = include_str!("../../assets/client.js");

fn etag() -> &'static str {
    static ETAG: OnceLock<String> = OnceLock::new();
    ETAG.get_or_init(|| {
        // FNV-1a: stable across builds and processes, unlike std's randomized hasher.
        let hash = CLIENT_JS.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        format!("\"{hash:016x}\"")
    })
}

pub(crate) fn serve<B>(req: &Request<B>) -> Response<Body> {
    let tag = etag();
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut res = if fresh {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else if req.method() == Method::HEAD {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(CLIENT_JS))
    };
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300, must-revalidate"),
    );
    if let Ok(value) = HeaderValue::from_str(tag) {
        headers.insert(header::ETAG, value);
    }
    res
}
