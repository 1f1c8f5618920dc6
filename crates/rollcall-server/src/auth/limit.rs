//! Per-principal rate limits: `governor`'s keyed GCRA limiter (a token bucket per credential),
//! shared by every connection to this instance (the limiter sits behind an `Arc` that each
//! connection's service clones). Several instances behind a load balancer each enforce the limit
//! on their own share.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter as Governor};

type Keyed<C> =
    Governor<String, HashMapStateStore<String>, C, NoOpMiddleware<<C as Clock>::Instant>>;

#[derive(Clone)]
pub struct RateLimiter<C: Clock = DefaultClock> {
    keys: Arc<Keyed<C>>,
}

/// Keys idle long enough to be full again are dropped once the map grows past this.
const PRUNE_ABOVE: usize = 10_000;

impl RateLimiter {
    /// `rate` calls a second on average, up to `burst` at once (both positive: the
    /// configuration's `validate` checks them).
    pub fn new(rate: f64, burst: u32) -> RateLimiter {
        RateLimiter::with_clock(rate, burst, DefaultClock::default())
    }
}

impl<C: Clock> RateLimiter<C> {
    fn with_clock(rate: f64, burst: u32, clock: C) -> RateLimiter<C> {
        // One call's worth of the bucket comes back every `1 / rate` seconds.
        let every = Duration::try_from_secs_f64(1.0 / rate)
            .unwrap_or(Duration::MAX)
            .max(Duration::from_nanos(1));
        let quota = Quota::with_period(every)
            .expect("a period of at least a nanosecond")
            .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        RateLimiter {
            keys: Arc::new(Governor::hashmap_with_clock(quota, clock)),
        }
    }

    /// Takes one call from `key`'s bucket; false when it is empty.
    pub fn allow(&self, key: &str) -> bool {
        if self.keys.len() > PRUNE_ABOVE {
            self.keys.retain_recent();
        }
        self.keys.check_key(&key.to_owned()).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    #[test]
    fn a_burst_then_the_steady_rate_per_key() {
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::with_clock(2.0, 3, clock.clone());
        assert!((0..3).all(|_| limiter.allow("a")));
        assert!(!limiter.allow("a"));
        assert!(limiter.allow("b"), "another key has its own bucket");
        // Half a second at 2 a second refills one call.
        clock.advance(Duration::from_millis(500));
        assert!(limiter.allow("a"));
        assert!(!limiter.allow("a"));
        // A clone shares the buckets, as connections do.
        assert!(!limiter.clone().allow("a"));
    }
}
