//! The validator against librdkafka's mock cluster and a real PostgreSQL database (its school
//! registry): a batch of several schools' feeds comes out on the validated topic with each
//! school's feeds in the order they arrived, a rejected record goes to the dead-letter topic, a
//! message it cannot handle at all is dead-lettered whole, and the input offsets are committed
//! once every write was acknowledged.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use prost::Message as _;
use rollcall_domain::feed::ValidatedFeed;
use rollcall_domain::validation::RecordRef;
use rollcall_kafka::mock::MockBroker;
use rollcall_pipeline::{DeadLetter, Rejected};
use rollcall_proto::feed::v1::FeedHeader;
use rollcall_proto::pipeline::v1::FeedEnvelope;
use rollcall_synth::{LaSpec, SyntheticLa};
use rollcall_validator::Settings;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const GROUP: &str = "rollcall-validator";

/// A feed of the synthetic LA as the gateway puts it on the feeds topic.
fn envelope(feed: &rollcall_synth::Feed) -> FeedEnvelope {
    let at = |t: chrono::DateTime<chrono::Utc>| prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    };
    FeedEnvelope {
        feed_id: Uuid::new_v4().to_string(),
        header: Some(FeedHeader {
            school_urn: format!("{:06}", feed.urn),
            extracted_at: Some(at(feed.extracted_at)),
            idempotency_key: feed.idempotency_key.clone(),
            code_set: "2024".into(),
        }),
        received_at: Some(at(feed.extracted_at)),
        roll: feed.roll.iter().map(rollcall_client::roll_record).collect(),
        marks: feed
            .marks
            .iter()
            .map(rollcall_client::mark_record)
            .collect(),
    }
}

/// Every message on `topic` from the start, read by a group of its own, once `count` arrived.
async fn read_all(settings: &Settings, topic: &str, count: usize) -> Vec<Vec<u8>> {
    let consumer =
        rollcall_kafka::consumer(&settings.kafka, &format!("reader-{}", Uuid::new_v4())).unwrap();
    let stop = CancellationToken::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let reading = {
        let stop = stop.clone();
        let topic = topic.to_owned();
        tokio::spawn(async move {
            rollcall_kafka::consume(&consumer, &topic, stop, |m| {
                let _ = tx.send(m.payload);
                std::future::ready(Ok::<(), std::convert::Infallible>(()))
            })
            .await
            .unwrap();
        })
    };
    let mut payloads = Vec::new();
    while payloads.len() < count {
        let payload = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("{} of {count} messages on {topic}", payloads.len()))
            .unwrap();
        payloads.push(payload);
    }
    stop.cancel();
    reading.await.unwrap();
    payloads
}

/// A database with the synthetic LA's registry, the mock broker with the three topics (`feeds`
/// with `partitions`), and settings that point the validator at both.
struct Fixture {
    url: String,
    pool: rollcall_db::Pool,
    broker: MockBroker,
    settings: Settings,
    la: SyntheticLa,
}

impl Fixture {
    async fn new(partitions: i32) -> Fixture {
        let base = std::env::var("ROLLCALL_TEST_DATABASE_URL").unwrap_or(ADMIN_URL.to_owned());
        let root = base
            .rsplit_once('/')
            .map_or(base.as_str(), |(root, _)| root);
        let url = format!("{root}/rollcall_valtest_{}", Uuid::new_v4().simple());
        rollcall_db::ensure_database(&url).await.unwrap();
        let pool = rollcall_db::open(&url, 2).await.unwrap();
        let la = SyntheticLa::generate(LaSpec {
            schools: 3,
            independent_schools: 0,
            pupils: 60,
            days: 4,
            ..LaSpec::small()
        });
        let schools = rollcall_synth::registry_rows(&la.schools);
        rollcall_db::upsert_schools(&pool, &schools).await.unwrap();

        let broker = MockBroker::new().unwrap();
        let mut settings = Settings::defaults();
        settings.database.url = url.clone();
        settings.kafka.brokers = broker.bootstrap_servers();
        settings.kafka.create_topics = false;
        settings.validator.batch_max_feeds = 16;
        settings.validator.batch_linger_ms = 500;
        // Tests run at once: each worker's operations listener on a port of its own.
        settings.validator.ops_listen = "127.0.0.1:0".parse().unwrap();
        let topics = &settings.kafka.topics;
        broker.create_topic(&topics.feeds, partitions).unwrap();
        broker.create_topic(&topics.validated, 1).unwrap();
        broker.create_topic(&topics.rejected, 1).unwrap();
        Fixture {
            url,
            pool,
            broker,
            settings,
            la,
        }
    }

