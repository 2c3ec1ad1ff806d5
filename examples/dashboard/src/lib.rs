//! The dashboard example: live metrics pushed every second to every viewer, a new viewer
//! sees the last minute at once, on any instance.
//!
//! Events:
//! - on connect: the session joins the room `viewers` and gets `snapshot`
//!   `{"points": [Point]}`: the last [`HISTORY`] seconds, newest last.
//! - every second: `tick` `Point` to the room `viewers`.
//!
//! A `Point` is `{"t", "rps", "cpu", "queue"}`: `t` in seconds since the epoch, requests per
//! second, CPU percent, queue depth (simulated).
//!
//! Many instances, one stream: every instance runs the [`ticker`], and each second's point
//! is a pure function of the second ([`point`]), so all instances compute the same one.
//! Each emits it with the idempotency key `tick-<t>` ([`Emitter::once`]): the store keeps
//! the first and drops the others, so a viewer gets each second once, whichever instance
//! it talks to (clocks kept in sync, as NTP does). A new viewer's snapshot is computed the
//! same way, so it is the same on every instance, and the ticks already sent stay in the
//! store for viewers that reconnect (they resume and miss nothing).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::header;
use axum::response::Html;
use axum::routing::get;
use serde::Serialize;
use socket_serve::{Config, Emitter, Socket, SocketServe};

/// The page.
const PAGE: &str = include_str!("../static/index.html");
/// uPlot (MIT, vendored from npm: `static/vendor/`).
const UPLOT_JS: &str = include_str!("../static/vendor/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("../static/vendor/uPlot.min.css");

/// The room every viewer is in.
pub const VIEWERS: &str = "viewers";
/// How many seconds a new viewer's snapshot covers.
pub const HISTORY: u64 = 60;

/// One second's metrics.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Point {
    /// Seconds since the epoch.
    pub t: u64,
    /// Requests per second.
    pub rps: f64,
    /// CPU, in percent.
    pub cpu: f64,
    /// Jobs waiting.
    pub queue: u64,
}

/// A number in 0..1 from `t` (splitmix64): the same on every instance.
fn noise(t: u64, salt: u64) -> f64 {
    let mut z = t.wrapping_add(salt).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) as f64 / u64::MAX as f64
}

/// The metrics of second `t`: waves plus noise, a pure function of `t`.
///
/// ```
/// assert_eq!(dashboard::point(1_700_000_000), dashboard::point(1_700_000_000));
/// ```
pub fn point(t: u64) -> Point {
    let wave = |period: f64, phase: f64| (std::f64::consts::TAU * t as f64 / period + phase).sin();
    let round = |x: f64| (x * 10.0).round() / 10.0;
    let rps = 120.0 + 40.0 * wave(60.0, 0.0) + 15.0 * wave(17.0, 1.0) + 20.0 * noise(t, 1);
    let cpu = 45.0 + 20.0 * wave(90.0, 2.0) + 8.0 * wave(23.0, 0.5) + 8.0 * noise(t, 2);
    let queue = 8.0 + 6.0 * wave(45.0, 4.0) + 5.0 * noise(t, 3);
    Point {
        t,
        rps: round(rps),
        cpu: round(cpu.clamp(0.0, 100.0)),
        queue: queue.max(0.0).round() as u64,
    }
}

fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// The last [`HISTORY`] seconds' points, up to the last whole second, oldest first.
pub fn snapshot() -> Vec<Point> {
    let last = now().as_secs().saturating_sub(1);
    (last.saturating_sub(HISTORY - 1)..=last)
        .map(point)
        .collect()
}

/// Registers the dashboard's handler on `io`: a new viewer joins [`VIEWERS`] and gets its
/// `snapshot`.
///
/// ```
/// let io = socket_serve::SocketServe::new(Default::default()).unwrap();
/// dashboard::register(&io);
/// ```
pub fn register(io: &SocketServe) {
    io.on_connect(|socket: Socket| async move {
        socket.join(VIEWERS).await?;
        let points = snapshot();
        socket
            .emit("snapshot", serde_json::json!({ "points": points }))
            .await
    });
}

/// How many ended seconds a [`ticker`] sends at most when it wakes late: a serverless
/// platform freezes an instance between requests, and its ticker wakes with the next one.
/// Older seconds stay a gap (unless another instance sent them).
pub const CATCH_UP: u64 = 5;

