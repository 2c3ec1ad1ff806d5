//! Namespaces (issue 11 item 5): the client connects to each of two independent servers
//! nested in one app at `/chat` and `/admin`; each namespace runs its own handlers, and its
//! broadcasts reach its own clients only.

mod common;

use common::*;
use serde_json::{json, Value};
use socket_serve::{Ack, Config, Error as ServerError, SocketServe};
use socket_serve_client::{Client, ClientEvent, ClientOptions};

fn namespace(name: &'static str) -> SocketServe {
    let io = SocketServe::new(Config::default()).expect("SocketServe::new");
    io.on_connect(move |socket| async move { socket.emit("welcome", json!({ "ns": name })).await });
    io.on_message("whoami", move |_socket, _: Value| async move {
        Ok::<_, ServerError>(Ack(name))
    });
    io.on_message("say", |socket, data: Value| async move {
        socket.broadcast("said", data).await
    });
    io.on_message("marker", |socket, data: Value| async move {
        socket.emit("marker", data).await
    });
    io
}

async fn serve(chat: &SocketServe, admin: &SocketServe) -> String {
    let app: axum::Router = axum::Router::new()
        .nest("/chat", chat.router())
        .nest("/admin", admin.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_connects_to_each_namespace_of_one_app() {
    init_tracing();
    let (chat_io, admin_io) = (namespace("chat"), namespace("admin"));
    let root = serve(&chat_io, &admin_io).await;

    let alice = Client::new(&format!("{root}/chat"), ClientOptions::default()).unwrap();
    let carol = Client::new(&format!("{root}/chat"), ClientOptions::default()).unwrap();
    let bob = Client::new(&format!("{root}/admin"), ClientOptions::default()).unwrap();
    let mut alice_events = alice.events();
    let mut carol_events = carol.events();
    let mut bob_events = bob.events();
    for client in [&alice, &carol, &bob] {
        client.open().unwrap();
    }
    assert_eq!(
        message(&mut alice_events, "welcome").await,
        json!({ "ns": "chat" })
    );
    assert_eq!(
        message(&mut carol_events, "welcome").await,
        json!({ "ns": "chat" })
    );
    assert_eq!(
        message(&mut bob_events, "welcome").await,
        json!({ "ns": "admin" })
    );

    let a: String = alice.emit_with_ack("whoami", json!(null)).await.unwrap();
    let b: String = bob.emit_with_ack("whoami", json!(null)).await.unwrap();
    assert_eq!((a.as_str(), b.as_str()), ("chat", "admin"));

    // A broadcast in /chat reaches the other chat client, not the admin one.
    alice.emit("say", json!("hi chat")).unwrap().await.unwrap();
    assert_eq!(message(&mut carol_events, "said").await, json!("hi chat"));
    bob.emit("marker", json!(1)).unwrap().await.unwrap();
    let (_, before) = until(
        &mut bob_events,
        "marker",
        |e| matches!(e, ClientEvent::Message(m) if m.event == "marker"),
    )
    .await;
    assert!(
        !before
            .iter()
            .any(|e| matches!(e, ClientEvent::Message(m) if m.event == "said")),
        "a chat broadcast reached /admin: {before:#?}"
    );

    // And the other way round.
    bob.emit("say", json!("hi admin")).unwrap().await.unwrap();
    alice.emit("marker", json!(2)).unwrap().await.unwrap();
    let (_, before) = until(
        &mut alice_events,
        "marker",
        |e| matches!(e, ClientEvent::Message(m) if m.event == "marker"),
    )
    .await;
    assert!(
        !before
            .iter()
            .any(|e| matches!(e, ClientEvent::Message(m) if m.event == "said")),
        "an admin broadcast reached /chat: {before:#?}"
    );

    for client in [&alice, &carol, &bob] {
        client.disconnect().await;
    }
}
