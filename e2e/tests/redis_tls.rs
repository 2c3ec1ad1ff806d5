//! `rediss://`: the Redis store over TLS, against a redis-server with a TLS port only.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use socket_serve::{Config, StoreConfig};
use socket_serve_test_support::TestServer;

const WAIT: Duration = Duration::from_secs(10);

/// A TLS-only redis-server with a fresh self-signed certificate, killed on drop.
struct TlsRedis {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl TlsRedis {
    fn start() -> TlsRedis {
        let dir =
            std::env::temp_dir().join(format!("ss-tls-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).expect("temp dir");
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
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--tls-auth-clients",
                "no",
            ])
            .arg("--tls-cert-file")
            .arg(&cert)
            .arg("--tls-key-file")
            .arg(&key)
            .arg("--tls-ca-cert-file")
            .arg(&cert)
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < WAIT, "TLS redis-server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        TlsRedis { child, port, dir }
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_store_works_over_tls_with_a_rediss_url() {
    let redis = tokio::task::block_in_place(TlsRedis::start);
    // A self-signed certificate: `#insecure` skips verification (tests only).
    let url = format!("rediss://127.0.0.1:{}/#insecure", redis.port);
    let config = Config {
        store: StoreConfig::Redis(url),
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let client = server.client();
    let session = client.connect().await;
    let mut stream = client.open_stream(&session.session_id).await;
    stream.wait_for_event("welcome", WAIT).await;
    client.emit(&session, "echo", json!({"over": "tls"})).await;
    let echo = stream.wait_for_event("echo", WAIT).await;
    assert_eq!(echo.payload(), &json!({"over": "tls"}));
}
