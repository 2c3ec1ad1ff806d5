//! The invocation event a Function URL sends: API Gateway payload format 2.0, built from
//! one buffered HTTP request. Pure functions, no I/O.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{json, Map, Value};

/// The account id a Function URL with `AuthType: NONE` reports.
const ACCOUNT_ID: &str = "anonymous";

/// The parts of a request that go into an event.
pub(crate) struct RequestParts<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub version: http::Version,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
    pub peer: SocketAddr,
    /// The port the front listens on (`x-forwarded-port`).
    pub front_port: u16,
    pub trace_id: &'a str,
    pub request_id: &'a str,
    pub api_id: &'a str,
    pub now: SystemTime,
}

/// The payload format 2.0 event for `request`, as a Function URL builds it: header names in
/// lower case, repeated headers joined with commas, cookies moved out of the headers into
/// `cookies`, the `x-forwarded-*` and `x-amzn-trace-id` headers added, the body
/// base64-encoded unless it is UTF-8 text. `x-forwarded-proto` says `http`, which the
/// local front speaks (a real Function URL says `https`).
pub(crate) fn function_url_event(request: &RequestParts<'_>) -> Value {
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for name in request.headers.keys() {
        let values: Vec<String> = request
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        if name == http::header::COOKIE {
            for value in &values {
                cookies.extend(
                    value
                        .split(';')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(str::to_owned),
                );
            }
            continue;
        }
        headers.insert(name.as_str().to_owned(), Value::String(values.join(",")));
    }
    let peer_ip = request.peer.ip().to_string();
    let forwarded_for = match headers.get("x-forwarded-for").and_then(Value::as_str) {
        Some(earlier) if !earlier.is_empty() => format!("{earlier}, {peer_ip}"),
        _ => peer_ip.clone(),
    };
    for (name, value) in [
        ("x-forwarded-for", forwarded_for),
        ("x-forwarded-proto", "http".to_owned()),
        ("x-forwarded-port", request.front_port.to_string()),
        ("x-amzn-trace-id", request.trace_id.to_owned()),
    ] {
        headers.insert(name.to_owned(), Value::String(value));
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let user_agent = header("user-agent");
    let host = header("host");
    let domain_name = if host.is_empty() {
        format!("{}.lambda-url.us-east-1.on.aws", request.api_id)
    } else {
        host
    };
    let domain_prefix = domain_name.split('.').next().unwrap_or_default().to_owned();
    let epoch_ms = request
        .now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();

    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.path,
        "rawQueryString": request.query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": request.api_id,
            "domainName": domain_name,
            "domainPrefix": domain_prefix,
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": protocol(request.version),
                "sourceIp": peer_ip,
                "userAgent": user_agent,
            },
            "requestId": request.request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": clf_time(epoch_ms),
            "timeEpoch": epoch_ms,
        },
        "isBase64Encoded": false,
    });
    let Some(object) = event.as_object_mut() else {
        return event;
    };
    if !cookies.is_empty() {
        object.insert("cookies".into(), json!(cookies));
    }
    if !request.query.is_empty() {
        object.insert(
            "queryStringParameters".into(),
            Value::Object(query_parameters(request.query)),
        );
    }
    if !request.body.is_empty() {
        match std::str::from_utf8(request.body) {
            Ok(text) => {
                object.insert("body".into(), Value::String(text.to_owned()));
            }
            Err(_) => {
                let encoded = base64::engine::general_purpose::STANDARD.encode(request.body);
                object.insert("body".into(), Value::String(encoded));
                object.insert("isBase64Encoded".into(), Value::Bool(true));
            }
        }
    }
    event
}

fn protocol(version: http::Version) -> &'static str {
    match version {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// `queryStringParameters`: decoded names and values, repeated names joined with commas.
fn query_parameters(query: &str) -> Map<String, Value> {
    let mut parameters = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (name, value) = (percent_decode(name), percent_decode(value));
        match parameters.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                parameters.insert(name, Value::String(value));
            }
        }
    }
    parameters
}

