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

pub mod config;
mod metrics;
mod park;
mod replay;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rollcall_db::Pool;
use rollcall_domain::feed::ValidatedFeed;
use rollcall_kafka::{BatchMetrics, Message};
use rollcall_server::ops::{self, Readiness};
use rollcall_telemetry::metrics::Metrics;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

pub use crate::config::Settings;
use crate::metrics::{StoreMetrics, Transaction};
use crate::park::Parking;

/// How often the consumer lag on the validated topic is read for `/metrics`.
const LAG_EVERY: Duration = Duration::from_secs(10);

/// Binds the operations listener and runs until `shutdown`.
pub async fn run(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let ops = ops::bind(settings.aggregator.ops_listen).await?;
    serve(settings, ops, shutdown).await
}

/// Runs with an already bound operations listener (tests bind port 0 and read the address).
pub async fn serve(
    settings: Settings,
    ops_listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
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
    let metrics = Metrics::new();
    let probe =
        rollcall_kafka::Probe::new(kafka, &kafka.groups.aggregator, &kafka.topics.validated)?;
    let readiness = Readiness::new()
        .database(pool.clone())
        .check("broker", probe.readiness());
    let _ops = ops::spawn(ops_listener, metrics.clone(), readiness, &shutdown);
    let _lag = probe.spawn_watch(&metrics, LAG_EVERY, &shutdown);

    let batching = settings.aggregator.batch_config().batching();
    let store = StoreMetrics::new(&metrics);
    let _replays = replay::spawn(pool.clone(), store.clone(), &shutdown);
    let writer = Writer {
        pool,
        parking: Parking::new(settings.aggregator.park_after_attempts, store.clone()),
        lanes: settings.aggregator.lanes,
        metrics: store,
        batches: BatchMetrics::new(&metrics),
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

/// The feeds of a batch one transaction stores, with their messages' indexes in the batch.
#[derive(Default)]
struct Lane {
    indexes: Vec<usize>,
    feeds: Vec<ValidatedFeed>,
    /// Each feed's span.
    spans: Vec<tracing::Span>,
}

struct Writer {
    pool: Pool,
    parking: Parking,
    /// Transactions a batch is spread over, each for its own schools.
    lanes: usize,
    metrics: StoreMetrics,
    batches: BatchMetrics,
}

impl Writer {
    /// Applies a batch of validated feeds, answering for each message in order. The batch's
    /// schools are spread over `lanes` transactions that run at once (a school always in the
    /// same lane, so its feeds stay in order and no two lanes wait on a school's lock); each lane
    /// stores its feeds in one transaction or, when that fails, one by one. A message that
    /// cannot be decoded, or a feed the database refused for good `park_after_attempts` times,
    /// is parked and answered done, so its partition moves on.
    async fn handle_batch(&self, messages: Vec<Message>) -> Vec<anyhow::Result<()>> {
        let started = Instant::now();
        // The batch's span, a trace of its own: its lanes' transactions are its children, and
        // each feed's span (in the feed's trace) links to it.
        let batch_span = tracing::info_span!("aggregator.batch", feeds = messages.len());
        let mut lanes: Vec<Lane> = (0..self.lanes.max(1)).map(|_| Lane::default()).collect();
        let mut undecodable = Vec::new();
        // Each feed's span continues the validator's and ends once its transaction committed
        // (or it was handed back): the end of the feed's trace, when it became queryable.
        let mut spans = Vec::with_capacity(messages.len());
        for (i, message) in messages.iter().enumerate() {
            let span = feed_span(message);
            span.follows_from(&batch_span);
            match decode(message) {
                Ok(feed) => {
                    span.record("school", feed.school.get())
                        .record("feed_id", tracing::field::display(feed.feed_id));
                    let lane = feed.school.get() as usize % lanes.len();
                    lanes[lane].indexes.push(i);
                    lanes[lane].spans.push(span.clone());
                    lanes[lane].feeds.push(feed);
                }
                Err(err) => undecodable.push((i, err)),
            }
            spans.push(span);
        }
        let stored = futures::future::join_all(
            lanes
                .into_iter()
                .filter(|lane| !lane.feeds.is_empty())
                .map(|lane| self.apply_lane(&messages, lane, &batch_span)),
        )
        .await;
        let mut results: Vec<Option<anyhow::Result<()>>> =
            (0..messages.len()).map(|_| None).collect();
        for (i, result) in stored.into_iter().flatten() {
            results[i] = Some(result);
        }
        for (i, err) in undecodable {
            results[i] = Some(
                self.parking
                    .park_undecodable(&self.pool, &messages[i], err)
                    .await,
            );
        }
        let results: Vec<anyhow::Result<()>> = results
            .into_iter()
            .map(|r| r.expect("every message answered"))
            .collect();
        let retried = results.iter().filter(|r| r.is_err()).count();
        self.batches
            .batch(messages.len(), retried, started.elapsed());
        results
    }

    /// One lane's feeds, in one transaction or, when that fails, one by one. Answers each of
    /// the lane's messages by its index in the batch.
    async fn apply_lane(
        &self,
        messages: &[Message],
        lane: Lane,
        batch_span: &tracing::Span,
    ) -> Vec<(usize, anyhow::Result<()>)> {
        let Lane {
            indexes,
            feeds,
            spans,
        } = lane;
        if feeds.len() > 1 {
            let started = Instant::now();
            // One transaction for several feeds' traces: linked from each of them.
            let transaction =
                tracing::info_span!(parent: batch_span, "db.transaction", feeds = feeds.len());
            for span in &spans {
                transaction.follows_from(span);
            }
            match rollcall_db::apply_validated_feeds(&self.pool, &feeds)
                .instrument(transaction)
                .await
            {
                Ok(stats) => {
                    self.metrics
                        .committed(Transaction::Batch, started.elapsed());
                    for (feed, stats) in feeds.iter().zip(stats) {
                        self.stored(feed, stats);
                    }
                    tracing::debug!(feeds = feeds.len(), "batch stored in one transaction");
                    return indexes.into_iter().map(|i| (i, Ok(()))).collect();
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
        let mut results = Vec::with_capacity(indexes.len());
        for ((i, feed), span) in indexes.into_iter().zip(&feeds).zip(&spans) {
            let message = &messages[i];
            let result = if failed_schools.contains(&feed.school) {
                Err(anyhow::anyhow!(
                    "an earlier feed of school {} in the batch failed",
                    feed.school
                ))
            } else {
                let started = Instant::now();
                let transaction = tracing::info_span!(parent: span, "db.transaction", feeds = 1);
                match rollcall_db::apply_validated_feed(&self.pool, feed)
                    .instrument(transaction)
                    .await
                {
                    Ok(stats) => {
                        self.metrics.committed(Transaction::Feed, started.elapsed());
                        self.parking.forget(message);
                        self.stored(feed, stats);
                        Ok(())
                    }
                    Err(err) => self.parking.refused(&self.pool, message, feed, err).await,
                }
            };
            if result.is_err() {
                failed_schools.insert(feed.school);
            }
            results.push((i, result));
        }
        results
    }
}

/// The span of one validated feed message, continuing the trace its record carries.
fn feed_span(message: &Message) -> tracing::Span {
    let span = tracing::info_span!(
        "aggregator.feed",
        partition = message.partition,
        offset = message.offset,
        school = tracing::field::Empty,
        feed_id = tracing::field::Empty,
    );
    message.continue_trace(&span);
    span
}

fn decode(message: &Message) -> anyhow::Result<ValidatedFeed> {
    rollcall_pipeline::decode_validated(&message.payload).context("undecodable validated feed")
}

impl Writer {
    fn stored(&self, feed: &ValidatedFeed, stats: rollcall_db::ApplyStats) {
        self.metrics.stored(&stats);
        tracing::info!(
            school = feed.school.get(),
            feed_id = %feed.feed_id,
            marks_written = stats.marks_written,
            marks_superseded = stats.marks_superseded,
            "feed stored"
        );
    }
}
