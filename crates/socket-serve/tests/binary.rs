//! Binary payloads over real HTTP (issue 11, item 6; PROTOCOL.md section 6): typed handlers
//! receive `{"__ssbin": "<base64>"}` as `Binary` or as `#[serde(with =
//! "socket_serve::binary")]` fields, and emit bytes back in the same form, on a stream, to
//! a long-poll and as an ack. On the store SOCKET_SERVE_TEST_STORE names.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use socket_serve::{binary, Ack, Binary, HandlerResult, Socket};
use socket_serve_test_support::{chat, TestServer, DEFAULT_WAIT as WAIT};

/// A payload with bytes in every form a struct can hold them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Upload {
    name: String,
    #[serde(with = "socket_serve::binary")]
    bytes: Vec<u8>,
    #[serde(with = "socket_serve::binary")]
    shared: Bytes,
    #[serde(with = "socket_serve::binary::option", default)]
    thumbnail: Option<Vec<u8>>,
    parts: Vec<Binary>,
}

/// The marker object of `bytes`, written out by hand (not with the crate under test).
fn marker(bytes: &[u8]) -> Value {
    json!({ "__ssbin": STANDARD.encode(bytes) })
}

fn every_byte() -> Vec<u8> {
    (0..=255u8).rev().chain(0..=255).collect()
}

