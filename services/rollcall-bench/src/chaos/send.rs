//! The vendors of a chaos run: concurrent streams, each sending its schools' feeds day by day
//! (every feed re-sending earlier days with their corrections, as the plan has it), retrying
//! what the gateway did not acknowledge, and now and then sending an acknowledged extract again
//! under its key, as a vendor unsure of its last send would.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use rollcall_client::{AuthChannel, Backoff};
use rollcall_proto::feed::v1::feed_service_client::FeedServiceClient;
use rollcall_synth::Plan;

/// What the vendors sent, once every feed was acknowledged.
#[derive(Clone, Debug, Default)]
pub struct Sent {
    /// Every distinct feed's id, in no particular order.
    pub feed_ids: Vec<String>,
    /// Marks in the distinct feeds (re-sends of an acknowledged extract not counted).
    pub marks: u64,
    /// Streams opened, first tries and retries.
    pub attempts: u64,
    /// Feeds that needed more than one attempt.
    pub retried: u64,
    /// Acknowledged extracts sent again under their key on purpose.
    pub resent: u64,
    /// Receipts marked duplicate: the re-sends, and retries of a feed the gateway had taken
    /// before its answer was lost.
    pub duplicates: u64,
}

/// How the vendors send.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    pub streams: usize,
    /// The pause after each feed on a stream, so that sending lasts about as long as the faults.
    pub pause: Duration,
    /// Every this-many-th feed (by a hash of its school and day) is sent a second time.
    pub resend_every: u64,
}

/// Feeds in flight right now, for a fault that wants a stream open.
#[derive(Default)]
pub struct InFlight(AtomicUsize);

impl InFlight {
    pub fn now(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// Sends every feed of `plan` and returns once each is acknowledged.
pub async fn send(
    plan: Arc<Plan>,
    gateway: AuthChannel,
    pace: Pace,
    in_flight: Arc<InFlight>,
) -> anyhow::Result<Sent> {
    let attempts = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for stream in 0..pace.streams {
        let plan = plan.clone();
        let attempts = attempts.clone();
        let in_flight = in_flight.clone();
        let mut client = FeedServiceClient::new(gateway.clone());
        tasks.push(tokio::spawn(async move {
            let mut sent = Sent::default();
            for d in 0..plan.days().len() {
                for school in (stream..plan.schools.len()).step_by(pace.streams) {
                    let plan = plan.clone();
                    let feed = tokio::task::spawn_blocking(move || plan.feed(d, school)).await?;
                    let sends = if resent(d, school, pace.resend_every) {
                        2
                    } else {
                        1
                    };
                    for send in 0..sends {
                        in_flight.0.fetch_add(1, Ordering::Relaxed);
                        let accepted = rollcall_client::submit_retrying(
                            &mut client,
                            &rollcall_client::submission(&feed, "2024"),
                            &Backoff::default(),
                        )
                        .await;
                        in_flight.0.fetch_sub(1, Ordering::Relaxed);
                        let accepted = accepted.map_err(rollcall_client::status::error)?;
                        attempts.fetch_add(u64::from(accepted.attempts), Ordering::Relaxed);
                        sent.duplicates += u64::from(accepted.receipt.duplicate);
                        if accepted.attempts > 1 {
                            sent.retried += 1;
                        }
                        if send == 0 {
                            sent.marks += feed.marks.len() as u64;
                            sent.feed_ids.push(accepted.receipt.feed_id);
                        } else {
                            sent.resent += 1;
                        }
                    }
                    tokio::time::sleep(pace.pause).await;
                }
            }
            anyhow::Ok(sent)
        }));
    }
    let mut all = Sent::default();
    for task in tasks {
        let sent = task.await??;
        all.feed_ids.extend(sent.feed_ids);
        all.marks += sent.marks;
        all.retried += sent.retried;
        all.resent += sent.resent;
        all.duplicates += sent.duplicates;
    }
    all.attempts = attempts.load(Ordering::Relaxed);
    Ok(all)
}

/// Whether school `school`'s feed of day `d` is sent twice: a fixed choice, the same in the
/// clean run and the run under faults.
fn resent(d: usize, school: usize, every: u64) -> bool {
    every > 0 && (d as u64 * 7919 + school as u64 * 104_729) % every == every - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn about_one_feed_in_every_is_sent_twice() {
        let twice = (0..20)
            .flat_map(|d| (0..12).map(move |s| (d, s)))
            .filter(|&(d, s)| resent(d, s, 10))
            .count();
        assert!((16..=32).contains(&twice), "{twice} of 240");
        assert!(!resent(3, 4, 0));
    }
}