    /// Waits until the group's committed offsets on the feeds topic add up to `count`.
    async fn wait_committed(&self, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let committed = rollcall_kafka::committed_offsets(
                &self.settings.kafka,
                GROUP,
                &self.settings.kafka.topics.feeds,
            )
            .await
            .unwrap();
            if committed.values().sum::<i64>() == count as i64 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "committed {committed:?} of {count} feeds"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn close(self) {
        self.pool.close().await;
        drop(self.broker);
        rollcall_db::drop_database(&self.url).await.unwrap();
    }
}

#[tokio::test]
async fn a_batch_keeps_each_schools_order_and_commits_once_written() {
    let fixture = Fixture::new(2).await;
    let (la, settings) = (&fixture.la, &fixture.settings);
    let topics = settings.kafka.topics.clone();

    // Every school's days in order; one mark of the first feed carries a code that does not
    // exist, so that record alone is rejected.
    let mut envelopes: Vec<FeedEnvelope> = la.feeds.iter().map(envelope).collect();
    envelopes[0].marks[0].code = "!".into();
    let producer = rollcall_kafka::producer(&settings.kafka).unwrap();
    let keyed: Vec<(Vec<u8>, Vec<u8>)> = envelopes
        .iter()
        .map(|e| {
            let urn = e.header.as_ref().unwrap().school_urn.clone();
            (urn.into_bytes(), e.encode_to_vec())
        })
        .collect();
    producer.send_all(&topics.feeds, &keyed).await.unwrap();

    let stop = CancellationToken::new();
    let worker = tokio::spawn(rollcall_validator::run(settings.clone(), stop.clone()));

    let validated: Vec<ValidatedFeed> = read_all(settings, &topics.validated, envelopes.len())
        .await
        .iter()
        .map(|p| rollcall_pipeline::decode_validated(p).unwrap())
        .collect();
    let mut got: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for feed in &validated {
        got.entry(feed.school.get())
            .or_default()
            .push(feed.feed_id.to_string());
    }
    let mut sent: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for e in &envelopes {
        let urn: u32 = e.header.as_ref().unwrap().school_urn.parse().unwrap();
        sent.entry(urn).or_default().push(e.feed_id.clone());
    }
    assert_eq!(
        got, sent,
        "each school's feeds, once each, in the order sent"
    );
    let first = validated
        .iter()
        .find(|f| f.feed_id.to_string() == envelopes[0].feed_id)
        .unwrap();
    assert_eq!(first.outcome.summary.marks_rejected, 1);
    assert_eq!(first.marks.len(), envelopes[0].marks.len() - 1);

    let rejected = read_all(settings, &topics.rejected, 1).await;
    let letter = rollcall_pipeline::decode_dead_letter(&rejected[0]).unwrap();
    assert_eq!(
        letter.feed_id.map(|id| id.to_string()).as_deref(),
        Some(envelopes[0].feed_id.as_str())
    );
    assert!(!letter.findings.is_empty());

    // The input offsets reach the end of both partitions.
    fixture.wait_committed(envelopes.len()).await;
    stop.cancel();
    worker.await.unwrap().unwrap();
    fixture.close().await;
}

#[tokio::test]
async fn a_message_it_cannot_handle_is_dead_lettered_whole_and_the_partition_moves_on() {
    let fixture = Fixture::new(1).await;
    let settings = &fixture.settings;
    let topics = settings.kafka.topics.clone();
    let good = envelope(&fixture.la.feeds[0]);
    let mut no_school = envelope(&fixture.la.feeds[1]);
    no_school.header.as_mut().unwrap().school_urn = "not a urn".into();
    let sent: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (b"100001".to_vec(), vec![0xff, 0xff, 0xff, 0x01]),
        (b"100001".to_vec(), no_school.encode_to_vec()),
        (b"100001".to_vec(), good.encode_to_vec()),
    ];
    let producer = rollcall_kafka::producer(&settings.kafka).unwrap();
    producer.send_all(&topics.feeds, &sent).await.unwrap();
    let stop = CancellationToken::new();
    let worker = tokio::spawn(rollcall_validator::run(settings.clone(), stop.clone()));

