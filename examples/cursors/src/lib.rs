//! The cursors example: every open page shows the others' pointers moving live, with their
//! names and colours; a pointer goes away when its page leaves.
//!
//! Events:
//! - `hello` `{"name", "color"}`: sets this session's presence metadata (`name`: 1 to 24
//!   characters; `color`: `#rrggbb`; anything else is a 400 `invalid_hello`), joins the
//!   room `board` (its members get `presence:join` `{"id", "meta": {"name", "color"}}`)
//!   and acks `{"id", "members": [{"id", "meta"}]}`: who is on the board (the first 100).
//! - `move` `{"x", "y"}` (fractions of the page, clamped to 0..=1): `to("board").volatile()`
//!   emit `move` `{"id", "x", "y"}`. Volatile: live only, never logged nor replayed (a lost
//!   move is made good by the next one).
//! - a page that leaves (its `/disconnect`, or its session expiring) is announced to the
//!   board as `presence:leave` `{"id"}`.
//!
//! The announcements need [`Config::presence_events`](socket_serve::Config): `cargo run -p
//! cursors` turns it on.

use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use socket_serve::{Ack, Config, HandlerError, HandlerResult, Socket, SocketServe};

/// The page.
const PAGE: &str = include_str!("../static/index.html");

/// The room every page is in.
const BOARD: &str = "board";

/// What the others see of a page: its presence metadata.
#[derive(Deserialize, Serialize)]
struct Hello {
    name: String,
    color: String,
}

#[derive(Deserialize)]
struct Move {
    x: f64,
    y: f64,
}

/// Registers the cursors handlers on `io`.
///
/// ```
/// let io = socket_serve::SocketServe::new(Default::default()).unwrap();
/// cursors::register(&io);
/// ```
pub fn register(io: &SocketServe) {
    io.on_message("hello", hello);
    io.on_message("move", pointer_moved);
}

fn is_color(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit())
}

async fn hello(socket: Socket, msg: Hello) -> HandlerResult<Ack<Value>> {
    let name = msg.name.trim();
    if name.is_empty() || name.chars().count() > 24 || !is_color(&msg.color) {
        let why = "name must be 1 to 24 characters and color #rrggbb";
        let code = StatusCode::BAD_REQUEST;
        return Err(HandlerError::new(code, "invalid_hello", why));
    }
    let meta = Hello {
        name: name.to_owned(),
        color: msg.color.to_ascii_lowercase(),
    };
    socket.set_presence(&meta).await?;
    socket.join(BOARD).await?;
    let page = socket.server().presence(BOARD).page(None, 100).await?;
    let mut members = Vec::new();
    for member in &page.members {
        members.push(json!({ "id": member.id(), "meta": member.meta::<Value>()? }));
    }
    Ok(Ack(json!({ "id": socket.id(), "members": members })))
}

async fn pointer_moved(socket: Socket, msg: Move) -> HandlerResult {
    let (x, y) = (msg.x.clamp(0.0, 1.0), msg.y.clamp(0.0, 1.0));
    let out = json!({ "id": socket.id(), "x": x, "y": y });
    socket.to(BOARD).volatile().emit("move", &out).await?;
    Ok(())
}

/// The whole app: the page at `/`, the API at `/socket`.
///
/// ```
/// let io = socket_serve::SocketServe::new(Default::default()).unwrap();
/// cursors::register(&io);
/// let app: axum::Router = cursors::app(&io);
/// # let _ = app;
/// ```
pub fn app(io: &SocketServe) -> axum::Router {
    axum::Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .nest("/socket", io.router())
}

/// The whole app on the server `config` describes, with presence events on (the page needs
/// them): what the Lambda and Vercel entry points serve.
///
/// ```
/// let app = cursors::build(socket_serve::Config::default()).unwrap();
/// # let _ = app;
/// ```
pub fn build(config: Config) -> Result<entry_points::App, entry_points::Error> {
    let config = Config {
        presence_events: true,
        ..config
    };
    let io = SocketServe::new(config)?;
    register(&io);
    Ok(entry_points::App::new(app(&io), &io))
}
