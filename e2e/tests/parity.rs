//! Socket.IO parity across stateless instances (issue 11), on 3 chat processes over one
//! Redis. Clients go through a [`Balancer`] that sends every request to an instance at
//! random (or, where a test must be sure a request lands elsewhere, straight to a chosen
//! instance); server-side calls come from a fourth instance in this process, which no
//! client ever reaches: what it does travels through Redis only.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use socket_serve::{Binary, Config, Error, SocketServe, StoreConfig};
use socket_serve_client::{ClientEvent, ClientOptions, DisconnectReason, EventStream, Message};
use socket_serve_e2e::{Balancer, Cluster, RedisProxy};
use socket_serve_test_support::{RawClient, Resume, DEFAULT_WAIT as WAIT};

/// Three chat processes, the balancer in front of them, and an instance of our own.
struct Deployment {
    cluster: Cluster,
    balancer: Balancer,
    io: SocketServe,
}

impl Deployment {
    async fn start(env: &[(&str, &str)]) -> Deployment {
        let mut env = env.to_vec();
        env.push(("SOCKET_SERVE_PRESENCE_EVENTS", "1"));
        let cluster = Cluster::start(3, &env);
        let balancer = Balancer::start(cluster.urls()).await;
        let io = SocketServe::new(Config {
            store: StoreConfig::Redis(cluster.redis_url()),
            presence_events: true,
            ..Config::default()
        })
        .expect("our instance");
        Deployment {
            cluster,
            balancer,
            io,
        }
    }

    /// A Rust client through the balancer, connected, with its event stream.
    async fn client(&self) -> (socket_serve_client::Client, EventStream) {
        let options = ClientOptions::default()
            .reconnect_delay(Duration::from_millis(20))
            .reconnect_delay_max(Duration::from_millis(200));
        let client =
            socket_serve_client::Client::new(&self.balancer.base_url(), options).expect("a client");
        let events = client.events();
        client.open().expect("open");
        client.wait_connected(WAIT).await.expect("connected");
        (client, events)
    }

    /// A protocol-level client of instance `i` only.
    fn instance(&self, i: usize) -> RawClient {
        RawClient::new(&self.cluster.urls().all()[i])
    }
}

/// The next message of `event`, skipping everything else; panics after `timeout`.
async fn next_message(events: &mut EventStream, event: &str, timeout: Duration) -> Message {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, events.recv()).await {
            Ok(Some(ClientEvent::Message(m))) if m.event == event => return m,
            Ok(Some(_)) => {}
            Ok(None) => panic!("the client closed while waiting for {event:?}"),
            Err(_) => panic!("no {event:?} within {timeout:?}"),
        }
    }
}

/// Every message of `event` that arrives until `quiet` passes without one.
async fn drain(events: &mut EventStream, event: &str, quiet: Duration) -> Vec<Value> {
    let mut got = Vec::new();
    while let Ok(Some(e)) = tokio::time::timeout(quiet, events.recv()).await {
        if let ClientEvent::Message(m) = e {
            if m.event == event {
                got.push(m.data);
            }
        }
    }
    got
}

