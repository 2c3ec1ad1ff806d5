//! The rate limits of [`RateLimits`](crate::RateLimits), checked before a request does
//! anything else: one store call, and a 429 `rate_limited` with `Retry-After` past them.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use http::Request;

use crate::engine::Engine;
use crate::error::Error;
use crate::store::RateLimit;

/// The client address's `/connect` bucket, if it is limited (read before any await: a
/// request is not `Sync`).
pub(crate) fn connect_bucket<B>(engine: &Engine, req: &Request<B>) -> Option<(String, RateLimit)> {
    let limits = &engine.config.rate_limits;
    let limit = limits.connect_per_address?;
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    // Unknown address: one bucket for all would let one client lock out everyone.
    let bucket = limits.address_bucket(req.headers(), peer)?;
    Some((bucket, limit))
}

/// Spends a token of the client address's `/connect` bucket.
pub(crate) async fn connect(
    engine: &Engine,
    bucket: Option<(String, RateLimit)>,
) -> Result<(), Error> {
    match bucket {
        Some((bucket, limit)) => spend(engine, &bucket, limit).await,
        None => Ok(()),
    }
}

/// Spends a token of the session's bucket.
pub(crate) async fn session(engine: &Engine, sid: &str) -> Result<(), Error> {
    match engine.config.rate_limits.per_session {
        Some(limit) => spend(engine, &format!("s:{sid}"), limit).await,
        None => Ok(()),
    }
}

async fn spend(engine: &Engine, bucket: &str, limit: RateLimit) -> Result<(), Error> {
    match engine.store.spend_token(bucket, limit).await? {
        None => Ok(()),
        Some(retry_after) => Err(Error::RateLimited { retry_after }),
    }
}
