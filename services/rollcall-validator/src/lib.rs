//! The validation worker. For each feed on the feeds topic it runs the domain's validation
//! catalogue against the feed and the school registry, then writes the accepted, normalised
//! records with the feed's outcome to the validated topic and every rejected record, as it
//! arrived, with its findings to the dead-letter topic. Feeds are taken in batches (up to
//! `validator.batch_max_feeds`): every write of the batch is in flight at once, queued in the
//! batch's order, and the input offsets are committed once, only after each feed's writes were
//! all acknowledged. A feed whose writes failed is handed back with its partition's later feeds
//! and written again; the aggregator makes a second copy harmless. Beside the worker, school
//! replays (`replay.rs`): a school's feeds read back and validated again when operations ask.

pub mod config;
mod metrics;
mod replay;

use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use rollcall_db::Pool;
use rollcall_domain::Urn;
use rollcall_domain::feed::{Outcome, ReceivedFeed, ValidatedFeed};
use rollcall_domain::validation::{self, Context, Finding, RecordRef, Severity};
use rollcall_kafka::{Message, Producer};
use rollcall_pipeline::{DeadLetter, Rejected};
use rollcall_server::ops::{self, Readiness};
use rollcall_telemetry::metrics::Metrics;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

pub use crate::config::Settings;
use crate::metrics::ValidationMetrics;

/// How often the consumer lag on the feeds topic is read for `/metrics`.
const LAG_EVERY: Duration = Duration::from_secs(10);

/// Binds the operations listener and runs until `shutdown`.
pub async fn run(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let ops = ops::bind(settings.validator.ops_listen).await?;
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
    let kafka = &settings.kafka;
    if kafka.create_topics {
        rollcall_kafka::ensure_topics(
            kafka,
            &[
                &kafka.topics.feeds,
                &kafka.topics.validated,
                &kafka.topics.rejected,
            ],
        )
        .await
        .context("cannot create kafka topics")?;
    }
    let metrics = Metrics::new();
    let producer = rollcall_kafka::producer(kafka)
        .context("cannot create kafka producer")?
        .with_metrics(&metrics);
    let consumer = rollcall_kafka::consumer(kafka, &kafka.groups.validator)
        .context("cannot create kafka consumer")?;
    let probe = rollcall_kafka::Probe::new(kafka, &kafka.groups.validator, &kafka.topics.feeds)?;
    let readiness = Readiness::new()
        .database(pool.clone())
        .check("broker", probe.readiness());
    let _ops = ops::spawn(ops_listener, metrics.clone(), readiness, &shutdown);
    let _lag = probe.spawn_watch(&metrics, LAG_EVERY, &shutdown);
    let _replays = replay::Replays {
        pool: pool.clone(),
        producer: producer.clone(),
        reader: rollcall_kafka::reader(kafka).context("cannot create kafka reader")?,
        kafka: kafka.clone(),
    }
    .spawn(&shutdown);

    let worker = Worker {
        pool,
        producer,
        settings: &settings,
        metrics: ValidationMetrics::new(&metrics),
        batches: rollcall_kafka::BatchMetrics::new(&metrics),
    };
    let batching = settings.validator.batch_config().batching();
    rollcall_kafka::consume_batches(
        &consumer,
        &kafka.topics.feeds,
        batching,
        shutdown,
        |messages| worker.handle_batch(messages),
    )
    .await?;
    Ok(())
}

/// What one feed message becomes: the messages to write, in order, and, for a feed that could be
/// decoded, the line to log once they are all acknowledged.
struct Outputs {
    writes: Vec<Write>,
    validated: Option<Validated>,
    /// The feed's span (continuing the gateway's): its writes' spans are its children, and the
    /// aggregator's span for it continues theirs.
    span: tracing::Span,
}

/// One message to write.
struct Write {
    topic: String,
    key: Vec<u8>,
    /// Names the payload among those on its partition, for its frames.
    id: String,
    payload: Vec<u8>,
}

/// What is logged of a validated feed: counts only, never a record.
struct Validated {
    school: u32,
    feed_id: String,
    summary: validation::Summary,
    /// Each finding's code and severity, counted once the feed's writes are acknowledged.
    findings: Vec<(validation::FindingCode, Severity)>,
}

struct Worker<'a> {
    pool: Pool,
    producer: Producer,
    settings: &'a Settings,
    metrics: ValidationMetrics,
    batches: rollcall_kafka::BatchMetrics,
}

