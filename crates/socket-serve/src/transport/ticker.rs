//! The process's heartbeat: one task, alive while streams are open, that asks the store
//! for a [`Live::Tick`](crate::store::Live::Tick) every heartbeat interval. Every stream
//! turns a tick into a keepalive comment and, when its position moved, an `id:` frame.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::engine::Engine;

/// Starts the ticker if it is not running.
pub(crate) fn ensure_running(engine: &Arc<Engine>) {
    if engine.ticker_running.swap(true, Ordering::AcqRel) {
        return;
    }
    let engine = engine.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(engine.config.heartbeat_interval).await;
            if engine.open_streams.load(Ordering::Acquire) == 0 {
                engine.ticker_running.store(false, Ordering::Release);
                // A stream that opened between the check and the store above started no
                // ticker (it saw one running): take over again for it.
                if engine.open_streams.load(Ordering::Acquire) == 0
                    || engine.ticker_running.swap(true, Ordering::AcqRel)
                {
                    return;
                }
            }
            if let Err(err) = engine.store.tick().await {
                tracing::warn!(error = %err, "heartbeat tick failed");
            }
        }
    });
}
