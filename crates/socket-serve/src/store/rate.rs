//! Token buckets kept in the store, so a limit holds across instances: the generic cell
//! rate algorithm (GCRA), which keeps one number per bucket (its "theoretical arrival
//! time") instead of a count and a timestamp. The Redis store runs the same step in Lua
//! (`scripts::SPEND_TOKEN`).

use std::time::Duration;

/// A token bucket: `per_second` tokens come back each second, up to `burst` saved up. A
/// client that spends them all waits for the next one.
///
/// ```
/// use socket_serve::store::RateLimit;
/// let limit = RateLimit { per_second: 10, burst: 20 };
/// // In any window of `t` seconds at most `burst + per_second * t` requests get through.
/// assert_eq!(limit.allowed_within(std::time::Duration::from_secs(3)), 50);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Tokens refilled per second (above 0).
    pub per_second: u32,
    /// The most tokens saved up: how many requests may come at once (above 0).
    pub burst: u32,
}

impl RateLimit {
    /// The most requests this bucket lets through in `window`.
    pub fn allowed_within(&self, window: Duration) -> u64 {
        let refilled = window.as_micros() as u64 / self.interval_us();
        u64::from(self.burst) + refilled
    }

    /// Microseconds between two tokens.
    pub(crate) fn interval_us(&self) -> u64 {
        (1_000_000 / u64::from(self.per_second.max(1))).max(1)
    }

    /// How far ahead of now the bucket's arrival time may run: the burst.
    pub(crate) fn tolerance_us(&self) -> u64 {
        self.interval_us() * u64::from(self.burst.max(1))
    }
}

/// One GCRA step at `now_us`: the bucket's new arrival time when a token was there, else
/// how long (µs) until one is. A bucket whose arrival time is in the past is full, so it
/// can be forgotten then (the store expires it at that time).
pub(crate) fn spend(arrival_us: Option<u64>, now_us: u64, limit: RateLimit) -> Result<u64, u64> {
    let next = arrival_us.unwrap_or(now_us).max(now_us) + limit.interval_us();
    let allowed_until = now_us + limit.tolerance_us();
    if next > allowed_until {
        Err(next - allowed_until)
    } else {
        Ok(next)
    }
}

/// `Retry-After` for a wait: whole seconds, rounded up, at least 1.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_micros().div_ceil(1_000_000).max(1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_lets_the_burst_through_then_one_per_interval() {
        let limit = RateLimit {
            per_second: 10,
            burst: 3,
        };
        let mut arrival = None;
        for _ in 0..3 {
            arrival = Some(spend(arrival, 0, limit).expect("within the burst"));
        }
        let wait = spend(arrival, 0, limit).expect_err("the burst is spent");
        assert_eq!(wait, 100_000);
        assert!(spend(arrival, 99_999, limit).is_err());
        assert!(spend(arrival, 100_000, limit).is_ok());
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::from_micros(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1000)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
    }
}