impl Worker<'_> {
    /// Validates each feed of the batch in order, then writes every feed's outputs, all in
    /// flight at once and queued in the batch's order (so a school's feeds reach the validated
    /// topic in the order they arrived). Answers for each message: done once all its writes were
    /// acknowledged.
    ///
    /// Once a feed cannot be prepared (the database unavailable), the later feeds of its
    /// partition in the batch are not prepared or written either: they are handed back with it,
    /// so that no school's later feed reaches the validated topic before its earlier one. The
    /// current codes would not depend on the order (versions decide), but the history of when
    /// each code was first recorded would (the chaos run found it: a feed held back by a
    /// timed-out connection while its school's next feed went ahead).
    async fn handle_batch(&self, messages: Vec<Message>) -> Vec<anyhow::Result<()>> {
        let started = Instant::now();
        let batch = messages.len();
        // The batch's span, a trace of its own; each feed's span (in the feed's trace) links to it.
        let batch_span = tracing::info_span!("validator.batch", feeds = batch);
        let prepared = prepare_in_order(messages, |message| {
            let span = feed_span(&message);
            span.follows_from(&batch_span);
            self.prepare(message).instrument(span)
        })
        .await;
        // `join_all` polls the sends in this order first, and a send is queued on its first poll.
        let sends = prepared.iter().enumerate().flat_map(|(index, outputs)| {
            let (writes, feed) = match outputs {
                Ok(o) => (o.writes.as_slice(), Some(&o.span)),
                Err(_) => (&[][..], None),
            };
            writes.iter().map(move |w| {
                let produce = tracing::info_span!(parent: feed.and_then(|f| f.id()), "kafka.produce", topic = %w.topic);
                let trace = rollcall_telemetry::context::headers_of(&produce);
                async move {
                    let sent = self
                        .producer
                        .send_payload(&w.topic, &w.key, w.id.as_bytes(), &w.payload, &trace)
                        .await;
                    (index, sent)
                }
                .instrument(produce)
            })
        });
        let mut results: Vec<anyhow::Result<()>> = prepared
            .iter()
            .map(|outputs| match outputs {
                Ok(_) => Ok(()),
                Err(err) => Err(anyhow::anyhow!("{err:#}")),
            })
            .collect();
        for (index, sent) in futures::future::join_all(sends).await {
            if let Err(err) = sent
                && results[index].is_ok()
            {
                results[index] = Err(err.into());
            }
        }
        for (outputs, result) in prepared.iter().zip(&results) {
            if let (
                Ok(Outputs {
                    validated: Some(v), ..
                }),
                Ok(()),
            ) = (outputs, result)
            {
                self.metrics.validated(&v.summary, &v.findings);
                tracing::info!(
                    school = v.school,
                    feed_id = %v.feed_id,
                    roll_accepted = v.summary.roll_accepted,
                    roll_rejected = v.summary.roll_rejected,
                    marks_accepted = v.summary.marks_accepted,
                    marks_rejected = v.summary.marks_rejected,
                    warned = v.summary.records_warned,
                    "feed validated"
                );
            } else if let (
                Ok(Outputs {
                    validated: None, ..
                }),
                Ok(()),
            ) = (outputs, result)
            {
                self.metrics.refused();
            }
        }
        let retried = results.iter().filter(|r| r.is_err()).count();
        self.batches.batch(batch, retried, started.elapsed());
        results
    }

    /// Validates one feed message and returns what to write for it. A message it cannot read
    /// at all is dead-lettered whole, byte for byte, so its partition moves on; only a transient
    /// failure (the database unavailable) is an error, retried.
    async fn prepare(&self, message: Message) -> anyhow::Result<Outputs> {
        let feed = match rollcall_pipeline::decode_received(&message.payload) {
            Ok(feed) => feed,
            Err(err) => {
                tracing::error!(error = %err, partition = message.partition, offset = message.offset, "undecodable feed message dead-lettered");
                return Ok(self.refuse(message, &format!("undecodable feed message: {err}")));
            }
        };
        let urn = feed.school.get();
        tracing::Span::current()
            .record("school", urn)
            .record("feed_id", tracing::field::display(feed.feed_id));
        let school_registered = match rollcall_db::get_school(&self.pool, urn as i32).await {
            Ok(school) => school.is_some(),
            Err(err) if err.is_transient() => return Err(err.into()),
            Err(err) => {
                tracing::error!(error = %err, school = urn, feed_id = %feed.feed_id, "feed the registry lookup refused dead-lettered");
                return Ok(self.refuse(
                    message,
                    "the school registry could not be read for this feed",
                ));
            }
        };
        let ctx = Context {
            today: rollcall_domain::calendar::london_date(Utc::now()),
            school_registered,
        };
        let Checked {
            feed: out,
            letters,
            findings,
        } = check(&feed, &ctx);
        let summary = out.outcome.summary;

        // Dead letters first, then the validated feed, as one feed was always written.
        let topics = &self.settings.kafka.topics;
        let write = |topic: &str, id: String, payload: Vec<u8>| Write {
            topic: topic.to_owned(),
            key: message.key.clone(),
            id,
            payload,
        };
        let mut writes: Vec<Write> = letters
            .into_iter()
            .enumerate()
            .map(|(i, letter)| {
                let id = format!("{}/{i}", feed.feed_id);
                write(
                    &topics.rejected,
                    id,
                    rollcall_pipeline::encode_dead_letter(&letter),
                )
            })
            .collect();
        let payload = rollcall_pipeline::encode_validated(&out)
            .context("the validated feed cannot be written")?;
        writes.push(write(&topics.validated, feed.feed_id.to_string(), payload));
        Ok(Outputs {
            writes,
            span: tracing::Span::current(),
            validated: Some(Validated {
                school: urn,
                feed_id: feed.feed_id.to_string(),
                summary,
                findings,
            }),
        })
    }

    /// The dead letter for a message that cannot be handled at all: the message byte for byte,
    /// with why. Not ours to drop.
    fn refuse(&self, message: Message, refusal: &str) -> Outputs {
        let letter = DeadLetter {
            feed_id: None,
            school: std::str::from_utf8(&message.key)
                .ok()
                .and_then(|key| Urn::parse(key).ok()),
            record: Rejected::Undecodable(message.payload),
            findings: Vec::new(),
            findings_omitted: 0,
            refusal: refusal.to_owned(),
            rejected_at: Utc::now(),
        };
        Outputs {
            writes: vec![Write {
                topic: self.settings.kafka.topics.rejected.clone(),
                key: message.key,
                id: format!("{}/{}", message.partition, message.offset),
                payload: rollcall_pipeline::encode_dead_letter(&letter),
            }],
            validated: None,
            span: tracing::Span::current(),
        }
    }
}

