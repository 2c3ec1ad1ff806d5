//! Latency percentiles.

use serde::Serialize;

/// Percentiles of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `samples_us` (microseconds), reported in milliseconds;
    /// all zero for no samples.
    ///
    /// ```
    /// let p = socket_serve_bench::stats::Percentiles::of_micros(&mut vec![3000, 1000, 2000]);
    /// assert_eq!(p.p50, 2.0);
    /// assert_eq!(p.max, 3.0);
    /// ```
    pub fn of_micros(samples_us: &mut [u64]) -> Percentiles {
        if samples_us.is_empty() {
            return Percentiles::default();
        }
        samples_us.sort_unstable();
        let rank = |q: f64| {
            let n = samples_us.len();
            let i = ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
            samples_us[i] as f64 / 1000.0
        };
        Percentiles {
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
            max: rank(1.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Percentiles;

    #[test]
    fn nearest_rank_over_one_to_a_hundred() {
        let mut samples: Vec<u64> = (1..=100).rev().map(|ms| ms * 1000).collect();
        let p = Percentiles::of_micros(&mut samples);
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50.0, 90.0, 99.0, 100.0));
    }

    #[test]
    fn no_samples_is_all_zero() {
        assert_eq!(Percentiles::of_micros(&mut []), Percentiles::default());
    }

    #[test]
    fn one_sample_is_every_percentile() {
        let p = Percentiles::of_micros(&mut [1500]);
        assert_eq!((p.p50, p.p99, p.max), (1.5, 1.5, 1.5));
    }
}
