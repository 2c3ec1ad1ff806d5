//! Exponential backoff with full jitter.

use std::time::Duration;

/// Delays between attempts: exponential growth from `base`, capped at `max`, with full
/// jitter (each delay is uniformly random between zero and the current ceiling).
///
/// The ceiling of attempt `n` (counting from 1) is `min(max, base * 2^(n-1))`. Full jitter
/// spreads the reconnects of many clients that lost the server at the same moment, so they
/// do not all come back at once.
///
/// ```
/// use std::time::Duration;
/// use socket_serve_client::Backoff;
///
/// let mut b = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
/// let first = b.next_delay();
/// assert!(first <= Duration::from_millis(500));
/// assert_eq!(b.attempt(), 1);
/// assert_eq!(Backoff::ceiling(Duration::from_millis(500), Duration::from_secs(30), 20), Duration::from_secs(30));
/// b.reset();
/// assert_eq!(b.attempt(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    /// A backoff that starts at `base` and never waits longer than `max`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use socket_serve_client::Backoff;
    /// let b = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    /// assert_eq!(b.attempt(), 0);
    /// ```
    pub fn new(base: Duration, max: Duration) -> Self {
        Backoff {
            base,
            max,
            attempt: 0,
        }
    }

    /// How many delays were handed out since the last [`reset`](Self::reset).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use socket_serve_client::Backoff;
    /// let mut b = Backoff::new(Duration::from_millis(1), Duration::from_millis(10));
    /// b.next_delay();
    /// b.next_delay();
    /// assert_eq!(b.attempt(), 2);
    /// ```
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Back to the first attempt (after a success).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use socket_serve_client::Backoff;
    /// let mut b = Backoff::new(Duration::from_millis(1), Duration::from_millis(10));
    /// b.next_delay();
    /// b.reset();
    /// assert_eq!(b.attempt(), 0);
    /// ```
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// The delay before the next attempt, drawing the jitter from the thread's RNG.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use socket_serve_client::Backoff;
    /// let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
    /// assert!(b.next_delay() <= Duration::from_millis(100));
    /// assert!(b.next_delay() <= Duration::from_millis(200));
    /// ```
    pub fn next_delay(&mut self) -> Duration {
        self.next_delay_with(rand::random::<f64>())
    }

    /// The delay before the next attempt, with the jitter given as a number in `[0, 1)`:
    /// the delay is `unit * ceiling`. Deterministic, for tests.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use socket_serve_client::Backoff;
    /// let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
    /// assert_eq!(b.next_delay_with(0.5), Duration::from_millis(50));
    /// assert_eq!(b.next_delay_with(0.5), Duration::from_millis(100));
    /// assert_eq!(b.next_delay_with(0.5), Duration::from_millis(200));
    /// ```
    pub fn next_delay_with(&mut self, unit: f64) -> Duration {
        self.attempt = self.attempt.saturating_add(1);
        let ceiling = Self::ceiling(self.base, self.max, self.attempt);
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.0
        };
        ceiling.mul_f64(unit)
    }

    /// The largest delay of attempt `attempt` (counting from 1): `min(max, base * 2^(attempt-1))`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use socket_serve_client::Backoff;
    /// let (base, max) = (Duration::from_millis(500), Duration::from_secs(30));
    /// assert_eq!(Backoff::ceiling(base, max, 1), Duration::from_millis(500));
    /// assert_eq!(Backoff::ceiling(base, max, 3), Duration::from_secs(2));
    /// assert_eq!(Backoff::ceiling(base, max, 10), max);
    /// ```
    pub fn ceiling(base: Duration, max: Duration, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(31);
        base.checked_mul(1u32 << shift).unwrap_or(max).min(max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(30);

    #[test]
    fn ceiling_doubles_then_caps() {
        let ceilings: Vec<_> = (1..=9).map(|n| Backoff::ceiling(BASE, MAX, n)).collect();
        let ms: Vec<_> = ceilings.iter().map(|d| d.as_millis()).collect();
        assert_eq!(
            ms,
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        assert_eq!(Backoff::ceiling(BASE, MAX, u32::MAX), MAX);
        assert_eq!(Backoff::ceiling(Duration::MAX, MAX, 3), MAX);
    }

    #[test]
    fn full_jitter_stays_within_zero_and_ceiling() {
        let mut b = Backoff::new(BASE, MAX);
        for n in 1..=50u32 {
            let d = b.next_delay();
            assert!(d <= Backoff::ceiling(BASE, MAX, n), "attempt {n}: {d:?}");
        }
        assert_eq!(b.attempt(), 50);
        let mut b = Backoff::new(BASE, MAX);
        assert_eq!(b.next_delay_with(0.0), Duration::ZERO);
        assert_eq!(b.next_delay_with(1.0), Duration::from_millis(1000));
        assert_eq!(b.next_delay_with(f64::NAN), Duration::ZERO);
    }

    #[test]
    fn jitter_is_actually_random() {
        let mut b = Backoff::new(Duration::from_secs(1000), Duration::from_secs(1000));
        let delays: std::collections::HashSet<_> = (0..20)
            .map(|_| {
                b.reset();
                b.next_delay()
            })
            .collect();
        assert!(delays.len() > 10);
    }
}
