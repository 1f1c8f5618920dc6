//! The aggregation worker. It takes validated feeds in batches (up to
//! `aggregator.batch_max_feeds`, waiting at most `aggregator.batch_linger_ms` for more) and
//! writes each batch to PostgreSQL in one transaction: per feed, the school's enrolments and
//! marks (a mark is keyed by enrolment, date and session; the latest recorded version wins), the
//! year totals moved by what changed, and the feed's outcome for its receipt. Only after the
//! transaction commits are the batch's Kafka offsets committed, once. When the batch's
//! transaction fails, its feeds are applied one by one, so one bad feed holds back only itself and
//! its school's later feeds: those are retried as a single feed always was. A feed the database
//! refuses for good (a value it cannot store, a constraint) is retried a few times, then parked
//! with its refusal (`park.rs`), so its partition moves on; transient failures (connection,
//! failover, deadlock) are retried for as long as they last. Replaying a feed changes nothing.

mod park;

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::Context as _;
use rollcall_db::Pool;
use rollcall_domain::feed::ValidatedFeed;
use rollcall_kafka::{Batching, Message};
use rollcall_server::Settings;
use tokio_util::sync::CancellationToken;

use crate::park::Parking;

pub async fn run(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let pool = rollcall_db::open(&settings.database.url, settings.database.max_connections)
        .await
        .context("cannot open the database")?;
    rollcall_db::sync_codes(&pool, &rollcall_db::domain_codes())
        .await
        .context("cannot sync attendance codes")?;
    let rebuilt = rollcall_db::rebuild_pending_totals(&pool)
        .await
        .context("cannot rebuild year totals")?;
    if rebuilt > 0 {
        tracing::info!(schools = rebuilt, "year totals rebuilt from registers");
    }
    let kafka = &settings.kafka;
    if kafka.create_topics {
        rollcall_kafka::ensure_topics(kafka, &[&kafka.topics.validated])
            .await
            .context("cannot create kafka topics")?;
    }
    let consumer = rollcall_kafka::consumer(kafka, &kafka.groups.aggregator)
        .context("cannot create kafka consumer")?;
    let batching = Batching {
        max_messages: settings.aggregator.batch_max_feeds,
        linger: Duration::from_millis(settings.aggregator.batch_linger_ms),
    };
    let writer = Writer {
        pool,
        parking: Parking::new(settings.aggregator.park_after_attempts),
    };
    rollcall_kafka::consume_batches(
        &consumer,
        &kafka.topics.validated,
        batching,
        shutdown,
        |messages| writer.handle_batch(messages),
    )
    .await?;
    Ok(())
}

struct Writer {
    pool: Pool,
    parking: Parking,
}

impl Writer {
    /// Applies a batch of validated feeds, answering for each message in order: all in one
    /// transaction, or, when that fails, one by one. A message that cannot be decoded, or a
    /// feed the database refused for good `park_after_attempts` times, is parked and answered
    /// done, so its partition moves on.
    async fn handle_batch(&self, messages: Vec<Message>) -> Vec<anyhow::Result<()>> {
        // Each message's feed, as an index into `feeds`, or why it cannot be decoded.
        let mut feeds = Vec::with_capacity(messages.len());
        let slots: Vec<Result<usize, anyhow::Error>> = messages
            .iter()
            .map(|message| {
                feeds.push(decode(message)?);
                Ok(feeds.len() - 1)
            })
            .collect();
        if feeds.len() > 1 {
            match rollcall_db::apply_validated_feeds(&self.pool, &feeds).await {
                Ok(stats) => {
                    for (feed, stats) in feeds.iter().zip(stats) {
                        stored(feed, stats);
                    }
                    tracing::debug!(feeds = feeds.len(), "batch stored in one transaction");
                    let mut results = Vec::with_capacity(slots.len());
                    for (message, slot) in messages.iter().zip(slots) {
                        results.push(match slot {
                            Ok(_) => Ok(()),
                            Err(err) => {
                                self.parking
                                    .park_undecodable(&self.pool, message, err)
                                    .await
                            }
                        });
                    }
                    return results;
                }
                Err(err) => tracing::warn!(
                    error = %err,
                    feeds = feeds.len(),
                    "batch not stored; applying its feeds one by one"
                ),
            }
        }
        // One by one, in order. After a school's feed fails, its later feeds in the batch wait
        // for it (they are handed back with it), so one school's feeds are never applied out of
        // order; a parked feed no longer holds them back.
        let mut failed_schools = BTreeSet::new();
        let mut results = Vec::with_capacity(slots.len());
        for (message, slot) in messages.iter().zip(slots) {
            let feed = match slot {
                Ok(i) => &feeds[i],
                Err(err) => {
                    results.push(
                        self.parking
                            .park_undecodable(&self.pool, message, err)
                            .await,
                    );
                    continue;
                }
            };
            let result = if failed_schools.contains(&feed.school) {
                Err(anyhow::anyhow!(
                    "an earlier feed of school {} in the batch failed",
                    feed.school
                ))
            } else {
                match rollcall_db::apply_validated_feed(&self.pool, feed).await {
                    Ok(stats) => {
                        self.parking.forget(message);
                        stored(feed, stats);
                        Ok(())
                    }
                    Err(err) => self.parking.refused(&self.pool, message, feed, err).await,
                }
            };
            if result.is_err() {
                failed_schools.insert(feed.school);
            }
            results.push(result);
        }
        results
    }
}

fn decode(message: &Message) -> anyhow::Result<ValidatedFeed> {
    rollcall_pipeline::decode_validated(&message.payload).context("undecodable validated feed")
}

fn stored(feed: &ValidatedFeed, stats: rollcall_db::ApplyStats) {
    tracing::info!(
        school = feed.school.get(),
        feed_id = %feed.feed_id,
        marks_written = stats.marks_written,
        marks_superseded = stats.marks_superseded,
        "feed stored"
    );
}
