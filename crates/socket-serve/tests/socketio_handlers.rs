//! Socket.IO event handlers run inside the `POST` that carried them (a serverless instance
//! may freeze once it answers), up to the request's deadline; a handler that waits for its
//! own client's ack releases the `POST` (that client sends nothing while it is open). And
//! a long-poll answer is bounded like the socket-serve long-poll's.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use socket_serve::platform::Deadline;
use socket_serve::{Ack, Socket, SocketIo, SocketIoOptions, SocketServe};
use socket_serve_test_support::{http_client, TestStore};

const SEP: char = '\x1e';

/// How many handlers have finished, shared with the app.
type Done = Arc<AtomicUsize>;

struct App {
    url: String,
    http: reqwest::Client,
    done: Done,
    _store: TestStore,
}

/// An app whose `slow` handler takes `SLOW` and whose `ask` handler waits for its client's
/// ack; every request gets the `Deadline` of a runtime `deadline_in` after its arrival.
async fn app(deadline_in: Option<Duration>) -> App {
    let store = TestStore::from_env();
    let io = SocketServe::new(store.config()).unwrap();
    let done = Done::default();
    let (slow_done, ask_done) = (done.clone(), done.clone());
    io.on_message("slow", move |socket: Socket, ms: u64| {
        let done = slow_done.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            socket.set("slow", "done").await?;
            done.fetch_add(1, Ordering::SeqCst);
            Ok::<_, socket_serve::Error>(Ack("slept"))
        }
    });
    io.on_message("ask", move |socket: Socket, _: Value| {
        let done = ask_done.clone();
        async move {
            let answer: Value = socket.emit_with_ack("question", &"?").await?;
            done.fetch_add(1, Ordering::SeqCst);
            Ok::<_, socket_serve::Error>(Ack(answer))
        }
    });
    let options = SocketIoOptions {
        ping_interval: Duration::from_secs(2),
        ..Default::default()
    };
    io.on_message("flood", |socket: Socket, n: u64| async move {
        for i in 0..n {
            socket.emit("n", i).await?;
        }
        Ok::<_, socket_serve::Error>(Ack(n))
    });
    let sio = SocketIo::with_options(&io, options).unwrap();
    let mut router: axum::Router = axum::Router::new().nest_service("/socket.io", sio.service());
    if let Some(deadline_in) = deadline_in {
        router = router.layer(axum::middleware::map_request(
            move |mut request: axum::extract::Request| async move {
                let deadline = Deadline(Instant::now() + deadline_in);
                request.extensions_mut().insert(deadline);
                request
            },
        ));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    App {
        url: format!("http://{addr}/socket.io/?EIO=4&transport=polling"),
        http: http_client().build().unwrap(),
        done,
        _store: store,
    }
}

impl App {
    async fn get(&self, sid: Option<&str>) -> String {
        let url = match sid {
            Some(sid) => format!("{}&sid={sid}", self.url),
            None => self.url.clone(),
        };
        let res = self.http.get(url).send().await.unwrap();
        assert_eq!(res.status(), 200);
        res.text().await.unwrap()
    }

    async fn post(&self, sid: &str, body: &str) -> String {
        let url = format!("{}&sid={sid}", self.url);
        let res = self.http.post(url).body(body.to_owned()).send().await;
        let res = res.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(status, 200, "{text}");
        text
    }

    /// An Engine.IO session connected to `/`.
    async fn connected(&self) -> String {
        let open = self.get(None).await;
        let open: Value = serde_json::from_str(&open[1..]).unwrap();
        let sid = open["sid"].as_str().unwrap().to_owned();
        assert_eq!(self.post(&sid, "40").await, "ok");
        self.poll_until(&sid, |p| p.starts_with("40{")).await;
        sid
    }

    /// Polls until a packet matches; returns that packet.
    async fn poll_until(&self, sid: &str, pred: impl Fn(&str) -> bool) -> String {
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            let answer = self.get(Some(sid)).await;
            if let Some(found) = answer.split(SEP).find(|p| pred(p)) {
                return found.to_owned();
            }
        }
        panic!("no such packet within 5 s");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_handler_is_done_when_its_post_answers() {
    let app = app(None).await;
    let sid = app.connected().await;
    let started = Instant::now();
    assert_eq!(app.post(&sid, r#"421["slow",500]"#).await, "ok");
    assert!(started.elapsed() >= Duration::from_millis(500));
    // Done before the answer, effects stored: nothing left for a frozen instance to do.
    assert_eq!(app.done.load(Ordering::SeqCst), 1);
    let ack = app.poll_until(&sid, |p| p.starts_with("431")).await;
    assert_eq!(ack, r#"431["slept"]"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_waiting_for_its_own_client_releases_the_post() {
    let app = app(None).await;
    let sid = app.connected().await;
    let started = Instant::now();
    assert_eq!(app.post(&sid, r#"427["ask",null]"#).await, "ok");
    // Answered although the handler waits (for an ack only a next POST can carry).
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(app.done.load(Ordering::SeqCst), 0);
    let question = app.poll_until(&sid, |p| p.contains("question")).await;
    let id: String = question[2..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert_eq!(app.post(&sid, &format!(r#"43{id}["yes"]"#)).await, "ok");
    let ack = app.poll_until(&sid, |p| p.starts_with("437")).await;
    assert_eq!(ack, r#"437["yes"]"#);
    assert_eq!(app.done.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_answers_before_its_runtimes_deadline() {
    // 2 s of deadline, 1 s of margin: the POST answers at 1 s though the handler sleeps 3 s.
    let app = app(Some(Duration::from_secs(2))).await;
    let sid = app.connected().await;
    let started = Instant::now();
    assert_eq!(app.post(&sid, r#"42["slow",3000]"#).await, "ok");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_millis(2000), "{took:?}");
    assert_eq!(app.done.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_answers_at_most_500_events_and_the_rest_next() {
    let app = app(None).await;
    let sid = app.connected().await;
    assert_eq!(app.post(&sid, r#"42["flood",600]"#).await, "ok");
    let numbers = |answer: &str| -> Vec<u64> {
        answer
            .split(SEP)
            .filter_map(|p| p.strip_prefix("42"))
            .map(|p| {
                serde_json::from_str::<Value>(p).unwrap()[1]
                    .as_u64()
                    .unwrap()
            })
            .collect()
    };
    let first = numbers(&app.get(Some(&sid)).await);
    assert_eq!(first, (0..500).collect::<Vec<_>>());
    let second = numbers(&app.get(Some(&sid)).await);
    assert_eq!(second, (500..600).collect::<Vec<_>>());
}
