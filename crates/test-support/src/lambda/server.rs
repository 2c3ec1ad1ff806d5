//! A small HTTP/1.1 server loop (hyper 1) shared by the Function URL front and the Runtime
//! APIs: one task per connection, all of them dropped when the shutdown signal fires.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::body::Body;

/// Fires (or is dropped) to stop a server and every connection it has open.
pub(crate) type Shutdown = watch::Receiver<bool>;

/// Serves `listener` with `handler` until `shutdown` fires or its sender is dropped.
pub(crate) fn serve<H, F>(listener: TcpListener, shutdown: Shutdown, handler: H) -> JoinHandle<()>
where
    H: Fn(http::Request<Incoming>, SocketAddr) -> F + Send + Sync + 'static,
    F: Future<Output = http::Response<Body>> + Send + 'static,
{
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        let mut stop = shutdown.clone();
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stop.wait_for(|stopped| *stopped) => return,
            };
            let Ok((stream, peer)) = accepted else {
                // Out of file descriptors and the like: try again shortly.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            let handler = handler.clone();
            let mut stop = shutdown.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let response = handler(request, peer);
                    async move { Ok::<_, Infallible>(response.await) }
                });
                let connection = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service);
                tokio::select! {
                    _ = connection => {}
                    _ = stop.wait_for(|stopped| *stopped) => {}
                }
            });
        }
    })
}