/// `%XX` and `+` decoded; malformed escapes are kept as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `requestContext.time`: `12/Mar/2020:19:03:58 +0000`.
pub(crate) fn clf_time(epoch_ms: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = epoch_ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{day:02}/{}/{year:04}:{:02}:{:02}:{:02} +0000",
        MONTHS[(month as usize).saturating_sub(1).min(11)],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `yyyy/mm/dd`, as log stream names start.
pub(crate) fn log_date(epoch_ms: i64) -> String {
    let (year, month, day) = civil_from_days(epoch_ms.div_euclid(1000).div_euclid(86_400));
    format!("{year:04}/{month:02}/{day:02}")
}

/// Year, month (1-12), day (1-31) of a count of days since 1970-01-01 (Howard Hinnant's
/// algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// 128 random-looking bits (std's randomly keyed hasher over a counter and the clock).
pub(crate) fn random_u128() -> u128 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let half = || {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        hasher.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        hasher.finish()
    };
    (u128::from(half()) << 64) | u128::from(half())
}

/// A version-4 UUID string, as Lambda request ids are.
pub(crate) fn request_id() -> String {
    let bits = (random_u128() & !(0xf000 << 64) | (0x4000 << 64)) & !(0xc << 60) | (0x8 << 60);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// An X-Ray trace header: `Root=1-<epoch hex>-<96 bits>;Parent=<64 bits>;Sampled=0`.
pub(crate) fn trace_id(now: SystemTime) -> String {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let bits = random_u128();
    format!(
        "Root=1-{secs:08x}-{:024x};Parent={:016x};Sampled=0",
        bits >> 32,
        bits as u64
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_is_in_common_log_format() {
        assert_eq!(clf_time(0), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(clf_time(1_584_039_838_000), "12/Mar/2020:19:03:58 +0000");
        assert_eq!(clf_time(951_782_400_000), "29/Feb/2000:00:00:00 +0000");
        assert_eq!(log_date(1_584_039_838_000), "2020/03/12");
    }

    #[test]
    fn query_parameters_are_decoded_and_repeats_joined() {
        let p = query_parameters("a=1&b=x%20y&a=2&c&d=%zz&e=%4");
        assert_eq!(p["a"], "1,2");
        assert_eq!(p["b"], "x y");
        assert_eq!(p["c"], "");
        assert_eq!(p["d"], "%zz");
        assert_eq!(p["e"], "%4");
    }

    #[test]
    fn request_ids_look_like_uuids() {
        let id = request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, request_id());
    }

    #[test]
    fn an_event_has_what_a_function_url_sends() {
        let mut headers = http::HeaderMap::new();
        headers.append("X-Many", "1".parse().unwrap());
        headers.append("X-Many", "2".parse().unwrap());
        headers.append("Cookie", "a=1; b=2".parse().unwrap());
        headers.append("User-Agent", "test".parse().unwrap());
        headers.append("Host", "127.0.0.1:9".parse().unwrap());
        let event = function_url_event(&RequestParts {
            method: "POST",
            path: "/socket/connect",
            query: "x=1",
            version: http::Version::HTTP_11,
            headers: &headers,
            body: &[0xff, 0x00],
            peer: "127.0.0.1:5000".parse().unwrap(),
            front_port: 9,
            trace_id: "Root=1-0-0",
            request_id: "id",
            api_id: "api",
            now: UNIX_EPOCH,
        });
        assert_eq!(event["version"], "2.0");
        assert_eq!(event["headers"]["x-many"], "1,2");
        assert_eq!(event["headers"]["x-forwarded-for"], "127.0.0.1");
        assert_eq!(event["headers"]["x-forwarded-port"], "9");
        assert!(event["headers"].get("cookie").is_none());
        assert_eq!(event["cookies"], json!(["a=1", "b=2"]));
        assert_eq!(event["queryStringParameters"]["x"], "1");
        assert_eq!(event["requestContext"]["http"]["userAgent"], "test");
        assert_eq!(event["requestContext"]["http"]["sourceIp"], "127.0.0.1");
        assert_eq!(event["requestContext"]["domainName"], "127.0.0.1:9");
        assert_eq!(event["body"], "/wA=");
        assert_eq!(event["isBase64Encoded"], true);
    }
}
