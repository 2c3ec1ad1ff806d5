//! On a host that buffers whole responses (serverless: Netlify, or Lambda served by the
//! buffering runner), the server answers an SSE request with 501 `sse_unsupported`: the
//! client falls back to long-polling once, and everything works over polls.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use socket_serve::Platform;
use socket_serve_client::{Client, ClientOptions, Transport};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_501_sse_unsupported_falls_back_to_long_polling() {
    let server = Server::start(socket_serve::Config {
        platform: Platform::Netlify,
        poll_timeout: Duration::from_millis(500),
        ..config()
    })
    .await;
    let client = Client::new(&server.url(), ClientOptions::default()).unwrap();
    client.open().unwrap();
    client.wait_connected(WAIT).await.unwrap();
    assert_eq!(client.transport(), Transport::Polling);
    let ack: Value = client
        .emit_with_ack("echo", json!("over polls"))
        .await
        .unwrap();
    assert_eq!(ack, json!("over polls"));
}
