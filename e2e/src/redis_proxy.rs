//! A TCP proxy in front of Redis that counts the requests clients send through it: a
//! request is one round trip, whatever the server runs for it (a script's inner commands
//! are not requests). It reads the RESP framing of requests (arrays of bulk strings) and
//! forwards every byte unchanged.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The proxy: point a Redis URL at [`RedisProxy::url`].
pub struct RedisProxy {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl RedisProxy {
    /// Listens on a free loopback port and forwards to `127.0.0.1:<redis_port>`.
    pub async fn start(redis_port: u16) -> RedisProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(("127.0.0.1", redis_port)).await {
                        relay(client, server, counter).await;
                    }
                });
            }
        });
        RedisProxy {
            addr,
            requests,
            task,
        }
    }

    /// `redis://127.0.0.1:<proxy port>`.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// Requests seen so far, over all connections.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for RedisProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(client: TcpStream, server: TcpStream, counter: Arc<AtomicUsize>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = async move {
        let mut parser = RequestCounter::default();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            counter.fetch_add(parser.feed(&buf[..n]), Ordering::SeqCst);
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    let downstream = async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    };
    tokio::join!(upstream, downstream);
}

/// Counts complete RESP requests in a byte stream (`*<n>\r\n` then n × `$<len>\r\n<bytes>\r\n`).
#[derive(Default)]
struct RequestCounter {
    pending: Vec<u8>,
}

impl RequestCounter {
    fn feed(&mut self, bytes: &[u8]) -> usize {
        self.pending.extend_from_slice(bytes);
        let mut count = 0;
        while let Some(used) = request_len(&self.pending) {
            self.pending.drain(..used);
            count += 1;
        }
        count
    }
}

/// The length of the first complete request in `buf`, if it is all there.
fn request_len(buf: &[u8]) -> Option<usize> {
    let (n, mut at) = header(buf, b'*')?;
    for _ in 0..n {
        let (len, start) = header(&buf[at..], b'$')?;
        at += start + len + 2;
        if buf.len() < at {
            return None;
        }
    }
    Some(at)
}

/// Parses `<tag><digits>\r\n`: the number and the length of the line.
fn header(buf: &[u8], tag: u8) -> Option<(usize, usize)> {
    if buf.first() != Some(&tag) {
        return None;
    }
    let end = buf.windows(2).position(|w| w == b"\r\n")?;
    let n = std::str::from_utf8(&buf[1..end]).ok()?.parse().ok()?;
    Some((n, end + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_requests_split_anywhere() {
        let two = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n";
        for split in 0..two.len() {
            let mut counter = RequestCounter::default();
            let n = counter.feed(&two[..split]) + counter.feed(&two[split..]);
            assert_eq!(n, 2, "split at {split}");
        }
    }

    #[test]
    fn a_bulk_string_full_of_stars_is_one_request() {
        let body = b"*2\r\n$4\r\nEVAL\r\n$6\r\n*1\r\n*2\r\n";
        assert_eq!(RequestCounter::default().feed(body), 1);
    }
}