/// Emits each second's [`point`] to [`VIEWERS`], just after the second ends, with the
/// idempotency key `tick-<t>` (so many instances send each second once). Woken late, it
/// sends the seconds it missed first, at most [`CATCH_UP`], oldest first: a second is in
/// the room's log before any later one, whichever instances sent them. Runs until the
/// task is dropped; a failed emit is logged to stderr and the next second goes on.
///
/// On a long-running server it ticks every second. On Lambda and Vercel it runs while its
/// instance serves a request; a viewer's open stream is such a request, so while anyone
/// watches, some instance ticks (and with nobody watching nothing needs to).
pub async fn ticker(emitter: Emitter) {
    let mut unsent: Option<u64> = None; // the first second this ticker has not sent
    loop {
        let elapsed = now();
        let next = elapsed.as_secs() + 1;
        tokio::time::sleep(Duration::from_secs(next) - elapsed).await;
        let due = due(unsent, now().as_secs());
        for t in due.clone() {
            let once = emitter.once(&format!("tick-{t}"));
            if let Err(e) = once.to(VIEWERS).emit("tick", point(t)).await {
                eprintln!("dashboard: tick {t} not sent: {e}");
            }
        }
        unsent = Some(due.end);
    }
}

/// The seconds a ticker sends when it wakes in second `current` (every second before it has
/// ended), `unsent` being the first it has not sent (`None`: it just started): the ones
/// missed since, at most the last [`CATCH_UP`], oldest first.
fn due(unsent: Option<u64>, current: u64) -> std::ops::Range<u64> {
    let first = unsent
        .unwrap_or(current.saturating_sub(1))
        .max(current.saturating_sub(CATCH_UP));
    first..current.max(first)
}

/// The whole app: the page at `/`, uPlot at `/vendor/`, the API at `/socket`.
///
/// ```
/// let io = socket_serve::SocketServe::new(Default::default()).unwrap();
/// dashboard::register(&io);
/// let app: axum::Router = dashboard::app(&io);
/// # let _ = app;
/// ```
pub fn app(io: &SocketServe) -> axum::Router {
    let js = [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")];
    let css = [(header::CONTENT_TYPE, "text/css; charset=utf-8")];
    axum::Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route(
            "/vendor/uPlot.iife.min.js",
            get(|| async { (js, UPLOT_JS) }),
        )
        .route("/vendor/uPlot.min.css", get(|| async { (css, UPLOT_CSS) }))
        .nest("/socket", io.router())
}

/// The whole app on the server `config` describes, its [`ticker`] spawned: what the Lambda
/// and Vercel entry points serve. Call it inside a Tokio runtime.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let app = dashboard::build(socket_serve::Config::default()).unwrap();
/// # let _ = app;
/// # }
/// ```
pub fn build(config: Config) -> Result<entry_points::App, entry_points::Error> {
    let io = SocketServe::new(config)?;
    register(&io);
    tokio::spawn(ticker(io.emitter()));
    Ok(entry_points::App::new(app(&io), &io))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticker_sends_the_second_that_ended_and_after_a_freeze_the_last_few_it_missed() {
        assert_eq!(
            due(None, 100),
            99..100,
            "a new ticker: the second that just ended"
        );
        assert_eq!(due(Some(100), 101), 100..101, "on time: one second");
        assert_eq!(due(Some(100), 103), 100..103, "two seconds late: all three");
        assert_eq!(
            due(Some(100), 160),
            155..160,
            "frozen a minute: the last CATCH_UP"
        );
        assert_eq!(due(Some(100), 100), 100..100, "woken early: nothing");
        assert_eq!(due(Some(100), 99), 100..100, "the clock went back: nothing");
    }

    #[test]
    fn points_stay_in_range_and_the_snapshot_is_the_last_minute() {
        for t in 1_700_000_000..1_700_086_400 {
            let p = point(t);
            assert!((0.0..=100.0).contains(&p.cpu), "{p:?}");
            assert!(p.rps > 0.0 && p.queue <= 20, "{p:?}");
        }
        let snap = snapshot();
        assert_eq!(snap.len() as u64, HISTORY);
        assert!(snap.windows(2).all(|w| w[1].t == w[0].t + 1));
        assert!(snap[snap.len() - 1].t < now().as_secs());
    }
}
