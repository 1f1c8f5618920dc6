//! The validation worker. For each feed on the feeds topic it runs the domain's validation
//! catalogue against the feed and the school registry, then writes the accepted, normalised
//! records with the feed's outcome to the validated topic and every rejected record, as it
//! arrived, with its findings to the dead-letter topic. Feeds are taken in batches (up to
//! `validator.batch_max_feeds`): every write of the batch is in flight at once, queued in the
//! batch's order, and the input offsets are committed once, only after each feed's writes were
//! all acknowledged. A feed whose writes failed is handed back with its partition's later feeds
//! and written again; the aggregator makes a second copy harmless.

mod convert;

use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use prost::Message as _;
use rollcall_db::Pool;
use rollcall_domain::Urn;
use rollcall_domain::validation::{self, Context, RecordRef, Severity};
use rollcall_kafka::{Batching, Message, Producer};
use rollcall_proto::pipeline::v1::{FeedEnvelope, RejectedRecord, rejected_record};
use rollcall_server::Settings;
use tokio_util::sync::CancellationToken;

pub async fn run(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
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
    let producer = rollcall_kafka::producer(kafka).context("cannot create kafka producer")?;
    let consumer = rollcall_kafka::consumer(kafka, &kafka.groups.validator)
        .context("cannot create kafka consumer")?;
    let worker = Worker {
        pool,
        producer,
        settings: &settings,
    };
    let batching = Batching {
        max_messages: settings.validator.batch_max_feeds,
        linger: Duration::from_millis(settings.validator.batch_linger_ms),
    };
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
}

struct Worker<'a> {
    pool: Pool,
    producer: Producer,
    settings: &'a Settings,
}

impl Worker<'_> {
    /// Validates each feed of the batch in order, then writes every feed's outputs, all in
    /// flight at once and queued in the batch's order (so a school's feeds reach the validated
    /// topic in the order they arrived). Answers for each message: done once all its writes were
    /// acknowledged.
    async fn handle_batch(&self, messages: Vec<Message>) -> Vec<anyhow::Result<()>> {
        let mut prepared = Vec::with_capacity(messages.len());
        for message in messages {
            prepared.push(self.prepare(message).await);
        }
        // `join_all` polls the sends in this order first, and a send is queued on its first poll.
        let sends = prepared.iter().enumerate().flat_map(|(index, outputs)| {
            let writes = outputs.as_ref().map_or(&[][..], |o| o.writes.as_slice());
            writes.iter().map(move |w| async move {
                let sent = self
                    .producer
                    .send_payload(&w.topic, &w.key, w.id.as_bytes(), &w.payload)
                    .await;
                (index, sent)
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
            }
        }
        results
    }

    /// Validates one feed message and returns what to write for it. A message it cannot handle
    /// at all (undecodable, or naming no valid school) is dead-lettered whole, so its partition
    /// moves on; only a transient failure (the database unavailable) is an error, retried.
    async fn prepare(&self, message: Message) -> anyhow::Result<Outputs> {
        let envelope = match FeedEnvelope::decode(message.payload.as_slice()) {
            Ok(envelope) => envelope,
            Err(err) => {
                tracing::error!(error = %err, partition = message.partition, offset = message.offset, "undecodable feed message dead-lettered");
                return Ok(self.refuse(message, None, "undecodable feed message"));
            }
        };
        let header = envelope.header.clone().unwrap_or_default();
        let Ok(urn) = Urn::parse(header.school_urn.trim()) else {
            tracing::error!(feed_id = %envelope.feed_id, partition = message.partition, offset = message.offset, "feed without a valid school urn dead-lettered");
            return Ok(self.refuse(
                message,
                Some(envelope),
                "feed header without a valid school urn",
            ));
        };
        let urn = urn.get();
        let school_registered = match rollcall_db::get_school(&self.pool, urn as i32).await {
            Ok(school) => school.is_some(),
            Err(err) if err.is_transient() => return Err(err.into()),
            Err(err) => {
                tracing::error!(error = %err, school = urn, feed_id = %envelope.feed_id, "feed the registry lookup refused dead-lettered");
                return Ok(self.refuse(
                    message,
                    Some(envelope),
                    "the school registry could not be read for this feed",
                ));
            }
        };
        let topics = &self.settings.kafka.topics;
        // London is at most an hour ahead of UTC: "today" there is today in UTC plus an hour.
        let today = (Utc::now() + chrono::Duration::hours(1)).date_naive();
        let ctx = Context {
            today,
            school_registered,
        };

        let roll: Vec<_> = envelope.roll.iter().map(convert::raw_pupil).collect();
        let marks: Vec<_> = envelope.marks.iter().map(convert::raw_mark).collect();
        let validated = validation::validate(&roll, &marks, &ctx);

        // Dead letters first, then the validated feed, as one feed was always written.
        let write = |topic: &str, id: String, payload: Vec<u8>| Write {
            topic: topic.to_owned(),
            key: message.key.clone(),
            id,
            payload,
        };
        let mut writes: Vec<Write> = dead_letters(&envelope, urn, &validated)
            .into_iter()
            .enumerate()
            .map(|(i, mut d)| {
                d.findings_omitted = fit_findings(&mut d, |d| &mut d.findings, RECEIPT_BYTES);
                let id = format!("{}/{i}", envelope.feed_id);
                write(&topics.rejected, id, d.encode_to_vec())
            })
            .collect();
        let mut out = convert::validated_feed(&envelope, urn, &validated);
        let omitted = fit_findings(
            &mut out,
            |o| &mut o.outcome.get_or_insert_default().findings,
            RECEIPT_BYTES,
        );
        out.outcome.get_or_insert_default().findings_omitted = omitted;
        writes.push(write(
            &topics.validated,
            envelope.feed_id.clone(),
            out.encode_to_vec(),
        ));
        Ok(Outputs {
            writes,
            validated: Some(Validated {
                school: urn,
                feed_id: envelope.feed_id.clone(),
                summary: validated.summary(),
            }),
        })
    }
}

impl Worker<'_> {
    /// The dead letter for a message that cannot be handled at all: the feed as decoded, or the
    /// message byte for byte when it could not be, with why. Not ours to drop.
    fn refuse(&self, message: Message, feed: Option<FeedEnvelope>, refusal: &str) -> Outputs {
        let (record, undecodable) = match feed {
            Some(envelope) => (Some(rejected_record::Record::Feed(envelope)), Vec::new()),
            None => (None, message.payload),
        };
        let dead = RejectedRecord {
            record,
            undecodable,
            refusal: refusal.to_owned(),
            rejected_at: Some(convert::now()),
            ..Default::default()
        };
        Outputs {
            writes: vec![Write {
                topic: self.settings.kafka.topics.rejected.clone(),
                key: message.key,
                id: format!("{}/{}", message.partition, message.offset),
                payload: dead.encode_to_vec(),
            }],
            validated: None,
        }
    }
}