/// A feed through the validation catalogue.
pub(crate) struct Checked {
    /// What goes to the validated topic, with every finding.
    pub feed: ValidatedFeed,
    /// Each rejected record as it arrived, with its findings.
    pub letters: Vec<DeadLetter>,
    /// Each finding's code and severity, however many did not fit the receipt.
    pub findings: Vec<(validation::FindingCode, Severity)>,
}

/// Runs the domain's validation catalogue over `feed`: the worker's for each feed, and a school
/// replay's for each feed read back.
pub(crate) fn check(feed: &ReceivedFeed, ctx: &Context) -> Checked {
    let validated = validation::validate(&feed.roll, &feed.marks, ctx);
    let summary = validated.summary();
    let findings = validated
        .findings
        .iter()
        .map(|f| (f.code, f.severity))
        .collect();
    let letters = dead_letters(feed, &validated);
    Checked {
        feed: ValidatedFeed {
            feed_id: feed.feed_id,
            school: feed.school,
            recorded_at: feed.extracted_at,
            pupils: validated.pupils,
            marks: validated.marks,
            replay: None,
            // Every finding travels (the message is framed to the broker's limit): the
            // aggregator keeps them all for `ListFeedFindings` and fits the receipt's list.
            outcome: Outcome {
                summary,
                findings: validated.findings,
                findings_omitted: 0,
            },
        },
        letters,
        findings,
    }
}

/// The span of one feed message, continuing the trace its records carry (the gateway's).
fn feed_span(message: &Message) -> tracing::Span {
    let span = tracing::info_span!(
        "validator.feed",
        partition = message.partition,
        offset = message.offset,
        school = tracing::field::Empty,
        feed_id = tracing::field::Empty,
    );
    message.continue_trace(&span);
    span
}

