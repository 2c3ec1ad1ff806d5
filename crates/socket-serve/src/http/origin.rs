//! The origin check in front of every endpoint, and the CORS headers for allowed origins.
//!
//! The check refuses before routing, so a disallowed origin creates nothing: browsers send
//! some cross-origin requests ("simple" `text/plain` POSTs) without asking first, and only
//! hide the answer from the page afterwards, which would be too late for `/connect`.

use std::sync::Arc;

use axum::body::Body;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

use super::error::simple_error;
use crate::cors::{AllowedOrigins, CorsConfig, Origin};

/// Decides per request whether its `Origin` may call.
#[derive(Debug, Clone)]
pub(crate) struct OriginPolicy {
    allowed: Arc<AllowedOrigins>,
}

impl OriginPolicy {
    pub(crate) fn new(config: &CorsConfig) -> OriginPolicy {
        OriginPolicy {
            allowed: Arc::new(config.allowed_origins.clone()),
        }
    }

    /// The 403 answer for a request from a disallowed origin; `None` when the request has
    /// no `Origin`, comes from the server's own origin, or from an allowed one.
    pub(crate) fn refusal<B>(&self, req: &Request<B>) -> Option<Response<Body>> {
        let mut origins = req.headers().get_all(header::ORIGIN).iter().peekable();
        origins.peek()?;
        let authority = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| req.uri().authority().map(|a| a.as_str()));
        for value in origins {
            if !self.allows(value, authority) {
                let shown = String::from_utf8_lossy(value.as_bytes());
                tracing::debug!(origin = %shown, "request from a disallowed origin refused");
                return Some(forbidden(&shown));
            }
        }
        None
    }

    fn allows(&self, value: &HeaderValue, authority: Option<&str>) -> bool {
        if *self.allowed == AllowedOrigins::Any {
            return true;
        }
        // `null` (sandboxed frames, file: pages) and anything unparsable are foreign.
        let Some(origin) = value.to_str().ok().and_then(|v| v.parse::<Origin>().ok()) else {
            return false;
        };
        authority.is_some_and(|a| origin.is_same_site_as(a)) || self.allowed.allows(origin)
    }
}

fn forbidden(origin: &str) -> Response<Body> {
    let origin: String = origin.chars().take(200).collect();
    simple_error(
        StatusCode::FORBIDDEN,
        "origin_forbidden",
        &format!("requests from origin {origin:?} are not allowed here"),
    )
}

/// The CORS layer for origins that passed the check; `None` when only the server's own
/// origin is allowed (same-origin answers need no CORS headers).
pub(crate) fn cors_layer(config: &CorsConfig) -> Option<CorsLayer> {
    let policy = OriginPolicy::new(config);
    let allow_origin = match &config.allowed_origins {
        AllowedOrigins::SameOrigin => return None,
        AllowedOrigins::Any => AllowOrigin::any(),
        // The same rule as the check, so the headers name exactly what it let through.
        AllowedOrigins::List(_) => AllowOrigin::predicate(move |origin, parts| {
            let authority = parts
                .headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok());
            policy.allows(origin, authority)
        }),
    };
    let layer = CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::HEAD, Method::POST])
        // Whatever the page asks for: `Content-Type`, `Last-Event-ID`, `Authorization` or
        // the app's own headers for `authorize`; the origin is trusted already.
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([header::RETRY_AFTER, header::ETAG])
        .max_age(config.max_age);
    let credentials = config.allow_credentials && config.allowed_origins != AllowedOrigins::Any;
    Some(layer.allow_credentials(credentials))
}

#[cfg(test)]
mod tests {
    use tower::Layer;

    use super::*;

    fn request(origin: Option<&str>, host: &str) -> Request<()> {
        let mut builder = Request::post("/connect").header(header::HOST, host);
        if let Some(origin) = origin {
            builder = builder.header(header::ORIGIN, origin);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn by_default_only_requests_without_origin_or_from_the_own_origin_pass() {
        let policy = OriginPolicy::new(&CorsConfig::default());
        assert!(policy.refusal(&request(None, "a.example")).is_none());
        let own = request(Some("https://a.example"), "a.example");
        assert!(policy.refusal(&own).is_none());
        for foreign in [
            "https://evil.example",
            "null",
            "garbage",
            "http://a.example:81",
        ] {
            let refused = policy.refusal(&request(Some(foreign), "a.example"));
            let status = refused.map(|r| r.status());
            assert_eq!(status, Some(StatusCode::FORBIDDEN), "{foreign}");
        }
    }

    #[test]
    fn listed_origins_pass_and_any_lets_everyone_through() {
        let listed = CorsConfig {
            allowed_origins: AllowedOrigins::list(["https://app.example"]).unwrap(),
            ..CorsConfig::default()
        };
        let policy = OriginPolicy::new(&listed);
        let app = request(Some("https://app.example"), "api.example");
        assert!(policy.refusal(&app).is_none());
        let other = request(Some("https://other.example"), "api.example");
        assert!(policy.refusal(&other).is_some());
        let any = CorsConfig {
            allowed_origins: AllowedOrigins::Any,
            allow_credentials: true,
            ..CorsConfig::default()
        };
        let null = request(Some("null"), "api.example");
        assert!(OriginPolicy::new(&any).refusal(&null).is_none());
        // tower-http refuses credentials with `*`; building the layer must not panic.
        let endpoints = tower::service_fn(|_: Request<Body>| async {
            Ok::<_, std::convert::Infallible>(Response::new(Body::empty()))
        });
        let _ = cors_layer(&any).expect("a layer").layer(endpoints);
    }
}
