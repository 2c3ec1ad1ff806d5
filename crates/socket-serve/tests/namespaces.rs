//! Namespaces (issue 11 item 5): two independent `SocketServe`s in one app, nested at
//! `/chat` and `/admin`, each with its own handlers and (on Redis) its own `key_prefix`, on
//! one store server. Over real HTTP, on the store SOCKET_SERVE_TEST_STORE names: a session
//! of one namespace is unknown to the other, emits and broadcasts stay inside their
//! namespace, and each runs its own handlers.

use serde_json::{json, Value};
use socket_serve::{Ack, Error, SocketServe};
use socket_serve_test_support::{
    EventStream, Frame, RawClient, Session, TestStore, DEFAULT_WAIT as WAIT,
};

/// One namespace: `echo` sends the data back (for `RawClient::flush`), `whoami` acks its name, `say` broadcasts `said` to the others,
/// `all` emits `news` to everyone in it, and `on_connect` sends `welcome` with its name.
fn namespace(store: &TestStore, name: &'static str) -> SocketServe {
    let io = SocketServe::new(store.config()).expect("SocketServe::new");
    io.on_connect(move |socket| async move { socket.emit("welcome", json!({ "ns": name })).await });
    io.on_message("whoami", move |_socket, _: Value| async move {
        Ok::<_, Error>(Ack(name))
    });
    io.on_message("echo", |socket, data: Value| async move {
        socket.emit("echo", data).await
    });
    io.on_message("say", |socket, data: Value| async move {
        socket.broadcast("said", data).await
    });
    let handle = io.clone();
    io.on_message("all", move |_socket, data: Value| {
        let io = handle.clone();
        async move { io.emit("news", data).await }
    });
    io
}

/// Serves `/chat` and `/admin` in one axum app; the clients of both bases.
async fn serve(chat: &SocketServe, admin: &SocketServe) -> (RawClient, RawClient) {
    let app: axum::Router = axum::Router::new()
        .nest("/chat", chat.router())
        .nest("/admin", admin.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (
        RawClient::new(&format!("http://{addr}/chat")),
        RawClient::new(&format!("http://{addr}/admin")),
    )
}

fn payloads(frames: &[Frame], event: &str) -> Vec<Value> {
    frames
        .iter()
        .filter(|f| f.event() == Some(event))
        .map(|f| f.payload().clone())
        .collect()
}

async fn listener(client: &RawClient) -> (Session, EventStream) {
    client.connect_and_listen().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_of_one_namespace_is_unknown_to_the_other() {
    let store = TestStore::from_env();
    let (chat_io, admin_io) = (namespace(&store, "chat"), namespace(&store, "admin"));
    let (chat, admin) = serve(&chat_io, &admin_io).await;
    let alice = chat.connect().await;

    let message = admin
        .post_message(&alice.session_id, "whoami", json!(null), Some("m-1"))
        .await;
    message.error(404, "unknown_session");
    let stream = admin
        .stream_answer(&alice.session_id, Default::default())
        .await;
    stream.error(404, "unknown_session");
    let poll = admin.poll_answer(&alice.session_id, None).await;
    poll.error(404, "unknown_session");
    // The server-side lookups do not see it either.
    assert!(admin_io
        .to_session(&alice.id)
        .fetch()
        .await
        .unwrap()
        .is_none());
    assert!(chat_io
        .to_session(&alice.id)
        .fetch()
        .await
        .unwrap()
        .is_some());
    // A disconnect through the other namespace (200 for unknown sessions, as 0.6.0) leaves
    // it alone.
    admin.disconnect(&alice.session_id).await;
    assert_eq!(
        chat.emit(&alice, "whoami", json!(null)).await["ack"],
        json!("chat")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_namespace_runs_its_own_handlers() {
    let store = TestStore::from_env();
    let (chat_io, admin_io) = (namespace(&store, "chat"), namespace(&store, "admin"));
    admin_io.on_message("admin_only", |_socket, _: Value| async move {
        Ok::<_, Error>(Ack("yes"))
    });
    let (chat, admin) = serve(&chat_io, &admin_io).await;
    let (alice, mut alice_stream) = listener(&chat).await;
    let (bob, mut bob_stream) = listener(&admin).await;

    let welcome = alice_stream.wait_for_event("welcome", WAIT).await;
    assert_eq!(welcome.payload(), &json!({ "ns": "chat" }));
    let welcome = bob_stream.wait_for_event("welcome", WAIT).await;
    assert_eq!(welcome.payload(), &json!({ "ns": "admin" }));

    assert_eq!(
        chat.emit(&alice, "whoami", json!(null)).await["ack"],
        json!("chat")
    );
    assert_eq!(
        admin.emit(&bob, "whoami", json!(null)).await["ack"],
        json!("admin")
    );
    assert_eq!(
        admin.emit(&bob, "admin_only", json!(null)).await["ack"],
        json!("yes")
    );
    // The chat namespace has no such handler: accepted, no ack (as an unknown event is).
    let answer = chat.emit(&alice, "admin_only", json!(null)).await;
    assert_eq!(answer, json!({ "success": true }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emits_and_broadcasts_stay_inside_their_namespace() {
    let store = TestStore::from_env();
    let (chat_io, admin_io) = (namespace(&store, "chat"), namespace(&store, "admin"));
    let (chat, admin) = serve(&chat_io, &admin_io).await;
    let (alice, mut alice_stream) = listener(&chat).await;
    let (carol, mut carol_stream) = listener(&chat).await;
    let (bob, mut bob_stream) = listener(&admin).await;
    let (dave, mut dave_stream) = listener(&admin).await;

    chat.emit(&alice, "say", json!("from chat")).await;
    admin.emit(&bob, "say", json!("from admin")).await;
    chat.emit(&carol, "all", json!("chat news")).await;
    admin.emit(&dave, "all", json!("admin news")).await;
    chat_io.emit("server", json!("chat only")).await.unwrap();
    admin_io
        .to("room")
        .emit("server", json!("nobody"))
        .await
        .unwrap();

    let alice_got = chat.flush(&alice, &mut alice_stream).await;
    let carol_got = chat.flush(&carol, &mut carol_stream).await;
    let bob_got = admin.flush(&bob, &mut bob_stream).await;
    let dave_got = admin.flush(&dave, &mut dave_stream).await;

    assert_eq!(payloads(&alice_got, "said"), Vec::<Value>::new());
    assert_eq!(payloads(&carol_got, "said"), vec![json!("from chat")]);
    assert_eq!(payloads(&bob_got, "said"), Vec::<Value>::new());
    assert_eq!(payloads(&dave_got, "said"), vec![json!("from admin")]);
    for got in [&alice_got, &carol_got] {
        assert_eq!(payloads(got, "news"), vec![json!("chat news")]);
        assert_eq!(payloads(got, "server"), vec![json!("chat only")]);
    }
    for got in [&bob_got, &dave_got] {
        assert_eq!(payloads(got, "news"), vec![json!("admin news")]);
        assert_eq!(payloads(got, "server"), Vec::<Value>::new());
    }
    // Lookups by public id answer per namespace too.
    for id in [&alice.id, &carol.id] {
        assert!(chat_io.to_session(id).fetch().await.unwrap().is_some());
        assert!(admin_io.to_session(id).fetch().await.unwrap().is_none());
    }
    for id in [&bob.id, &dave.id] {
        assert!(admin_io.to_session(id).fetch().await.unwrap().is_some());
        assert!(chat_io.to_session(id).fetch().await.unwrap().is_none());
    }
}