/// One dead letter per rejected record (the record as sent and all its findings), or one for the
/// whole feed when the feed as a whole was refused.
fn dead_letters(feed: &ReceivedFeed, validated: &validation::Validated) -> Vec<DeadLetter> {
    let rejected_at = Utc::now();
    // Each record's findings, found in one pass: a feed of 200,000 bad marks has as many
    // findings, and looking through them all for each record would take minutes.
    let mut by_record: std::collections::HashMap<RecordRef, Vec<Finding>> =
        std::collections::HashMap::new();
    for finding in &validated.findings {
        by_record
            .entry(finding.record)
            .or_default()
            .push(finding.clone());
    }
    let mut findings_of = |record: RecordRef| by_record.remove(&record).unwrap_or_default();
    let letter = |record, mut findings: Vec<Finding>| {
        let findings_omitted =
            validation::fit_findings(&mut findings, validation::ANSWER_FINDINGS_BYTES);
        DeadLetter {
            feed_id: Some(feed.feed_id),
            school: Some(feed.school),
            record,
            findings,
            findings_omitted,
            refusal: String::new(),
            rejected_at,
        }
    };
    let feed_refused = validated
        .findings
        .iter()
        .any(|f| f.record == RecordRef::Feed && f.severity == Severity::Error);
    if feed_refused {
        return vec![letter(
            Rejected::Feed(Box::new(feed.clone())),
            validated.findings.clone(),
        )];
    }
    let mut letters = Vec::new();
    for (index, pupil) in feed.roll.iter().enumerate() {
        if validated.is_rejected(RecordRef::Roll(index)) {
            letters.push(letter(
                Rejected::Pupil {
                    index,
                    pupil: pupil.clone(),
                },
                findings_of(RecordRef::Roll(index)),
            ));
        }
    }
    for (index, mark) in feed.marks.iter().enumerate() {
        if validated.is_rejected(RecordRef::Mark(index)) {
            letters.push(letter(
                Rejected::Mark {
                    index,
                    mark: mark.clone(),
                },
                findings_of(RecordRef::Mark(index)),
            ));
        }
    }
    letters
}

/// Prepares each message in order with `prepare`. Once one fails, the later messages of its
/// partition are not prepared: each answers that an earlier feed of its partition failed, so
/// that it is handed back with it (`handle_batch`).
async fn prepare_in_order<T, F, Fut>(
    messages: Vec<Message>,
    mut prepare: F,
) -> Vec<anyhow::Result<T>>
where
    F: FnMut(Message) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let mut prepared = Vec::with_capacity(messages.len());
    let mut failed_partitions = std::collections::BTreeSet::new();
    for message in messages {
        let partition = message.partition;
        let outputs = if failed_partitions.contains(&partition) {
            Err(anyhow::anyhow!(
                "an earlier feed of partition {partition} in the batch failed"
            ))
        } else {
            prepare(message).await
        };
        if outputs.is_err() {
            failed_partitions.insert(partition);
        }
        prepared.push(outputs);
    }
    prepared
}

#[cfg(test)]
mod ordering_tests {
    use super::*;

    fn message(partition: i32, offset: i64) -> Message {
        Message {
            topic: "feeds".into(),
            partition,
            offset,
            last_offset: offset,
            key: Vec::new(),
            payload: Vec::new(),
            trace: Vec::new(),
        }
    }

    #[tokio::test]
    async fn after_a_failure_its_partitions_later_feeds_wait_and_other_partitions_go_on() {
        let batch = vec![
            message(0, 10),
            message(0, 11),
            message(1, 5),
            message(0, 12),
            message(1, 6),
        ];
        let mut prepared_offsets = Vec::new();
        let results = prepare_in_order(batch, |m| {
            prepared_offsets.push((m.partition, m.offset));
            // The first feed's database connection timed out; every other one would succeed.
            let failed = m.partition == 0 && m.offset == 10;
            async move {
                if failed {
                    anyhow::bail!("pool timed out")
                }
                Ok(m.offset)
            }
        })
        .await;
        let answers: Vec<Result<i64, String>> = results
            .into_iter()
            .map(|r| r.map_err(|e| e.to_string()))
            .collect();
        assert_eq!(
            answers,
            [
                Err("pool timed out".to_owned()),
                Err("an earlier feed of partition 0 in the batch failed".to_owned()),
                Ok(5),
                Err("an earlier feed of partition 0 in the batch failed".to_owned()),
                Ok(6),
            ]
        );
        assert_eq!(
            prepared_offsets,
            [(0, 10), (1, 5), (1, 6)],
            "held feeds are not prepared"
        );
    }
}
