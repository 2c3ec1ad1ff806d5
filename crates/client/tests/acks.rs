//! Server acks through the Rust client (issue 11 item 1): a handler registered with
//! `on_with_ack` answers with its `AckHandle`, `Client::ack` answers a message read from
//! the event stream, and an answer survives the connection being cut under it.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use socket_serve_client::{Client, ClientEvent, ClientOptions};

fn options() -> ClientOptions {
    ClientOptions::default()
        .reconnect_delay(Duration::from_millis(20))
        .reconnect_delay_max(Duration::from_millis(200))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_answers_with_its_ack_handle_and_the_stream_reader_with_client_ack() {
    let server = Server::start(config()).await;
    let client = Client::new(&server.url(), options()).unwrap();
    client.on_with_ack("double", |n: u64, ack| {
        assert!(ack.is_asked());
        ack.send(n * 2);
    });
    let mut events = client.events();
    client.open().unwrap();
    client.wait_connected(Duration::from_secs(5)).await.unwrap();
    let id = client.id().unwrap();
    let io = server.io.clone();
    let reply: u64 = io
        .to_session(&id)
        .emit_with_ack("double", 21, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(reply, 42);

    // Read from the event stream instead, answered with Client::ack.
    let asking = tokio::spawn({
        let io = io.clone();
        let id = id.clone();
        async move {
            io.to_session(&id)
                .emit_with_ack::<Value>("name?", (), Duration::from_secs(5))
                .await
        }
    });
    let question = loop {
        match tokio::time::timeout(Duration::from_secs(5), events.recv()).await {
            Ok(Some(ClientEvent::Message(m))) if m.event == "name?" => break m,
            Ok(Some(_)) => {}
            other => panic!("no question: {other:?}"),
        }
    };
    assert!(question.ack_id.is_some());
    client.ack(&question, json!("rusty")).await.unwrap();
    // A message that asked for nothing needs no answer.
    let plain = socket_serve_client::Message::new("x", json!(1));
    client.ack(&plain, 1).await.unwrap();
    assert_eq!(asking.await.unwrap().unwrap(), json!("rusty"));
    client.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_gets_through_a_cut_connection() {
    let server = Server::start(config()).await;
    let proxy = Proxy::start(server.addr).await;
    let client = Client::new(&proxy.url(), options()).unwrap();
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
    client.on_with_ack("q", move |n: u64, ack| {
        let _ = seen_tx.send(n);
        ack.send(n + 1);
    });
    client.open().unwrap();
    client.wait_connected(Duration::from_secs(5)).await.unwrap();
    let id = client.id().unwrap();
    for n in 0..10u64 {
        if n % 3 == 1 {
            proxy.cut(); // the stream (and any POST in flight) dies under the client
        }
        let reply: u64 = server
            .io
            .to_session(&id)
            .emit_with_ack("q", n, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(reply, n + 1);
    }
    let mut seen = Vec::new();
    while let Ok(n) = seen_rx.try_recv() {
        seen.push(n);
    }
    assert_eq!(
        seen,
        (0..10).collect::<Vec<_>>(),
        "each question handled once, in order"
    );
    client.disconnect().await;
}
