//! LocalLambda against the real chat-lambda function: real processes, real HTTP on
//! loopback, a private redis-server per test. Needs `target/debug/chat-lambda`
//! (`cargo build -p chat-lambda`; scripts/test.sh builds it); without it, or with it older
//! than its sources, each test fails saying so.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;
use socket_serve_test_support::reqwest;
use socket_serve_test_support::{
    built_binary, within, InstanceState, LambdaOptions, LocalLambda, RedisServer, DEFAULT_WAIT,
};

/// `target/debug/chat-lambda`, built and newer than its sources (else the test fails and
/// says which `cargo build` to run: a missing function must not pass as a skip).
fn chat_lambda() -> Option<PathBuf> {
    Some(built_binary("chat-lambda", &["examples/chat-lambda/src"]))
}

fn options(function: PathBuf, redis: &RedisServer) -> LambdaOptions {
    LambdaOptions {
        env: vec![
            ("REDIS_URL".into(), redis.url()),
            ("RUST_LOG".into(), "warn".into()),
        ],
        ..LambdaOptions::new(function)
    }
}

/// The state letter of `/proc/<pid>/stat` (`S`, `R`, `T` stopped, `Z`...), `None` once
/// the process is gone.
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.trim_start().chars().next()
}

/// Polls (bounded) until `pid`'s state is `want` (`None`: gone or a zombie).
async fn wait_state(pid: u32, want: Option<char>, what: &str) {
    let until = Instant::now() + DEFAULT_WAIT;
    loop {
        let state = proc_state(pid).filter(|s| *s != 'Z');
        if state == want {
            return;
        }
        assert!(
            Instant::now() < until,
            "pid {pid}: {what}: state {state:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Polls (bounded) until `check` holds on the emulator.
async fn wait_until(lambda: &LocalLambda, what: &str, check: impl Fn(&LocalLambda) -> bool) {
    let until = Instant::now() + DEFAULT_WAIT;
    while !check(lambda) {
        assert!(
            Instant::now() < until,
            "{what} did not happen: {:?}",
            lambda.stats()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn http() -> reqwest::Client {
    socket_serve_test_support::http_client()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a reqwest client")
}

/// `POST /socket/connect`: status and parsed JSON body.
async fn connect(lambda: &LocalLambda) -> (u16, Value) {
    connect_to(lambda.url()).await
}

async fn connect_to(url: String) -> (u16, Value) {
    let response = within(
        DEFAULT_WAIT,
        "POST /socket/connect",
        http()
            .post(format!("{url}/socket/connect"))
            .header("content-type", "application/json")
            .body("{}")
            .send(),
    )
    .await
    .expect("POST /socket/connect");
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("the connect body");
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    (status, json)
}

/// Opens a session's SSE stream and reads it until its `connected` frame: the response,
/// still open, and what was read.
async fn open_stream(lambda: &LocalLambda) -> (reqwest::Response, String) {
    let (status, session) = connect(lambda).await;
    assert_eq!(status, 200, "{session}");
    let session_id = session["sessionId"].as_str().expect("a sessionId");
    let mut response = within(
        DEFAULT_WAIT,
        "the SSE response head",
        http()
            .get(format!(
                "{}/socket/sse?sessionId={session_id}",
                lambda.url()
            ))
            .send(),
    )
    .await
    .expect("GET /socket/sse");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream",
        "the prelude's headers"
    );
    let mut text = String::new();
    while !text.contains("\"connected\"") {
        let chunk = within(DEFAULT_WAIT, "the first SSE frames", response.chunk())
            .await
            .expect("a chunk of the stream")
            .unwrap_or_else(|| panic!("the stream ended before `connected`: {text:?}"));
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    (response, text)
}

/// Reads the rest of a body: `Ok` if it ended cleanly, `Err` if it was cut.
async fn read_to_end(response: &mut reqwest::Response, within_: Duration) -> Result<(), String> {
    within(within_, "the end of the body", async {
        loop {
            match response.chunk().await {
                Ok(Some(_)) => continue,
                Ok(None) => return Ok(()),
                Err(e) => return Err(format!("{e:?}")),
            }
        }
    })
    .await
}

fn pid_t(pid: u32) -> Pid {
    Pid::from_raw(i32::try_from(pid).expect("a pid fits in i32"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_answers_json_through_the_function_url() {
    let Some(function) = chat_lambda() else {
        return;
    };
    let redis = RedisServer::start();
    let lambda = LocalLambda::start(options(function, &redis))
        .await
        .expect("start");
    let (status, body) = connect(&lambda).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["sessionId"].is_string(), "{body}");

    // The page, a plain buffered-looking GET through the streaming runtime.
    let page = http()
        .get(format!("{}/", lambda.url()))
        .send()
        .await
        .expect("GET /");
    assert_eq!(page.status(), 200);
    assert!(page.headers().contains_key("x-amzn-requestid"));
    let html = page.text().await.expect("the page");
    assert!(
        html.contains("<html") || html.contains("<!doctype"),
        "{html}"
    );

    let stats = lambda.stats();
    assert_eq!(stats.invocations, 2, "{stats:?}");
    assert_eq!(stats.instances_started, 1, "{stats:?}");
    assert_eq!(stats.max_busy, 1, "{stats:?}");
    assert!(stats.init_errors.is_empty(), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_frames_are_relayed_before_the_stream_ends() {
    let Some(function) = chat_lambda() else {
        return;
    };
    let redis = RedisServer::start();
    let lambda = LocalLambda::start(options(function, &redis))
        .await
        .expect("start");
    let (_stream, text) = open_stream(&lambda).await;
    assert!(
        text.contains("\"welcome\"") || text.contains("\"connected\""),
        "{text}"
    );
    // The invocation is still running: what arrived was relayed, not buffered to the end.
    let stats = lambda.stats();
    assert_eq!(stats.busy_now, 1, "{stats:?}");
    assert_eq!(lambda.instances()[0].state, InstanceState::Busy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_is_frozen_after_its_response_and_thawed_for_the_next() {
    let Some(function) = chat_lambda() else {
        return;
    };
    let redis = RedisServer::start();
    let lambda = LocalLambda::start(options(function, &redis))
        .await
        .expect("start");
    assert_eq!(connect(&lambda).await.0, 200);
    let pids = lambda.pids();
    assert_eq!(pids.len(), 1);
    let pid = pids[0];
    wait_state(pid, Some('T'), "frozen after its response").await;
    assert_eq!(lambda.instances()[0].state, InstanceState::Frozen);
    assert_eq!(lambda.stats().frozen_now, 1);

    assert_eq!(connect(&lambda).await.0, 200, "the thawed instance answers");
    assert_eq!(lambda.pids(), vec![pid], "the same instance, reused");
    wait_state(pid, Some('T'), "frozen again").await;
    let stats = lambda.stats();
    assert_eq!(stats.instances_started, 1, "{stats:?}");
    assert_eq!(stats.invocations, 2, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_freezing_an_idle_instance_waits_awake() {
    let Some(function) = chat_lambda() else {
        return;
    };
    let redis = RedisServer::start();
    let lambda = LocalLambda::start(LambdaOptions {
        freeze: false,
        ..options(function, &redis)
    })
    .await
    .expect("start");
    assert_eq!(connect(&lambda).await.0, 200);
    wait_until(&lambda, "the instance idle", |l| {
        l.instances().first().map(|i| i.state) == Some(InstanceState::Idle)
    })
    .await;
    let pid = lambda.pids()[0];
    assert_ne!(proc_state(pid), Some('T'));
    assert_eq!(connect(&lambda).await.0, 200);
    assert_eq!(lambda.pids(), vec![pid]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_requests_start_two_instances() {
    let Some(function) = chat_lambda() else {
        return;
    };
    let redis = RedisServer::start();
    let lambda = LocalLambda::start(options(function, &redis))
        .await
        .expect("start");
    // The stream holds its instance; the connect inside open_stream ran before it, on
    // the same (then frozen, then thawed) instance.
    let (_stream, _) = open_stream(&lambda).await;
    assert_eq!(lambda.stats().instances_started, 1);
    assert_eq!(connect(&lambda).await.0, 200);
    let stats = lambda.stats();
    assert_eq!(stats.instances_started, 2, "{stats:?}");
    assert_eq!(stats.max_busy, 2, "{stats:?}");
    assert_eq!(stats.busy_now, 1, "{stats:?}");
    let pids = lambda.pids();
    assert_eq!(pids.len(), 2);
    assert_ne!(pids[0], pids[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_instance_cap_a_request_waits_for_an_instance_to_free_up() {
    let Some(function) = chat_lambda() else {
        return;
    };
    let redis = RedisServer::start();
    let timeout = Duration::from_secs(3);
    let lambda = LocalLambda::start(LambdaOptions {
        timeout,
        max_instances: 1,
        ..options(function, &redis)
    })
    .await
    .expect("start");
    let (mut stream, _) = open_stream(&lambda).await;
    let waiter = tokio::spawn(connect_to(lambda.url()));
    wait_until(&lambda, "a request waiting at the cap", |l| {
        l.stats().waiting_now == 1
    })
    .await;
    assert_eq!(lambda.stats().instances_started, 1);
    // chat-lambda ends its stream a margin before the deadline; then the waiting request
    // gets the instance.
    let end = read_to_end(&mut stream, timeout + DEFAULT_WAIT).await;
    assert!(
        end.is_ok(),
        "the stream ends cleanly before its deadline: {end:?}"
    );
    let (status, body) = within(DEFAULT_WAIT, "the waiting request", waiter)
        .await
        .expect("the waiting task");
    assert_eq!(status, 200, "{body}");
    let stats = lambda.stats();
    assert_eq!(stats.instances_started, 1, "{stats:?}");
    assert_eq!(stats.max_busy, 1, "{stats:?}");
    assert_eq!(stats.waiting_now, 0, "{stats:?}");
    assert_eq!(stats.timeouts_killed, 0, "{stats:?}");
}

/// `name` on `PATH`, if there.
fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// A custom runtime in sh + curl: answers `/fail` through `/invocation/{id}/error`, every
/// other invocation with a buffered response; keeps each event and its `/next` headers in
/// `$WORK`.
const SH_RUNTIME: &str = r#"#!/bin/sh
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
n=0
while :; do
  n=$((n+1))
  curl -sS -f -D "$WORK/headers-$n" -o "$WORK/event-$n" "$api/invocation/next" || exit 1
  id=$(sed -n 's/^[Ll]ambda-[Rr]untime-[Aa]ws-[Rr]equest-[Ii]d: *//p' "$WORK/headers-$n" | tr -d '\r')
  if grep -q '"rawPath":"/fail"' "$WORK/event-$n"; then
    curl -sS -f -o /dev/null -X POST -d '{"errorType":"Boom","errorMessage":"failed on purpose"}'       "$api/invocation/$id/error" || exit 1
  else
    curl -sS -f -o /dev/null -X POST       -d '{"statusCode":201,"headers":{"x-kind":"buffered"},"cookies":["a=1; Path=/","b=2"],"body":"aGk=","isBase64Encoded":true}'       "$api/invocation/$id/response" || exit 1
  fi
done
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_runtime_sees_a_function_url_event_and_answers_buffered_or_with_an_error() {
    use std::os::unix::fs::PermissionsExt;
    if which("curl").is_none() || !Path::new("/bin/sh").is_file() {
        eprintln!("SKIPPED: the sh + curl runtime needs /bin/sh and curl");
        return;
    }
    let work = tempfile::tempdir().expect("a temporary directory");
    let script = work.path().join("bootstrap");
    std::fs::write(&script, SH_RUNTIME).expect("write the runtime");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let timeout = Duration::from_secs(7);
    let lambda = LocalLambda::start(LambdaOptions {
        env: vec![("WORK".into(), work.path().display().to_string())],
        timeout,
        ..LambdaOptions::new(&script)
    })
    .await
    .expect("start");

    let response = http()
        .post(format!("{}/echo?x=1&x=2&y=%20z", lambda.url()))
        .header("Cookie", "c=1; d=2")
        .header("X-Many", "1")
        .header("X-Many", "2")
        .header("User-Agent", "local-lambda-test")
        .body(vec![0xff, 0x00, 0x01])
        .send()
        .await
        .expect("POST /echo");
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["x-kind"], "buffered");
    let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1; Path=/", "b=2"]);
    assert_eq!(response.bytes().await.expect("the body"), "hi");

    let event: Value = serde_json::from_slice(
        &std::fs::read(work.path().join("event-1")).expect("the first event"),
    )
    .expect("the event is JSON");
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "$default");
    assert_eq!(event["rawPath"], "/echo");
    assert_eq!(event["rawQueryString"], "x=1&x=2&y=%20z");
    assert_eq!(
        event["queryStringParameters"],
        serde_json::json!({"x": "1,2", "y": " z"})
    );
    assert_eq!(event["cookies"], serde_json::json!(["c=1", "d=2"]));
    assert_eq!(event["headers"]["x-many"], "1,2");
    assert!(event["headers"].get("cookie").is_none(), "{event}");
    assert_eq!(event["body"], "/wAB");
    assert_eq!(event["isBase64Encoded"], true);
    let context = &event["requestContext"];
    assert_eq!(context["http"]["method"], "POST");
    assert_eq!(context["http"]["path"], "/echo");
    assert_eq!(context["http"]["protocol"], "HTTP/1.1");
    assert_eq!(context["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(context["http"]["userAgent"], "local-lambda-test");
    assert_eq!(context["stage"], "$default");
    assert!(context["timeEpoch"].is_i64(), "{event}");
    assert!(context["requestId"].is_string(), "{event}");

    let headers = std::fs::read_to_string(work.path().join("headers-1")).expect("headers");
    let header = |name: &str| {
        headers
            .lines()
            .find_map(|line| {
                let (n, v) = line.split_once(':')?;
                n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
            .unwrap_or_else(|| panic!("no {name} in {headers}"))
    };
    assert_eq!(
        header("lambda-runtime-aws-request-id"),
        context["requestId"]
    );
    assert!(header("lambda-runtime-invoked-function-arn").ends_with(":function:bootstrap"));
    assert!(header("lambda-runtime-trace-id").starts_with("Root=1-"));
    let deadline: u128 = header("lambda-runtime-deadline-ms")
        .parse()
        .expect("epoch ms");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    assert!(
        deadline > now && deadline <= now + timeout.as_millis(),
        "deadline {deadline}, now {now}"
    );

    let pid = lambda.pids()[0];
    wait_state(pid, Some('T'), "frozen after a buffered response").await;

    let failed = http()
        .get(format!("{}/fail", lambda.url()))
        .send()
        .await
        .expect("GET /fail");
    assert_eq!(failed.status(), 502);
    assert_eq!(
        failed.text().await.expect("the body"),
        r#"{"message":"Internal Server Error"}"#
    );
    let again = http()
        .get(format!("{}/ok", lambda.url()))
        .send()
        .await
        .expect("GET /ok");
    assert_eq!(again.status(), 201, "the instance lives on after /error");
    assert_eq!(lambda.pids(), vec![pid]);
    let stats = lambda.stats();
    assert_eq!(stats.function_errors, 1, "{stats:?}");
    assert_eq!(stats.instances_started, 1, "{stats:?}");
    assert_eq!(stats.invocations, 3, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invocation_past_its_timeout_is_killed_and_its_stream_cut() {
    let Some(function) = chat_lambda() else {
        return;
    };
    let redis = RedisServer::start();
    let timeout = Duration::from_secs(3);
    let lambda = LocalLambda::start(LambdaOptions {
        timeout,
        ..options(function, &redis)
    })
    .await
    .expect("start");
    let (mut stream, _) = open_stream(&lambda).await;
    let pid = lambda.pids()[0];
    // chat-lambda ends its streams a margin before the deadline it is told; a function
    // that hangs does not. Make it hang.
    kill(pid_t(pid), Signal::SIGSTOP).expect("SIGSTOP the busy instance");
    let cut = read_to_end(&mut stream, timeout + DEFAULT_WAIT).await;
    assert!(cut.is_err(), "the body must be cut, not end cleanly");
    wait_state(pid, None, "killed at its timeout").await;
    let stats = lambda.stats();
    assert_eq!(stats.timeouts_killed, 1, "{stats:?}");
    assert_eq!(stats.live_now, 0, "{stats:?}");
    assert_eq!(stats.crashed, 0, "{stats:?}");

    assert_eq!(connect(&lambda).await.0, 200, "a new instance serves");
    assert_eq!(lambda.stats().instances_started, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_dies_mid_stream_cuts_it_and_is_replaced() {
    let Some(function) = chat_lambda() else {
        return;
    };
    let redis = RedisServer::start();
    let lambda = LocalLambda::start(options(function, &redis))
        .await
        .expect("start");
    let (mut stream, _) = open_stream(&lambda).await;
    let pid = lambda.pids()[0];
    kill(pid_t(pid), Signal::SIGKILL).expect("SIGKILL the busy instance");
    let cut = read_to_end(&mut stream, DEFAULT_WAIT).await;
    assert!(cut.is_err(), "the body must be cut, not end cleanly");
    wait_until(&lambda, "the death noticed", |l| l.stats().crashed == 1).await;
    assert!(lambda.pids().is_empty());
    assert_eq!(connect(&lambda).await.0, 200, "a new instance serves");
    let stats = lambda.stats();
    assert_eq!(stats.instances_started, 2, "{stats:?}");
    assert_eq!(stats.timeouts_killed, 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_url_the_init_error_is_recorded_and_the_client_gets_502() {
    let Some(function) = chat_lambda() else {
        return;
    };
    let lambda = LocalLambda::start(LambdaOptions {
        env: vec![("RUST_LOG".into(), "off".into())],
        ..LambdaOptions::new(function)
    })
    .await
    .expect("start");
    let (status, body) = connect(&lambda).await;
    assert_eq!(status, 502);
    assert_eq!(
        body,
        serde_json::json!({"message": "Internal Server Error"})
    );
    let stats = lambda.stats();
    assert_eq!(stats.init_errors.len(), 1, "{stats:?}");
    assert!(stats.init_errors[0].contains("REDIS_URL"), "{stats:?}");
    assert!(
        stats.init_errors[0].contains("Runtime.InitError"),
        "{stats:?}"
    );
    assert_eq!(stats.live_now, 0, "the instance is gone: {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_instances_are_reaped() {
    let Some(function) = chat_lambda() else {
        return;
    };
    let redis = RedisServer::start();
    let lambda = LocalLambda::start(LambdaOptions {
        idle_reap: Duration::from_millis(300),
        ..options(function, &redis)
    })
    .await
    .expect("start");
    assert_eq!(connect(&lambda).await.0, 200);
    let pid = lambda.pids()[0];
    wait_until(&lambda, "the idle instance reaped", |l| l.pids().is_empty()).await;
    wait_state(pid, None, "reaped").await;
    let stats = lambda.stats();
    assert_eq!(stats.reaped, 1, "{stats:?}");
    assert_eq!(stats.crashed, 0, "{stats:?}");
    assert_eq!(connect(&lambda).await.0, 200, "a cold start serves again");
    assert_eq!(lambda.stats().instances_started, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_over_6_mb_is_refused_without_an_invocation() {
    let Some(function) = chat_lambda() else {
        return;
    };
    let lambda = LocalLambda::start(LambdaOptions::new(function))
        .await
        .expect("start");
    let response = http()
        .post(format!("{}/socket/connect", lambda.url()))
        .body(vec![b'a'; 6 * 1024 * 1024 + 1])
        .send()
        .await
        .expect("the answer");
    assert_eq!(response.status(), 413);
    assert_eq!(lambda.stats().instances_started, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_kills_every_instance() {
    let Some(function) = chat_lambda() else {
        return;
    };
    let redis = RedisServer::start();
    let lambda = LocalLambda::start(options(function, &redis))
        .await
        .expect("start");
    let (_stream, _) = open_stream(&lambda).await;
    assert_eq!(connect(&lambda).await.0, 200);
    let pids = lambda.pids();
    assert_eq!(pids.len(), 2, "one busy, one frozen");
    drop(lambda);
    for pid in pids {
        wait_state(pid, None, "killed on drop").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_its_url_serves_and_exits_0_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let Some(function) = chat_lambda() else {
        return;
    };
    let redis = RedisServer::start();
    let mut child = Command::new(env!("CARGO_BIN_EXE_local-lambda"))
        .env("LOCAL_LAMBDA_FUNCTION", &function)
        .env("REDIS_URL", redis.url())
        .env("RUST_LOG", "warn")
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start local-lambda");
    let stdout = child.stdout.take().expect("its stdout");
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let line = within(DEFAULT_WAIT, "the listening line", line)
        .await
        .expect("the reader")
        .expect("a line");
    let url = line
        .trim()
        .strip_prefix("socket-serve chat listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let answer = http()
        .post(format!("{url}/socket/connect"))
        .body("{}")
        .send()
        .await
        .expect("POST /socket/connect");
    assert_eq!(answer.status(), 200);
    let instances = children_of(child.id());
    assert_eq!(instances.len(), 1, "one instance: {instances:?}");

    let own = i32::try_from(child.id()).expect("a pid");
    kill(Pid::from_raw(own), Signal::SIGTERM).expect("SIGTERM");
    let status = within(
        DEFAULT_WAIT,
        "local-lambda to exit",
        tokio::task::spawn_blocking(move || child.wait()),
    )
    .await
    .expect("the waiter")
    .expect("its exit status");
    assert!(status.success(), "{status}");
    for pid in instances {
        wait_state(pid, None, "killed at SIGTERM").await;
    }
}

/// The processes whose parent is `parent`.
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let Some(close) = stat.rfind(')') else {
                return false;
            };
            // After the name: state, then the parent's pid.
            stat[close + 1..].split_whitespace().nth(1) == Some(&parent.to_string())
        })
        .collect()
}
