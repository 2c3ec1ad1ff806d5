//! The handler API over real HTTP (issue 10): request context, authorize and session data,
//! app state and the server handle, errors that keep their meaning, on_any and
//! strict_events, retry-safe emits, the background sweep. On the store
//! SOCKET_SERVE_TEST_STORE names.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::get;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use socket_serve::{Ack, Error, HandlerError, HandlerResult, Handshake, SocketServe};
use socket_serve_test_support::{
    chat, reqwest, RawClient, TestServer, TestStore, DEFAULT_WAIT as WAIT,
};
use tokio::sync::mpsc;

/// Serves `app` on a free loopback port; the client's base is `/socket`.
async fn serve(app: axum::Router) -> RawClient {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    RawClient::new(&format!("http://{addr}/socket"))
}

fn server_on(store: &TestStore) -> SocketServe {
    SocketServe::new(store.config()).unwrap()
}

#[derive(Clone, Debug, PartialEq)]
struct LayerUser(String);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_layers_extension_cookies_and_the_peer_reach_on_connect_and_message_handlers() {
    let store = TestStore::from_env();
    let io = server_on(&store);
    let (tx, mut seen) = mpsc::unbounded_channel::<(String, Value)>();
    let on_connect = tx.clone();
    io.on_connect(move |socket| {
        let tx = on_connect.clone();
        async move {
            let request = socket.request().expect("on_connect has its request");
            let facts = json!({
                "user": request.extensions().get::<LayerUser>().map(|u| u.0.clone()),
                "theme": request.cookie("theme"),
                "agent": request.header("x-agent"),
                "method": request.method().as_str(),
                "path": request.uri().path(),
                "peer": request.remote_addr().map(|a| a.ip().to_string()),
            });
            let _ = tx.send(("connect".into(), facts));
            HandlerResult::Ok(())
        }
    });
    io.on_message("who", move |socket, _: Value| {
        let tx = tx.clone();
        async move {
            let request = socket.request().expect("a message handler has its request");
            let facts = json!({
                "user": request.extensions().get::<LayerUser>().map(|u| u.0.clone()),
                "theme": request.cookie("theme"),
                "agent": socket.headers().get("x-agent").and_then(|v| v.to_str().ok()),
            });
            let _ = tx.send(("who".into(), facts));
            HandlerResult::Ok(())
        }
    });
    // An auth layer in front of socket-serve puts its user in the request's extensions.
    let app =
        axum::Router::new()
            .nest("/socket", io.router())
            .layer(axum::middleware::map_request(
                |mut request: axum::extract::Request| async move {
                    request.extensions_mut().insert(LayerUser("ann".into()));
                    request
                },
            ));
    let client = serve(app).await;
    let headers = [
        ("cookie", "lang=en; theme=dark"),
        ("x-agent", "tests/1"),
        ("content-type", "application/json"),
    ];
    let answer = client
        .request(Method::POST, "connect", &headers, Some(b"{}".to_vec()))
        .await;
    assert_eq!(answer.status, 200, "{answer}");
    let (what, facts) = seen.recv().await.unwrap();
    assert_eq!(what, "connect");
    assert_eq!(
        facts,
        json!({"user": "ann", "theme": "dark", "agent": "tests/1", "method": "POST",
               "path": "/socket/connect", "peer": "127.0.0.1"})
    );

