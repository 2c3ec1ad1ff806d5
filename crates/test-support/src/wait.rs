//! Bounded waiting: every wait in a test has a deadline and a message for when it passes.

use std::future::Future;
use std::time::Duration;

/// The patience of a wait that should be over in milliseconds: long enough for a loaded
/// 2-core CI machine, short enough that a hang fails fast.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(10);

/// Awaits `future`, panicking with `what` if it takes longer than `timeout`.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::time::Duration;
/// let n = socket_serve_test_support::within(Duration::from_secs(1), "a ready value", async { 7 }).await;
/// assert_eq!(n, 7);
/// # });
/// ```
pub async fn within<F: Future>(timeout: Duration, what: &str, future: F) -> F::Output {
    match tokio::time::timeout(timeout, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {timeout:?} waiting for {what}"),
    }
}