/// The chat app plus:
/// - `file` (`Binary`): emits `file` with the same bytes; the ack is the bytes too
/// - `upload` (`Upload`): emits `upload` with the same struct; the ack is its byte count
/// - `make` (n): emits `made`, the bytes 0, 1, .. n-1 (mod 256), and broadcasts them to
///   the other sessions as `made-all`
///
/// Returns the server and how many times `file` and `upload` ran.
async fn server() -> (TestServer, Arc<AtomicUsize>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let (r1, r2) = (runs.clone(), runs.clone());
    let server = TestServer::builder()
        .handlers(move |io| {
            chat::register(io);
            io.on_message("file", move |socket: Socket, file: Binary| {
                let runs = r1.clone();
                async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    socket.emit("file", &file).await?;
                    HandlerResult::Ok(Ack(file))
                }
            });
            io.on_message("upload", move |socket: Socket, upload: Upload| {
                let runs = r2.clone();
                async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    socket.emit("upload", &upload).await?;
                    HandlerResult::Ok(Ack(upload.bytes.len() + upload.shared.len()))
                }
            });
            io.on_message("make", |socket: Socket, n: usize| async move {
                let bytes = Binary::from((0..n).map(|i| i as u8).collect::<Vec<u8>>());
                socket.emit("made", &bytes).await?;
                socket
                    .broadcast("made-all", json!({ "n": n, "bytes": bytes }))
                    .await?;
                HandlerResult::Ok(())
            });
        })
        // Files up to the body limit: the data limit (64 KiB by default) raised to it.
        .config(|c| c.max_message_size = c.max_body_size)
        .start()
        .await;
    (server, runs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_handler_receives_the_bytes_and_emits_them_back_on_the_stream_and_as_its_ack() {
    let (server, runs) = server().await;
    let client = server.client();
    let (alice, mut stream) = client.connect_and_listen().await;
    stream.wait_for_event("welcome", WAIT).await;

    for bytes in [vec![], vec![0], vec![0xff, 0], every_byte()] {
        let answer = client.emit(&alice, "file", marker(&bytes)).await;
        assert_eq!(answer["ack"], marker(&bytes), "the ack is the bytes");
        let frame = stream.wait_for_event("file", WAIT).await;
        assert_eq!(frame.payload(), &marker(&bytes), "the emitted bytes");
        // The frame is one line of JSON with the marker inside, as PROTOCOL.md shows it.
        let data = frame.data.as_deref().unwrap_or_default();
        assert!(data.contains(r#""data":{"__ssbin":""#), "{data}");
        let decoded: Binary = serde_json::from_value(frame.payload().clone()).unwrap();
        assert_eq!(decoded, bytes);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn struct_fields_with_the_serde_module_round_trip_nested() {
    let (server, _) = server().await;
    let client = server.client();
    let (alice, mut stream) = client.connect_and_listen().await;
    stream.wait_for_event("welcome", WAIT).await;

    let wire = json!({
        "name": "photo.jpg",
        "bytes": marker(&every_byte()),
        "shared": marker(b"\x00shared\xff"),
        "thumbnail": marker(&[1, 2, 3]),
        "parts": [marker(b"a"), marker(&[]), marker(&[0; 1000])],
    });
    let answer = client.emit(&alice, "upload", wire.clone()).await;
    assert_eq!(answer["ack"], json!(512 + 8));
    let frame = stream.wait_for_event("upload", WAIT).await;
    assert_eq!(frame.payload(), &wire, "emitted back in the same form");
    let upload: Upload = serde_json::from_value(frame.payload().clone()).unwrap();
    assert_eq!(upload.bytes, every_byte());
    assert_eq!(&upload.shared[..], b"\x00shared\xff");
    assert_eq!(upload.thumbnail.as_deref(), Some(&[1u8, 2, 3][..]));
    assert_eq!(upload.parts[2], vec![0; 1000]);

    // The optional field may be null or missing.
    let mut without = wire.clone();
    without["thumbnail"] = Value::Null;
    client.emit(&alice, "upload", without).await;
    let frame = stream.wait_for_event("upload", WAIT).await;
    assert_eq!(frame.payload()["thumbnail"], Value::Null);
    let mut missing = wire;
    missing.as_object_mut().unwrap().remove("thumbnail");
    client.emit(&alice, "upload", missing).await;
    stream.wait_for_event("upload", WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emitted_bytes_reach_a_stream_a_long_poll_and_other_sessions() {
    let (server, _) = server().await;
    let client = server.client();
    let (alice, mut alice_stream) = client.connect_and_listen().await;
    alice_stream.wait_for_event("welcome", WAIT).await;
    let bob = client.connect().await;

    client.emit(&alice, "make", json!(300)).await;
    let expected: Vec<u8> = (0..300).map(|i| i as u8).collect();
    let made = alice_stream.wait_for_event("made", WAIT).await;
    assert_eq!(made.payload(), &marker(&expected));

    // Bob long-polls from his start: the broadcast carries the same marker.
    let mut cursor = bob.cursor.expect("/connect answers a cursor").to_string();
    let payload = loop {
        let answer = client.long_poll(&bob.session_id, &cursor).await;
        if let Some(m) = answer
            .messages
            .iter()
            .find(|m| m.envelope.event == "made-all")
        {
            break m.envelope.data.clone();
        }
        cursor = answer
            .cursor
            .expect("a long-poll answers its position")
            .to_string();
    };
    assert_eq!(payload["bytes"], marker(&expected));
    assert_eq!(
        binary::from_value(&payload["bytes"]).unwrap(),
        Some(Binary::from(expected))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_binary_answers_400_invalid_payload_and_runs_no_handler() {
    let (server, runs) = server().await;
    let client = server.client();
    let alice = client.connect().await;

    for (event, data) in [
        ("file", json!({"__ssbin": "not base64!"})),
        ("file", json!({"__ssbin": "AAE"})), // padding missing
        ("file", json!({"__ssbin": 12})),
        ("file", json!("AAE=")), // a bare string is not binary
        ("file", json!([0, 1])),
        // The marker key with other keys is an ordinary object, not binary.
        ("file", json!({"__ssbin": "AAE=", "name": "x"})),
        (
            "upload",
            json!({"name": "x", "bytes": {"__ssbin": "@@@@"}, "shared": marker(&[]), "parts": []}),
        ),
        (
            "upload",
            json!({"name": "x", "bytes": marker(&[1]), "shared": marker(&[]), "parts": [{"__ssbin": "A"}]}),
        ),
    ] {
        let answer = client
            .post_message(
                &alice.session_id,
                event,
                data.clone(),
                Some(&client.new_message_id()),
            )
            .await;
        let message = answer.error(400, "invalid_payload");
        assert!(message.contains(event), "{data}: {answer}");
        assert!(
            message.contains("binary") || message.contains("base64"),
            "the message says what was wrong: {data}: {answer}"
        );
    }
    assert_eq!(runs.load(Ordering::SeqCst), 0, "no handler ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untyped_handlers_see_the_marker_object_as_it_is() {
    let (server, _) = server().await;
    let client = server.client();
    let (alice, mut stream) = client.connect_and_listen().await;
    stream.wait_for_event("welcome", WAIT).await;

    // The chat example's `echo` takes a serde_json::Value: markers pass through untouched,
    // also invalid ones and objects that only look like one.
    let data = json!({
        "file": marker(b"hi"),
        "nested": [[marker(&[0, 1])]],
        "bad": {"__ssbin": "!!"},
        "not": {"__ssbin": "aGk=", "other": 1},
    });
    let answer = client.emit(&alice, "echo", data.clone()).await;
    assert_eq!(answer["ack"], data);
    assert_eq!(stream.wait_for_event("echo", WAIT).await.payload(), &data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_body_size_bounds_the_base64_form() {
    let (server, _) = server().await;
    let client = server.client();
    let (alice, mut stream) = client.connect_and_listen().await;
    stream.wait_for_event("welcome", WAIT).await;

    // Default max_body_size: 1 MiB of JSON, so about 3/4 MiB of bytes.
    let fits = vec![7u8; 700 * 1024];
    let answer = client.emit(&alice, "file", marker(&fits)).await;
    assert_eq!(answer["ack"], marker(&fits));
    assert_eq!(
        stream.wait_for_event("file", WAIT).await.payload(),
        &marker(&fits)
    );
    let too_big = vec![7u8; 800 * 1024];
    client
        .post_message(&alice.session_id, "file", marker(&too_big), None)
        .await
        .error(413, "payload_too_large");
}
