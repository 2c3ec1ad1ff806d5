//! A refused connect tells the client why: `open()`, `wait_connected` and the
//! `ConnectError` event carry the status, code and message of the server's answer, over real
//! HTTP against the chat server in-process.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use common::*;
use socket_serve::{HandlerError, SocketServe};
use socket_serve_client::{Client, ClientEvent, ClientOptions, Error};

/// A server whose `on_connect` answers with `refuse` while `refusing` is set.
async fn refusing_server(
    refusing: Arc<AtomicBool>,
    refuse: impl Fn() -> HandlerError + Send + Sync + 'static,
) -> Server {
    let config = config();
    let store = Arc::new(socket_serve::store::MemoryStore::new(
        config.session_ttl,
        config.recovery_window,
    ));
    let (io, counters) = build_io(config, Arc::clone(&store));
    let refuse = Arc::new(refuse);
    io.on_connect(move |_socket| {
        let refusing = refusing.load(Ordering::SeqCst);
        let error = refusing.then(|| refuse());
        async move {
            match error {
                Some(e) => Err::<(), _>(e),
                None => Ok(()),
            }
        }
    });
    Server::serve(io, counters, store, |io: &SocketServe| chat_router(io)).await
}

fn quick() -> ClientOptions {
    ClientOptions::default()
        .reconnect_delay(Duration::from_millis(20))
        .reconnect_delay_max(Duration::from_millis(50))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_403_from_on_connect_reaches_open_and_wait_connected() {
    init_tracing();
    let server = refusing_server(Arc::new(AtomicBool::new(true)), || {
        HandlerError::reject("no entry")
    })
    .await;
    let client = Client::new(&server.url(), quick()).unwrap();
    let mut events = client.events();
    client.open().unwrap();

    let expected = Error::Rejected {
        status: 403,
        code: Some("connect_rejected".into()),
        message: "no entry".into(),
        retry_after: None,
    };
    let waited = client.wait_connected(WAIT).await.unwrap_err();
    assert_eq!(waited, expected);
    assert_eq!(waited.status(), Some(403));
    assert_eq!(waited.code(), Some("connect_rejected"));
    assert_eq!(waited.message(), Some("no entry"));
    assert_eq!(
        waited.to_string(),
        "connect rejected: server answered 403 connect_rejected: no entry"
    );

    // The closed client keeps saying why, not just "closed".
    assert!(client.is_closed());
    assert_eq!(client.open(), Err(expected.clone()));
    assert_eq!(client.emit("chat", "x").unwrap_err(), expected);
    assert_eq!(client.wait_connected(WAIT).await, Err(expected.clone()));

    // The event stream reported the same error, then ended (a 4xx is final).
    let (event, _) = until(&mut events, "ConnectError", |e| {
        matches!(e, ClientEvent::ConnectError { .. })
    })
    .await;
    let ClientEvent::ConnectError { error } = event else {
        unreachable!()
    };
    assert_eq!(error, expected);
    assert!(tokio::time::timeout(WAIT, events.recv())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_keeps_its_code_and_message() {
    init_tracing();
    let server = refusing_server(Arc::new(AtomicBool::new(true)), || {
        HandlerError::unauthorized("log in first")
    })
    .await;
    let client = socket_serve_client::connect(&server.url(), quick()).unwrap();
    let error = client.wait_connected(WAIT).await.unwrap_err();
    assert_eq!(
        error,
        Error::Rejected {
            status: 401,
            code: Some("unauthorized".into()),
            message: "log in first".into(),
            retry_after: None,
        }
    );
    assert!(!error.is_retryable());
    assert!(client.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_is_retried_and_reported_until_it_passes() {
    init_tracing();
    let refusing = Arc::new(AtomicBool::new(true));
    let server = refusing_server(Arc::clone(&refusing), || {
        HandlerError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "try again",
        )
    })
    .await;
    let expected = Error::Rejected {
        status: 503,
        code: Some("store_unavailable".into()),
        message: "try again".into(),
        retry_after: None,
    };

    // Retried without end: a wait that runs out gives the last refusal, not a bare timeout.
    let client = socket_serve_client::connect(&server.url(), quick()).unwrap();
    let error = client
        .wait_connected(Duration::from_millis(500))
        .await
        .unwrap_err();
    assert_eq!(error, expected);
    assert!(error.is_retryable());
    assert!(!client.is_closed(), "a 503 is not final");
    // Once the server accepts, the same client gets in.
    refusing.store(false, Ordering::SeqCst);
    client.wait_connected(WAIT).await.unwrap();
    assert!(client.connected());
    client.disconnect().await;

    // With a bounded number of attempts, the client gives up with the refusal.
    refusing.store(true, Ordering::SeqCst);
    let client =
        socket_serve_client::connect(&server.url(), quick().reconnect_attempts(Some(2))).unwrap();
    assert_eq!(client.wait_connected(WAIT).await, Err(expected.clone()));
    assert!(client.is_closed());
    assert_eq!(client.open(), Err(expected));
}
