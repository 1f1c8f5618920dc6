//! Per-principal rate limits: a token bucket per credential, shared by every connection to this
//! instance (the limiter sits behind an `Arc` that each connection's service clones). Several
//! instances behind a load balancer each enforce the limit on their own share.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Clone)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets idle long enough to be full again are dropped once the map grows past this.
const PRUNE_ABOVE: usize = 10_000;

impl RateLimiter {
    /// `rate` calls a second on average, up to `burst` at once.
    pub fn new(rate: f64, burst: u32) -> RateLimiter {
        RateLimiter {
            rate,
            burst: f64::from(burst),
            buckets: Arc::default(),
        }
    }

    /// Takes one call from `key`'s bucket; false when it is empty.
    pub fn allow(&self, key: &str) -> bool {
        self.allow_at(key, Instant::now())
    }

    fn allow_at(&self, key: &str, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        if buckets.len() > PRUNE_ABOVE {
            let full_after = self.burst / self.rate;
            buckets.retain(|_, b| now.duration_since(b.at).as_secs_f64() < full_after);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_then_the_steady_rate_per_key() {
        let limiter = RateLimiter::new(2.0, 3);
        let t0 = Instant::now();
        assert!((0..3).all(|_| limiter.allow_at("a", t0)));
        assert!(!limiter.allow_at("a", t0));
        assert!(limiter.allow_at("b", t0), "another key has its own bucket");
        // Half a second at 2 a second refills one call.
        let later = t0 + Duration::from_millis(500);
        assert!(limiter.allow_at("a", later));
        assert!(!limiter.allow_at("a", later));
        // A clone shares the buckets, as connections do.
        assert!(!limiter.clone().allow_at("a", later));
    }
}
