//! What a function answers, turned into the HTTP response a Function URL sends: a buffered
//! payload (`{statusCode, headers, multiValueHeaders, cookies, body, isBase64Encoded}`) or a
//! streaming prelude (`{statusCode, headers, cookies}`). Pure functions, no I/O.

use base64::Engine as _;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE, SET_COOKIE};
use http::{HeaderMap, StatusCode};
use serde_json::Value;

/// The eight NUL bytes between a streaming response's prelude and its body.
pub(crate) const PRELUDE_END: [u8; 8] = [0; 8];

/// Status and headers of a response.
#[derive(Debug)]
pub(crate) struct Head {
    pub status: StatusCode,
    pub headers: HeaderMap,
}

impl Head {
    /// The head with `body`.
    pub(crate) fn with_body<B>(self, body: B) -> http::Response<B> {
        let mut response = http::Response::new(body);
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }
}

/// Parses a streaming response's prelude. Header values may be strings or arrays of
/// strings (`http_serde`'s form for repeated headers); each of `cookies` becomes a
/// `Set-Cookie`.
pub(crate) fn parse_prelude(bytes: &[u8]) -> Result<Head, String> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("the prelude is not JSON: {e}"))?;
    let status = status_of(&value)?;
    let mut headers = HeaderMap::new();
    add_headers(&mut headers, value.get("headers"));
    add_cookies(&mut headers, value.get("cookies"));
    Ok(Head { status, headers })
}

/// A buffered response payload as a Function URL answers it: with a `statusCode`, the
/// status, headers, cookies and body it describes; any other JSON, a 200
/// `application/json` response with the payload as its body.
pub(crate) fn parse_buffered(payload: &[u8]) -> Result<(Head, Bytes), String> {
    let value: Value = serde_json::from_slice(payload)
        .map_err(|e| format!("the response payload is not JSON: {e}"))?;
    if value.get("statusCode").is_none() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let head = Head {
            status: StatusCode::OK,
            headers,
        };
        return Ok((head, Bytes::copy_from_slice(payload)));
    }
    let status = status_of(&value)?;
    let mut headers = HeaderMap::new();
    add_headers(&mut headers, value.get("headers"));
    add_headers(&mut headers, value.get("multiValueHeaders"));
    add_cookies(&mut headers, value.get("cookies"));
    let body = match value.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(text)) => {
            if value.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map(Bytes::from)
                    .map_err(|e| format!("the response body is not base64: {e}"))?
            } else {
                Bytes::from(text.clone())
            }
        }
        Some(other) => Bytes::from(other.to_string()),
    };
    Ok((Head { status, headers }, body))
}

fn status_of(value: &Value) -> Result<StatusCode, String> {
    let code = match value.get("statusCode") {
        None => return Ok(StatusCode::OK),
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        Some(_) => None,
    };
    code.and_then(|c| u16::try_from(c).ok())
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or_else(|| format!("invalid statusCode {:?}", value.get("statusCode")))
}

/// Adds `{name: value}` or `{name: [values]}`; a name or value HTTP cannot carry is
/// skipped. A `Set-Cookie` in the headers is kept (some runtimes put it there).
fn add_headers(headers: &mut HeaderMap, map: Option<&Value>) {
    let Some(Value::Object(map)) = map else {
        return;
    };
    for (name, value) in map {
        let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
            continue;
        };
        let values: Vec<&Value> = match value {
            Value::Array(values) => values.iter().collect(),
            other => vec![other],
        };
        for value in values {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Null => continue,
                other => other.to_string(),
            };
            if let Ok(value) = HeaderValue::from_str(&text) {
                if headers.get_all(&name).iter().all(|v| v != value) {
                    headers.append(name.clone(), value);
                }
            }
        }
    }
}

fn add_cookies(headers: &mut HeaderMap, cookies: Option<&Value>) {
    let Some(Value::Array(cookies)) = cookies else {
        return;
    };
    for cookie in cookies.iter().filter_map(Value::as_str) {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            headers.append(SET_COOKIE, value);
        }
    }
}

/// Where the prelude ends in `bytes` (the index of the first of the eight NULs).
pub(crate) fn find_prelude_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(PRELUDE_END.len())
        .position(|w| w == PRELUDE_END)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prelude_gives_status_headers_and_cookies() {
        let head = parse_prelude(
            br#"{"statusCode":201,"headers":{"content-type":"text/event-stream","x-a":["1","2"]},"cookies":["a=1; Path=/","b=2"]}"#,
        )
        .unwrap();
        assert_eq!(head.status, StatusCode::CREATED);
        assert_eq!(head.headers["content-type"], "text/event-stream");
        assert_eq!(head.headers.get_all("x-a").iter().count(), 2);
        let cookies: Vec<_> = head.headers.get_all(SET_COOKIE).iter().collect();
        assert_eq!(cookies, ["a=1; Path=/", "b=2"]);
    }

    #[test]
    fn a_bad_prelude_is_an_error_not_a_panic() {
        assert!(parse_prelude(b"{").is_err());
        assert!(parse_prelude(br#"{"statusCode":99999}"#).is_err());
        assert!(
            parse_prelude(br#"{"statusCode":200,"headers":{"bad name":"x","ok":"\n"}}"#)
                .is_ok_and(|h| h.headers.is_empty())
        );
    }

    #[test]
    fn buffered_payloads_follow_function_url_rules() {
        let (head, body) = parse_buffered(
            br#"{"statusCode":404,"headers":{"a":"1"},"multiValueHeaders":{"b":["1","2"]},"cookies":["c=1"],"body":"aGk=","isBase64Encoded":true}"#,
        )
        .unwrap();
        assert_eq!(head.status, StatusCode::NOT_FOUND);
        assert_eq!(head.headers["a"], "1");
        assert_eq!(head.headers.get_all("b").iter().count(), 2);
        assert_eq!(head.headers[SET_COOKIE], "c=1");
        assert_eq!(body, "hi");

        let (head, body) = parse_buffered(br#"{"hello":"world"}"#).unwrap();
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(head.headers[CONTENT_TYPE], "application/json");
        assert_eq!(body, r#"{"hello":"world"}"#);

        assert!(parse_buffered(b"not json").is_err());
    }

    #[test]
    fn the_prelude_end_is_found_across_the_whole_buffer() {
        assert_eq!(find_prelude_end(b"{}\0\0\0\0\0\0\0\0body"), Some(2));
        assert_eq!(find_prelude_end(b"{}\0\0\0\0\0\0\0"), None);
    }
}