    let letters: Vec<DeadLetter> = read_all(settings, &topics.rejected, 2)
        .await
        .iter()
        .map(|p| rollcall_pipeline::decode_dead_letter(p).unwrap())
        .collect();
    for (letter, (_, bytes)) in letters.iter().zip(&sent) {
        assert!(
            letter.refusal.starts_with("undecodable feed message"),
            "{}",
            letter.refusal
        );
        assert!(
            matches!(&letter.record, Rejected::Undecodable(kept) if kept == bytes),
            "kept byte for byte"
        );
    }
    assert!(
        letters[1].refusal.contains("header.school_urn"),
        "names the field: {}",
        letters[1].refusal
    );
    let validated = read_all(settings, &topics.validated, 1).await;
    let validated = rollcall_pipeline::decode_validated(&validated[0]).unwrap();
    assert_eq!(validated.feed_id.to_string(), good.feed_id);
    fixture.wait_committed(sent.len()).await;
    stop.cancel();
    worker.await.unwrap().unwrap();
    fixture.close().await;
}

#[tokio::test]
async fn a_feed_with_more_findings_than_a_receipt_holds_sends_every_one_on() {
    let fixture = Fixture::new(1).await;
    let settings = &fixture.settings;
    let topics = settings.kafka.topics.clone();
    // Three findings on each of 12,000 marks: more than a receipt's 3 MiB of findings (the
    // aggregator fits the receipt's list and keeps them all), and a feed that travels as
    // several records.
    const MARKS: usize = 12_000;
    let mut bad = envelope(&fixture.la.feeds[0]);
    let upn = bad.roll[0].upn.clone();
    bad.marks = (0..MARKS)
        .map(|_| rollcall_proto::feed::v1::MarkRecord {
            upn: upn.clone(),
            date: "2025-09-08".into(),
            session: "XX".into(),
            code: "!".into(),
            minutes_late: "abc".into(),
        })
        .collect();
    let producer = rollcall_kafka::producer(&settings.kafka).unwrap();
    let records = producer
        .send_payload(
            &topics.feeds,
            b"100001",
            bad.feed_id.as_bytes(),
            &bad.encode_to_vec(),
            &[],
        )
        .await
        .unwrap()
        .records;
    let stop = CancellationToken::new();
    let worker = tokio::spawn(rollcall_validator::run(settings.clone(), stop.clone()));

    let payload = read_all(settings, &topics.validated, 1).await.remove(0);
    let validated = rollcall_pipeline::decode_validated(&payload).unwrap();
    let outcome = validated.outcome;
    let findings_bytes: usize = outcome
        .findings
        .iter()
        .map(|f| f.code.as_str().len() + f.field.len() + f.message.len() + 32)
        .sum();
    assert!(
        findings_bytes > 3 * 1024 * 1024,
        "more than a receipt holds"
    );
    assert_eq!(outcome.summary.marks_rejected, MARKS as u64);
    assert_eq!(outcome.findings_omitted, 0, "none left out");
    assert_eq!(outcome.findings.len(), 3 * MARKS, "every finding");
    // In record order.
    assert_eq!(outcome.findings[0].record, RecordRef::Mark(0));
    assert_eq!(
        outcome.findings[3 * MARKS - 1].record,
        RecordRef::Mark(MARKS - 1)
    );
    // Every rejected mark still has its own dead letter with all its findings.
    let letters = read_all(settings, &topics.rejected, MARKS).await;
    let last = rollcall_pipeline::decode_dead_letter(&letters[MARKS - 1]).unwrap();
    assert_eq!(last.findings.len(), 3);
    fixture.wait_committed(records).await;
    stop.cancel();
    worker.await.unwrap().unwrap();
    fixture.close().await;
}
