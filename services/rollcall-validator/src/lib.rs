//! The validation worker. For each feed on the feeds topic it runs the domain's validation
//! catalogue against the feed and the school registry, then writes the accepted, normalised
//! records with the feed's outcome to the validated topic and every rejected record, as it
//! arrived, with its findings to the dead-letter topic. The input offset is committed only after
//! both writes are acknowledged.

mod convert;

use anyhow::Context as _;
use chrono::Utc;
use prost::Message as _;
use rollcall_db::Pool;
use rollcall_domain::validation::{self, Context, RecordRef, Severity};
use rollcall_kafka::{Message, Producer};
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
    rollcall_kafka::consume(&consumer, &kafka.topics.feeds, shutdown, |message| {
        worker.handle(message)
    })
    .await?;
    Ok(())
}

struct Worker<'a> {
    pool: Pool,
    producer: Producer,
    settings: &'a Settings,
}

impl Worker<'_> {
    async fn handle(&self, message: Message) -> anyhow::Result<()> {
        let topics = &self.settings.kafka.topics;
        let envelope = match FeedEnvelope::decode(message.payload.as_slice()) {
            Ok(envelope) => envelope,
            Err(err) => {
                // Not ours to drop: keep it byte for byte in the dead-letter topic.
                tracing::error!(error = %err, partition = message.partition, offset = message.offset, "undecodable feed message dead-lettered");
                let dead = RejectedRecord {
                    undecodable: message.payload,
                    rejected_at: Some(convert::now()),
                    ..Default::default()
                };
                self.producer
                    .send(&topics.rejected, &message.key, &dead.encode_to_vec())
                    .await?;
                return Ok(());
            }
        };
        let header = envelope.header.clone().unwrap_or_default();
        let urn: u32 = header
            .school_urn
            .trim()
            .parse()
            .context("gateway sent a feed without a valid urn")?;
        let school_registered = rollcall_db::get_school(&self.pool, urn as i32)
            .await?
            .is_some();
        // London is at most an hour ahead of UTC: "today" there is today in UTC plus an hour.
        let today = (Utc::now() + chrono::Duration::hours(1)).date_naive();
        let ctx = Context {
            today,
            school_registered,
        };

        let roll: Vec<_> = envelope.roll.iter().map(convert::raw_pupil).collect();
        let marks: Vec<_> = envelope.marks.iter().map(convert::raw_mark).collect();
        let validated = validation::validate(&roll, &marks, &ctx);
        let summary = validated.summary();

        let key = message.key.as_slice();
        let dead_letters = dead_letters(&envelope, urn, &validated);
        let out = convert::validated_feed(&envelope, urn, &validated);
        let rejected: Vec<(Vec<u8>, Vec<u8>)> = dead_letters
            .iter()
            .map(|d| (key.to_vec(), d.encode_to_vec()))
            .collect();
        self.producer.send_all(&topics.rejected, &rejected).await?;
        self.producer
            .send(&topics.validated, key, &out.encode_to_vec())
            .await?;
        tracing::info!(
            school = urn,
            feed_id = %envelope.feed_id,
            roll_accepted = summary.roll_accepted,
            roll_rejected = summary.roll_rejected,
            marks_accepted = summary.marks_accepted,
            marks_rejected = summary.marks_rejected,
            warned = summary.records_warned,
            "feed validated"
        );
        Ok(())
    }
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
