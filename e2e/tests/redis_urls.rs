//! The Redis URLs `REDIS_URL` takes beyond `redis://host:port`: TLS (`rediss://`) and a
//! password with a database (`redis://:password@host:port/db`), each against a
//! redis-server started for the test with just that configuration.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use socket_serve::{Config, StoreConfig};
use socket_serve_test_support::TestServer;

const WAIT: Duration = Duration::from_secs(10);

/// A redis-server with options of the test's own, on a free port, killed on drop.
struct CustomRedis {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl CustomRedis {
    /// `listen` gives the arguments that make it listen on the port (plain or TLS);
    /// `extra` anything else.
    fn start(listen: impl FnOnce(&Path, u16) -> Vec<OsString>, extra: &[&str]) -> CustomRedis {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("ss-redis-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("redis-server")
            .args(listen(&dir, port))
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(extra)
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on PATH");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < WAIT,
                "redis-server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        CustomRedis { child, port, dir }
    }
}

impl Drop for CustomRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// TLS only, with a fresh self-signed certificate.
fn tls(dir: &Path, port: u16) -> Vec<OsString> {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl (Debian's openssl package) makes a test certificate");
    assert!(made.success(), "openssl could not make a certificate");
    let mut args: Vec<OsString> = ["--port", "0", "--tls-port", &port.to_string()]
        .iter()
        .map(OsString::from)
        .collect();
    args.extend(["--tls-auth-clients", "no"].map(OsString::from));
    for (flag, file) in [
        ("--tls-cert-file", &cert),
        ("--tls-key-file", &key),
        ("--tls-ca-cert-file", &cert),
    ] {
        args.push(flag.into());
        args.push(file.into());
    }
    args
}

fn plain(_dir: &Path, port: u16) -> Vec<OsString> {
    vec!["--port".into(), port.to_string().into()]
}

/// Connect, stream, emit, and get the echo back: the store works end to end.
async fn echo_round_trip(redis_url: String) {
    let config = Config {
        store: StoreConfig::Redis(redis_url),
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let client = server.client();
    let session = client.connect().await;
    let mut stream = client.open_stream(&session.session_id).await;
    stream.wait_for_event("welcome", WAIT).await;
    client
        .emit(&session, "echo", json!({"round": "trip"}))
        .await;
    let echo = stream.wait_for_event("echo", WAIT).await;
    assert_eq!(echo.payload(), &json!({"round": "trip"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_store_works_over_tls_with_a_rediss_url() {
    let redis = tokio::task::block_in_place(|| CustomRedis::start(tls, &[]));
    // A self-signed certificate: `#insecure` skips verification (tests only).
    echo_round_trip(format!("rediss://127.0.0.1:{}/#insecure", redis.port)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_store_takes_a_password_and_a_database_in_the_url() {
    let extra = ["--requirepass", "s3cret"];
    let redis = tokio::task::block_in_place(|| CustomRedis::start(plain, &extra));
    echo_round_trip(format!("redis://:s3cret@127.0.0.1:{}/3", redis.port)).await;

    // The keys went to database 3.
    let url = format!("redis://:s3cret@127.0.0.1:{}/3", redis.port);
    let mut con = redis::Client::open(url)
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect with the password");
    let size: u64 = redis::cmd("DBSIZE")
        .query_async(&mut con)
        .await
        .expect("DBSIZE");
    assert!(size > 0, "nothing was written to database 3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_answers_503_not_a_panic() {
    let extra = ["--requirepass", "s3cret"];
    let redis = tokio::task::block_in_place(|| CustomRedis::start(plain, &extra));
    let config = Config {
        store: StoreConfig::Redis(format!("redis://:wrong@127.0.0.1:{}", redis.port)),
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let answer = server.client().post("connect", "").await;
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(answer.json["code"], "store_unavailable");
}