async fn join(client: &socket_serve_client::Client, room: &str) {
    let _: Value = client
        .emit_with_ack("join", json!({ "room": room }))
        .await
        .expect("joined");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_are_answered_through_any_instance_across_stream_cuts_or_time_out() {
    // Streams rotate every 300 ms, so some questions and replies straddle a cut.
    let d = Deployment::start(&[("SOCKET_SERVE_MAX_STREAM_MS", "300")]).await;

    // Deterministic: the question waits on our instance, the stream that carries it runs
    // on instance 1 and is cut before the reply, the resumed stream runs on instance 2
    // (it replays the question under the same id), the reply lands on instance 0.
    let session = d.instance(0).connect().await;
    let before = session.cursor.expect("a cursor").to_string();
    let io = d.io.clone();
    let id = session.id.clone();
    let asked = tokio::spawn(async move {
        io.to_session(&id)
            .emit_with_ack::<Value>("question", "sure?", Duration::from_secs(10))
            .await
    });
    let mut first = d
        .instance(1)
        .open_stream_from(&session.session_id, Resume::Header(before.clone()))
        .await;
    let question = first.wait_for_event("question", WAIT).await;
    let ack_id = question.envelope["ackId"]
        .as_str()
        .expect("an ackId")
        .to_owned();
    drop(first);
    let mut resumed = d
        .instance(2)
        .open_stream_from(&session.session_id, Resume::Header(before))
        .await;
    let replayed = resumed.wait_for_event("question", WAIT).await;
    assert_eq!(replayed.envelope["ackId"], json!(ack_id));
    let reply = json!({ "sessionId": session.session_id, "ackId": ack_id, "data": "yes" });
    assert_eq!(
        d.instance(0).post_json("ack", &reply).await.ok()["duplicate"],
        false
    );
    assert_eq!(
        d.instance(1).post_json("ack", &reply).await.ok()["duplicate"],
        true
    );
    let answer = tokio::time::timeout(WAIT, asked)
        .await
        .expect("answered")
        .unwrap();
    assert_eq!(answer.expect("the reply"), json!("yes"));

    // Through the balancer, with the Rust client's ack handle: every question answered
    // once, with its own answer.
    let (client, _events) = d.client().await;
    client.on_with_ack("question", |n: u64, ack| ack.send(n * 2));
    let id = client.id().expect("an id");
    for n in 0..30u64 {
        let doubled: u64 =
            d.io.to_session(&id)
                .emit_with_ack("question", n, Duration::from_secs(10))
                .await
                .expect("a reply");
        assert_eq!(doubled, n * 2);
    }
    // The chat app's `ask` waits on whichever instance got the POST.
    for n in 0..10u64 {
        let answer: Value = client
            .emit_with_ack("ask", json!({ "question": n }))
            .await
            .expect("asked");
        assert_eq!(answer, json!({ "answer": n * 2 }));
    }

    // No handler answers "unanswered": the wait ends in the error value.
    let waited =
        d.io.to_session(&id)
            .emit_with_ack::<Value>("unanswered", 1, Duration::from_millis(300))
            .await;
    assert!(
        matches!(waited, Err(Error::AckTimeout { .. })),
        "{waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_reach_each_member_once_leave_out_whom_they_say_and_volatile_is_never_replayed() {
    let d = Deployment::start(&[]).await;
    let (a, mut a_events) = d.client().await;
    let (ab, mut ab_events) = d.client().await;
    let (b, mut b_events) = d.client().await;
    let (c, mut c_events) = d.client().await;
    join(&a, "a").await;
    join(&ab, "a").await;
    join(&ab, "b").await;
    join(&b, "b").await;
    join(&c, "c").await;

    for n in 0..5 {
        d.io.to("a").to("b").emit("news", n).await.unwrap();
    }
    let ab_id = ab.id().expect("an id");
    d.io.to("a")
        .to("b")
        .except(&ab_id)
        .emit("not-ab", 1)
        .await
        .unwrap();
    d.io.except("b").emit("not-b", 2).await.unwrap();
    d.io.emit("everyone", 3).await.unwrap();

    let five: Vec<Value> = (0..5).map(|n| json!(n)).collect();
    let quiet = Duration::from_millis(500);
    for (who, events, news, not_ab, not_b) in [
        ("a", &mut a_events, five.clone(), 1, 1),
        ("ab", &mut ab_events, five.clone(), 0, 0),
        ("b", &mut b_events, five.clone(), 1, 0),
        ("c", &mut c_events, Vec::new(), 0, 1),
    ] {
        let mut got: Vec<(String, Value)> = Vec::new();
        while let Ok(Some(e)) = tokio::time::timeout(quiet, events.recv()).await {
            if let ClientEvent::Message(m) = e {
                got.push((m.event, m.data));
            }
        }
        let of = |event: &str| -> Vec<Value> {
            got.iter()
                .filter(|(e, _)| e == event)
                .map(|(_, d)| d.clone())
                .collect()
        };
        assert_eq!(of("news"), news, "{who}: each member once, in order");
        assert_eq!(of("not-ab").len(), not_ab, "{who}: {got:?}");
        assert_eq!(of("not-b").len(), not_b, "{who}: {got:?}");
        assert_eq!(of("everyone"), vec![json!(3)], "{who}");
    }

    // Volatile: the connected member gets it live; a resume from before it does not
    // replay it, and neither does a member's first stream opened afterwards.
    let raw = d.instance(0);
    let session = raw.connect().await;
    raw.emit(&session, "join", json!({ "room": "a" })).await;
    d.io.to("a")
        .volatile()
        .emit("cursor", json!([1, 2]))
        .await
        .unwrap();
    let live = next_message(&mut a_events, "cursor", WAIT).await;
    assert_eq!(live.data, json!([1, 2]));
    assert_eq!(live.cursor, None, "volatile frames carry no cursor");
    d.io.to("a").emit("after", 1).await.unwrap();
    let mut late = d.instance(1).open_stream(&session.session_id).await;
    late.wait_for_event("after", WAIT).await;
    assert!(
        late.received().iter().all(|f| f.event() != Some("cursor")),
        "not replayed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_from_another_instance_and_fetch_sockets_with_an_instance_killed() {
    let mut d = Deployment::start(&[]).await;
    let (vip, mut vip_events) = d.client().await;
    let vip_id = vip.id().expect("an id");

    // Our instance makes a session that lives on the others join, hear and leave a room.
    d.io.to_session(&vip_id).join("vip").await.unwrap();
    d.io.to("vip").emit("perk", 1).await.unwrap();
    assert_eq!(
        next_message(&mut vip_events, "perk", WAIT).await.data,
        json!(1)
    );
    assert_eq!(d.io.to("vip").sockets_join("gold").await.unwrap(), 1);
    d.io.to("gold").emit("shine", 2).await.unwrap();
    assert_eq!(
        next_message(&mut vip_events, "shine", WAIT).await.data,
        json!(2)
    );
    assert_eq!(d.io.to("vip").sockets_leave("gold").await.unwrap(), 1);
    d.io.to("gold").emit("shine", 3).await.unwrap();
    d.io.to("vip").emit("perk", 4).await.unwrap();
    let next = next_message(&mut vip_events, "perk", WAIT).await;
    assert_eq!(
        next.data,
        json!(4),
        "left gold: its shine 3 did not come first"
    );

    // fetch_sockets answers from Redis: an instance killed mid-way cannot make it hang.
    let mut members = Vec::new();
    for i in 0..6 {
        let (client, events) = d.client().await;
        let _: Value = client
            .emit_with_ack("present", json!({ "n": i }))
            .await
            .unwrap();
        join(&client, "f").await;
        members.push((client, events));
    }
    d.cluster.kill(0);
    let started = Instant::now();
    let found = tokio::time::timeout(Duration::from_secs(3), d.io.to("f").fetch_sockets())
        .await
        .expect("fetch_sockets does not wait on the dead instance")
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    let mut ids: Vec<String> = found.iter().map(|s| s.id().to_owned()).collect();
    ids.sort();
    let mut expect: Vec<String> = members.iter().map(|(c, _)| c.id().unwrap()).collect();
    expect.sort();
    assert_eq!(ids, expect);

    // And ending them from here reaches each client, wherever its stream went.
    assert_eq!(d.io.to("f").disconnect_sockets().await.unwrap(), 6);
    for (client, events) in &mut members {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, events.recv()).await {
                // Streams that ran on the killed instance broke: those clients resumed.
                Ok(Some(ClientEvent::Disconnect { reason })) if !reason.is_final() => {}
                Ok(Some(ClientEvent::Disconnect { reason })) => {
                    assert_eq!(reason, DisconnectReason::ServerDisconnect);
                    break;
                }
                Ok(Some(_)) => {}
                // The end came while it was reconnecting (it had reported that
                // disconnect already): it stays closed, no new session.
                Ok(None) if client.is_closed() => break,
                other => panic!("{:?}: no server disconnect: {other:?}", client.id()),
            }
        }
    }
    for (client, _) in &members {
        assert!(
            client.is_closed(),
            "{:?} reconnected after a server disconnect",
            client.id()
        );
    }
    assert!(d.io.to("f").fetch_sockets().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_joins_leaves_and_expiry_are_seen_across_instances() {
    let ttl = Duration::from_millis(2000);
    let heartbeat = Duration::from_millis(500);
    let d = Deployment::start(&[
        ("SOCKET_SERVE_SESSION_TTL_MS", "2000"),
        ("SOCKET_SERVE_HEARTBEAT_MS", "500"),
    ])
    .await;
    let (watcher, mut events) = d.client().await;
    join(&watcher, "p").await;

    let (ann, _ann_events) = d.client().await;
    let ann_id = ann.id().unwrap();
    let _: Value = ann
        .emit_with_ack("present", json!({"name": "ann"}))
        .await
        .unwrap();
    join(&ann, "p").await;
    let joined = next_message(&mut events, "presence:join", WAIT).await;
    assert_eq!(joined.data, json!({"id": ann_id, "meta": {"name": "ann"}}));
    let page = d.io.presence("p").page(None, 10).await.unwrap();
    assert_eq!(page.members.len(), 2);
    assert_eq!(d.io.presence("p").count().await.unwrap(), 2);
    let _: Value = ann
        .emit_with_ack("leave", json!({"room": "p"}))
        .await
        .unwrap();
    let left = next_message(&mut events, "presence:leave", WAIT).await;
    assert_eq!(left.data, json!({"id": ann_id}));
    join(&ann, "p").await;
    next_message(&mut events, "presence:join", WAIT).await;
    ann.disconnect().await;
    let left = next_message(&mut events, "presence:leave", WAIT).await;
    assert_eq!(left.data, json!({"id": ann_id}));

    // A session that vanishes (no stream, no request after its join) leaves within two
    // heartbeats of its expiry, swept by whichever instance gets there first.
    let raw = d.instance(1);
    let ghost = raw.connect().await;
    raw.emit(&ghost, "join", json!({ "room": "p" })).await;
    let last_seen = Instant::now();
    next_message(&mut events, "presence:join", WAIT).await;
    let bound = ttl + 2 * heartbeat;
    let left = next_message(&mut events, "presence:leave", bound + WAIT).await;
    assert_eq!(left.data, json!({"id": ghost.id}));
    let took = last_seen.elapsed();
    assert!(
        took <= bound,
        "left {took:?} after it was last seen (bound {bound:?})"
    );
    assert_eq!(d.io.presence("p").count().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rooms_count_and_first_page_cost_the_same_redis_commands_at_10_and_10000_members() {
    let d = Deployment::start(&[]).await;
    let redis_port: u16 = d
        .cluster
        .redis_url()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a port");
    // Members are made straight in the store (10,000 connects over HTTP would only test
    // patience): sessions, presence metadata, joins.
    let store = socket_serve::store::redis::RedisStore::open(
        &d.cluster.redis_url(),
        socket_serve::store::redis::RedisOptions::from_config(&Config::default()),
    )
    .unwrap();
    use socket_serve::store::Store;
    for (room, n) in [("small", 10), ("huge", 10_000)] {
        for i in 0..n {
            let sid = format!("{:032x}", (room.len() as u128) << 64 | i as u128);
            let public = format!("{room}-{i}");
            store.create_session(&sid, &public, None).await.unwrap();
            store.set_presence(&sid, Some("{\"n\":1}")).await.unwrap();
            store.join(&sid, &public, room, 10).await.unwrap();
        }
    }
    let proxy = RedisProxy::start(redis_port).await;
    let counted = SocketServe::new(Config {
        store: StoreConfig::Redis(proxy.url()),
        ..Config::default()
    })
    .unwrap();
    // Connections and scripts warm first: what is counted is the calls themselves.
    counted.presence("small").count().await.unwrap();
    counted.presence("small").page(None, 100).await.unwrap();
    let mut costs = Vec::new();
    for (room, n) in [("small", 10usize), ("huge", 10_000)] {
        let presence = counted.presence(room);
        let before = proxy.requests();
        assert_eq!(presence.count().await.unwrap(), n);
        let page = presence.page(None, 100).await.unwrap();
        let cost = proxy.requests() - before;
        assert!(
            !page.members.is_empty() && page.members.len() <= 150,
            "{}",
            page.members.len()
        );
        assert_eq!(
            page.next.is_some(),
            n > 100,
            "{room}: more pages only for the big room"
        );
        costs.push(cost);
    }
    assert_eq!(
        costs,
        vec![2, 2],
        "count + first page: one command each, at any size"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_round_trips_through_the_rust_client_across_instances() {
    let d = Deployment::start(&[]).await;
    let (client, mut events) = d.client().await;
    let bytes: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    for _ in 0..5 {
        let reply: Binary = client
            .emit_with_ack("echo", Binary::new(bytes.clone()))
            .await
            .expect("echoed");
        assert_eq!(reply.to_vec(), bytes);
        let echoed = next_message(&mut events, "echo", WAIT).await;
        assert_eq!(echoed.decode::<Binary>().unwrap().to_vec(), bytes);
    }
    // From our instance to the client, which decodes it in a typed handler.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    client.on("blob", move |b: Binary| {
        let _ = tx.send(b.to_vec());
    });
    let id = client.id().unwrap();
    d.io.to_session(&id)
        .emit("blob", Binary::new(vec![1, 2, 3]))
        .await
        .unwrap();
    let got = tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, vec![1, 2, 3]);
    let drained = drain(&mut events, "blob", Duration::from_millis(200)).await;
    assert_eq!(drained.len(), 1);
}