    let sid = answer.json["sessionId"].as_str().unwrap();
    let body = json!({"sessionId": sid, "event": "who", "data": null}).to_string();
    let headers = [("cookie", "theme=light"), ("x-agent", "tests/2")];
    let answer = client
        .request(Method::POST, "message", &headers, Some(body.into_bytes()))
        .await;
    assert_eq!(answer.status, 200, "{answer}");
    let (what, facts) = seen.recv().await.unwrap();
    assert_eq!(what, "who");
    assert_eq!(
        facts,
        json!({"user": "ann", "theme": "light", "agent": "tests/2"})
    );
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct User {
    name: String,
    admin: bool,
}

async fn authorize(handshake: Handshake) -> Result<User, HandlerError> {
    let name = match (
        handshake.bearer_token(),
        handshake.request().cookie("session"),
    ) {
        (Some("ann-token"), _) => "ann",
        (Some(_), _) => return Err(HandlerError::forbidden("this token is revoked")),
        (None, Some(cookie)) if cookie == "bob-cookie" => "bob",
        _ => return Err(HandlerError::unauthorized("log in first")),
    };
    Ok(User {
        name: name.into(),
        admin: false,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_refuses_with_401_or_403_runs_no_handler_and_accepts_with_typed_data() {
    let connects = Arc::new(AtomicUsize::new(0));
    let counted = connects.clone();
    let server = TestServer::builder()
        .handlers(move |io| {
            chat::register(io);
            io.authorize(authorize);
            io.on_connect(move |socket| {
                counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    let user: User = socket.data()?.expect("authorize set the data");
                    socket.emit("welcome-user", &user).await?;
                    HandlerResult::Ok(())
                }
            });
            io.on_message("whoami", |socket, _: Value| async move {
                let user: Option<User> = socket.data()?;
                HandlerResult::Ok(Ack(user))
            });
            io.on_message("promote", |socket, _: Value| async move {
                let mut user: User = socket.data()?.expect("data");
                user.admin = true;
                socket.set_data(&user).await?;
                HandlerResult::Ok(Ack(socket.data::<User>()?))
            });
        })
        .start()
        .await;
    let client = server.client();
    let json = [("content-type", "application/json")];

    let nobody = client
        .request(Method::POST, "connect", &json, Some(b"{}".to_vec()))
        .await;
    assert!(nobody.error(401, "unauthorized").contains("log in"));
    let revoked = client
        .request(
            Method::POST,
            "connect",
            &[("authorization", "Bearer old"), json[0]],
            Some(b"{}".to_vec()),
        )
        .await;
    revoked.error(403, "forbidden");
    assert_eq!(
        connects.load(Ordering::SeqCst),
        0,
        "on_connect ran for a refusal"
    );

    // A bearer token in the header, a cookie, and the token in `auth` (for EventSource).
    for (headers, body, name) in [
        (vec![("authorization", "Bearer ann-token")], "{}", "ann"),
        (vec![("cookie", "session=bob-cookie")], "{}", "bob"),
        (vec![], r#"{"auth":{"token":"ann-token"}}"#, "ann"),
    ] {
        let mut headers = headers;
        headers.push(json[0]);
        let answer = client
            .request(
                Method::POST,
                "connect",
                &headers,
                Some(body.as_bytes().to_vec()),
            )
            .await;
        assert_eq!(answer.status, 200, "{answer}");
        let session = socket_serve_test_support::Session {
            session_id: answer.json["sessionId"].as_str().unwrap().to_owned(),
            id: answer.json["id"].as_str().unwrap().to_owned(),
            cursor: None,
        };
        let mut stream = client.open_stream(&session.session_id).await;
        let welcome = stream.wait_for_event("welcome-user", WAIT).await;
        assert_eq!(welcome.payload(), &json!({"name": name, "admin": false}));
        let ack = client.emit(&session, "whoami", Value::Null).await;
        assert_eq!(ack["ack"], json!({"name": name, "admin": false}));
        let ack = client.emit(&session, "promote", Value::Null).await;
        assert_eq!(ack["ack"], json!({"name": name, "admin": true}));
        // Later requests read the new data.
        let ack = client.emit(&session, "whoami", Value::Null).await;
        assert_eq!(ack["ack"], json!({"name": name, "admin": true}));
    }
    assert_eq!(connects.load(Ordering::SeqCst), 3);
}

#[derive(Clone)]
struct Greeting(Arc<String>);

async fn greet(socket: socket_serve::Socket, _: Value) -> HandlerResult<Ack<String>> {
    let Greeting(text) = socket.state::<Greeting>().expect("state was given").clone();
    // To everyone, the sender included, through the server handle.
    socket.server().emit("greeting", text.as_str()).await?;
    Ok(Ack(text.to_string()))
}

#[derive(Clone)]
struct AppState {
    name: &'static str,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_state_reaches_handlers_and_the_router_nests_into_a_router_with_state() {
    let store = TestStore::from_env();
    let io = server_on(&store);
    io.with_state(Greeting(Arc::new("hello from the state".into())));
    io.on_message("greet", greet);
    let app = axum::Router::new()
        .route(
            "/name",
            get(|axum::extract::State(s): axum::extract::State<AppState>| async move { s.name }),
        )
        .nest("/socket", io.router())
        .with_state(AppState { name: "dashboard" });
    let client = serve(app).await;
    let name = client
        .request_url(Method::GET, client.url("../name"), &[], None)
        .await;
    assert_eq!(name.body, "dashboard");

    let (sender, mut sender_stream) = client.connect_and_listen().await;
    let (_other, mut other_stream) = client.connect_and_listen().await;
    let ack = client.emit(&sender, "greet", Value::Null).await;
    assert_eq!(ack["ack"], json!("hello from the state"));
    for stream in [&mut sender_stream, &mut other_stream] {
        let got = stream.wait_for_event("greeting", WAIT).await;
        assert_eq!(got.payload(), &json!("hello from the state"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_errors_keep_their_status_through_a_handler_and_any_error_converts() {
    let server = TestServer::builder()
        .handlers(|io| {
            chat::register(io);
            io.on_message("bad-room", |socket, _: Value| async move {
                socket.join("").await?;
                HandlerResult::Ok(())
            });
            io.on_message("parse", |_socket, text: String| async move {
                let n: u32 = text.parse()?;
                HandlerResult::Ok(Ack(n))
            });
            io.on_message("anyhow", |_socket, _: Value| async move {
                anyhow::ensure!(false, "the database is sad");
                anyhow::Ok(())
            });
            io.on_message("plain", |_socket, _: Value| async move {
                Err::<(), _>("just a string")
            });
        })
        .start()
        .await;
    let client = server.client();
    let session = client.connect().await;
    let post = |event: &str, data: Value| {
        let body = json!({"sessionId": session.session_id, "event": event, "data": data});
        let client = client.clone();
        async move { client.post_json("message", &body).await }
    };
    post("bad-room", Value::Null)
        .await
        .error(400, "invalid_room");
    let ok = post("parse", json!("42")).await;
    assert_eq!(ok.json["ack"], 42, "{ok}");
    post("parse", json!("forty-two"))
        .await
        .error(500, "handler_error");
    let hidden = post("anyhow", Value::Null).await;
    let message = hidden.error(500, "handler_error");
    assert!(!message.contains("sad"), "the detail leaked: {message}");
    post("plain", Value::Null).await.error(500, "handler_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_any_gets_unhandled_events_and_strict_events_refuses_them() {
    let seen = Arc::new(Mutex::new(Vec::<(String, Value)>::new()));
    let log = seen.clone();
    let server = TestServer::builder()
        .handlers(move |io| {
            chat::register(io);
            io.on_any(move |_socket, event, data| {
                log.lock().unwrap().push((event.clone(), data));
                async move { HandlerResult::Ok(Ack(format!("any:{event}"))) }
            });
        })
        .start()
        .await;
    let client = server.client();
    let session = client.connect().await;
    let ack = client.emit(&session, "typo", json!({"x": 1})).await;
    assert_eq!(ack["ack"], json!("any:typo"));
    // A handled event does not reach on_any.
    client.emit(&session, "echo", json!("e")).await;
    assert_eq!(
        *seen.lock().unwrap(),
        vec![("typo".to_owned(), json!({"x": 1}))]
    );

    let strict = TestServer::builder()
        .config(|c| c.strict_events = true)
        .start()
        .await;
    let client = strict.client();
    let session = client.connect().await;
    let body = json!({"sessionId": session.session_id, "event": "typo", "data": 1});
    let refused = client.post_json("message", &body).await;
    assert!(refused.error(404, "unknown_event").contains("typo"));
    client.emit(&session, "echo", json!("still fine")).await;

    // Without either, an unknown event is answered 200 with no ack.
    let lenient = TestServer::chat().await;
    let client = lenient.client();
    let session = client.connect().await;
    let answer = client.emit(&session, "typo", json!(1)).await;
    assert_eq!(answer, json!({"success": true}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_handler_that_emits_in_another_order_loses_nothing_and_duplicates_nothing() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let server = TestServer::builder()
        .handlers(move |io| {
            chat::register(io);
            io.on_message("flaky", move |socket, _: Value| {
                let run = counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    if run == 0 {
                        // The first run stores "a", then fails.
                        socket.emit("step", "a").await?;
                        return Err(HandlerError::from("crashed after a"));
                    }
                    // The retry emits "b" first, then "a" again, then "a" a second time
                    // on purpose (a new message: the first run sent one "a").
                    socket.emit("step", "b").await?;
                    socket.emit("step", "a").await?;
                    socket.emit("step", "a").await?;
                    HandlerResult::Ok(())
                }
            });
        })
        .start()
        .await;
    let client = server.client();
    let (session, mut stream) = client.connect_and_listen().await;
    let body = json!({"sessionId": session.session_id, "event": "flaky", "data": null,
                      "messageId": "m-1"});
    client
        .post_json("message", &body)
        .await
        .error(500, "handler_error");
    let retry = client.post_json("message", &body).await;
    assert_eq!(retry.status, 200, "{retry}");
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    let steps: Vec<Value> = client
        .flush(&session, &mut stream)
        .await
        .iter()
        .filter(|f| f.event() == Some("step"))
        .map(|f| f.payload().clone())
        .collect();
    assert_eq!(steps, vec![json!("a"), json!("b"), json!("a")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_running_server_runs_on_disconnect_for_a_vanished_client_with_no_request() {
    let (tx, mut gone) = mpsc::unbounded_channel::<String>();
    let server = TestServer::builder()
        .config(|c| {
            c.session_ttl = Duration::from_millis(500);
            c.sweep_interval = Duration::from_millis(50);
        })
        .handlers(move |io| {
            chat::register(io);
            io.on_disconnect(move |socket| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(socket.id().to_owned());
                }
            });
        })
        .start()
        .await;
    let session = server.client().connect().await;
    // No request after /connect: only the background sweep can notice.
    let id = tokio::time::timeout(Duration::from_secs(10), gone.recv())
        .await
        .expect("on_disconnect ran within 10 s")
        .unwrap();
    assert_eq!(id, session.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_data_is_gone_with_the_session_and_set_data_then_fails() {
    let server = TestServer::builder()
        .handlers(|io| {
            chat::register(io);
            io.on_message("later", |socket, _: Value| async move {
                socket.disconnect().await?;
                match socket.set_data(1).await {
                    Err(Error::UnknownSession) => HandlerResult::Ok(Ack("gone")),
                    other => HandlerResult::Ok(Ack(if other.is_ok() { "stored" } else { "?" })),
                }
            });
        })
        .start()
        .await;
    let client = server.client();
    let session = client.connect().await;
    let ack = client.emit(&session, "later", Value::Null).await;
    assert_eq!(ack["ack"], json!("gone"));
}