/// The most bytes a feed's receipt may take with its findings: under gRPC's default limit of
/// 4 MiB on an answer, so `GetFeedReceipt` always reaches the sender.
const RECEIPT_BYTES: usize = 3 * 1024 * 1024;

/// Makes `message` fit `limit` encoded bytes by leaving out its last findings (those of the
/// feed's last records: findings are in record order), and returns how many were left out. A
/// feed's records always fit (the gateway's limit is below this); only a very large number of
/// findings can outgrow it, and then the receipt carries the first of them and the count of
/// the rest.
fn fit_findings<M: prost::Message>(
    message: &mut M,
    findings: impl Fn(&mut M) -> &mut Vec<rollcall_proto::feed::v1::Finding>,
    limit: usize,
) -> u32 {
    if message.encoded_len() <= limit {
        return 0;
    }
    let all = std::mem::take(findings(message));
    let mut room = limit.saturating_sub(message.encoded_len());
    let keep = all
        .iter()
        .take_while(|f| {
            // A repeated field's element: its tag, its length and itself.
            let len = f.encoded_len();
            let size = 1 + prost::length_delimiter_len(len) + len;
            room = room.saturating_sub(size);
            room > 0
        })
        .count();
    let omitted = all.len() - keep;
    let kept = findings(message);
    kept.extend(all.into_iter().take(keep));
    tracing::warn!(
        kept = keep,
        omitted,
        limit,
        "findings left out so the message fits the broker's limit"
    );
    omitted as u32
}

/// One dead letter per rejected record (the original record and all its findings), or one for the
/// whole feed when the feed as a whole was refused.
fn dead_letters(
    envelope: &FeedEnvelope,
    urn: u32,
    validated: &validation::Validated,
) -> Vec<RejectedRecord> {
    let rejected_at = Some(convert::now());
    let findings_of = |record: RecordRef| {
        validated
            .findings
            .iter()
            .filter(|f| f.record == record)
            .map(convert::finding)
            .collect::<Vec<_>>()
    };
    let base = |record, findings| RejectedRecord {
        feed_id: envelope.feed_id.clone(),
        school_urn: urn,
        record: Some(record),
        findings,
        rejected_at,
        undecodable: Vec::new(),
        refusal: String::new(),
        findings_omitted: 0,
    };
    let feed_refused = validated
        .findings
        .iter()
        .any(|f| f.record == RecordRef::Feed && f.severity == Severity::Error);
    if feed_refused {
        return vec![base(
            rejected_record::Record::Feed(envelope.clone()),
            validated.findings.iter().map(convert::finding).collect(),
        )];
    }
    let mut letters = Vec::new();
    for (index, record) in envelope.roll.iter().enumerate() {
        if validated.is_rejected(RecordRef::Roll(index)) {
            letters.push(base(
                rejected_record::Record::Roll(record.clone()),
                findings_of(RecordRef::Roll(index)),
            ));
        }
    }
    for (index, record) in envelope.marks.iter().enumerate() {
        if validated.is_rejected(RecordRef::Mark(index)) {
            letters.push(base(
                rejected_record::Record::Mark(record.clone()),
                findings_of(RecordRef::Mark(index)),
            ));
        }
    }
    letters
}
