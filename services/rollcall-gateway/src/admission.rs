//! How much the gateway takes on at once. Every feed is held in memory from its first message
//! until the broker acknowledged it, so at the morning peak, with every vendor sending, memory
//! would grow with the number of open streams. Instead each feed needs a place (at most
//! `gateway.max_concurrent_feeds` at once) before its stream is read, and a share of a byte
//! budget (`gateway.max_buffered_bytes`) for each message as it arrives. A stream that cannot
//! have either within `gateway.admission_wait_ms` is shed: `RESOURCE_EXHAUSTED` with the stable
//! code `OVERLOADED` and a pause to wait before sending the same feed again (gRPC's server
//! pushback), so that vendors back off instead of the gateway growing without bound.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The limits, as configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_concurrent_feeds: usize,
    pub max_buffered_bytes: usize,
    /// How long a stream may wait for a place or for bytes before it is shed.
    pub wait: Duration,
    /// The least pause a shed stream is told to wait; each is given between this and twice it,
    /// so that shed vendors do not all come back at once.
    pub pushback: Duration,
}

/// The gateway's places and byte budget, shared by every stream.
#[derive(Clone, Debug)]
pub struct Admission {
    places: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
    limits: Limits,
}

/// Why a stream was not taken: shed, with the pause to tell its sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shed {
    pub what: &'static str,
    pub retry_after: Duration,
}

/// One feed's place and the bytes it holds, given back when dropped (the feed answered).
#[derive(Debug)]
pub struct Ticket {
    admission: Admission,
    _place: OwnedSemaphorePermit,
    bytes: Option<OwnedSemaphorePermit>,
}

impl Admission {
    pub fn new(limits: Limits) -> Admission {
        Admission {
            places: Arc::new(Semaphore::new(limits.max_concurrent_feeds)),
            bytes: Arc::new(Semaphore::new(limits.max_buffered_bytes)),
            limits,
        }
    }

    /// A place for one more feed, waiting at most the configured wait.
    pub async fn admit(&self) -> Result<Ticket, Shed> {
        let place = tokio::time::timeout(self.limits.wait, self.places.clone().acquire_owned())
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or_else(|| self.shed("feeds in progress"))?;
        Ok(Ticket {
            admission: self.clone(),
            _place: place,
            bytes: None,
        })
    }

    /// Places free now.
    #[cfg(test)]
    pub fn free_places(&self) -> usize {
        self.places.available_permits()
    }

    /// Bytes free now.
    #[cfg(test)]
    pub fn free_bytes(&self) -> usize {
        self.bytes.available_permits()
    }

    fn shed(&self, what: &'static str) -> Shed {
        // Spread between the pushback and twice it, from the clock's low bits: enough to stop
        // a herd, and no state shared between streams.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let spread = self
            .limits
            .pushback
            .mul_f64(f64::from(nanos % 1000) / 1000.0);
        Shed {
            what,
            retry_after: self.limits.pushback + spread,
        }
    }
}

impl Ticket {
    /// Takes `bytes` more of the budget for a message just read, waiting at most the configured
    /// wait. A message larger than the whole budget is refused outright: the feed limits
    /// (smaller than the budget, checked at start-up) refuse it first in practice.
    pub async fn hold(&mut self, bytes: usize) -> Result<(), Shed> {
        let admission = &self.admission;
        let n = u32::try_from(bytes)
            .ok()
            .filter(|&n| n as usize <= admission.limits.max_buffered_bytes)
            .ok_or_else(|| admission.shed("bytes of feeds in progress"))?;
        if n == 0 {
            return Ok(());
        }
        let more = tokio::time::timeout(
            admission.limits.wait,
            admission.bytes.clone().acquire_many_owned(n),
        )
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| admission.shed("bytes of feeds in progress"))?;
        match &mut self.bytes {
            Some(held) => held.merge(more),
            None => self.bytes = Some(more),
        }
        Ok(())
    }

    /// Bytes this feed holds.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.bytes
            .as_ref()
            .map_or(0, OwnedSemaphorePermit::num_permits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(places: usize, bytes: usize) -> Limits {
        Limits {
            max_concurrent_feeds: places,
            max_buffered_bytes: bytes,
            wait: Duration::from_millis(50),
            pushback: Duration::from_millis(1000),
        }
    }

    #[tokio::test]
    async fn a_feed_past_the_places_is_shed_with_a_pause_and_a_place_comes_back_when_answered() {
        let admission = Admission::new(limits(2, 1000));
        let first = admission.admit().await.unwrap();
        let _second = admission.admit().await.unwrap();
        let shed = admission.admit().await.unwrap_err();
        assert_eq!(shed.what, "feeds in progress");
        assert!(shed.retry_after >= Duration::from_millis(1000));
        assert!(shed.retry_after < Duration::from_millis(2000));
        drop(first);
        assert!(admission.admit().await.is_ok());
    }

    #[tokio::test]
    async fn bytes_are_held_until_the_feed_is_answered() {
        let admission = Admission::new(limits(4, 1000));
        let mut a = admission.admit().await.unwrap();
        a.hold(600).await.unwrap();
        a.hold(100).await.unwrap();
        assert_eq!(a.held(), 700);
        assert_eq!(admission.free_bytes(), 300);
        let mut b = admission.admit().await.unwrap();
        assert_eq!(
            b.hold(400).await.unwrap_err().what,
            "bytes of feeds in progress"
        );
        drop(a);
        assert_eq!(admission.free_bytes(), 1000);
        assert_eq!(admission.free_places(), 3);
        b.hold(400).await.unwrap();
        assert!(b.hold(2000).await.is_err(), "larger than the whole budget");
    }

    #[tokio::test]
    async fn a_waiting_feed_gets_the_place_freed_within_the_wait() {
        let admission = Admission::new(Limits {
            wait: Duration::from_secs(5),
            ..limits(1, 1000)
        });
        let first = admission.admit().await.unwrap();
        let waiting = tokio::spawn({
            let admission = admission.clone();
            async move { admission.admit().await.map(|_| ()) }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(first);
        assert!(waiting.await.unwrap().is_ok());
    }
}
