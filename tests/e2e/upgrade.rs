//! A rolling upgrade with messages of the previous format in flight loses nothing: a feed
//! written to the feeds topic as the one-message `FeedEnvelope` of `rollcall.pipeline.v1`, and a
//! validated feed written to the validated topic as v1's `ValidatedFeed`, are both processed by
//! the current workers, beside feeds in today's format.

use chrono::{TimeZone, Utc};
use prost::Message as _;
use rollcall_proto::feed::v1::FeedHeader;
use rollcall_proto::pipeline::v1;

use crate::harness::{FeedSpec, Pipeline, mark, pupil, school, upn};
use crate::pipeline::sessions_by_code;

const URN: &str = "100001";

/// Registers a feed as the gateway would have before it wrote it, so its receipt can be read.
async fn register(pipeline: &Pipeline, feed_id: uuid::Uuid, key: &str) {
    let pool = rollcall_db::connect(&pipeline.settings.database.url, 1)
        .await
        .unwrap();
    rollcall_db::register_feed(
        &pool,
        &rollcall_db::NewFeed {
            feed_id,
            school_urn: URN.parse().unwrap(),
            idempotency_key: key.into(),
            payload_sha256: vec![0; 32],
            extracted_at: Utc.with_ymd_and_hms(2025, 10, 6, 16, 0, 0).unwrap(),
            code_set: "2024".into(),
            roll_records: 1,
            mark_records: 1,
            sender: "test-mis".into(),
        },
    )
    .await
    .unwrap();
    rollcall_db::mark_feed_enqueued(&pool, feed_id, None)
        .await
        .unwrap();
    pool.close().await;
}

fn timestamp(day: u32, hour: u32) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: Utc
            .with_ymd_and_hms(2025, 10, day, hour, 0, 0)
            .unwrap()
            .timestamp(),
        nanos: 0,
    }
}

#[tokio::test]
async fn messages_of_the_previous_format_in_flight_are_processed_after_the_upgrade() {
    let pipeline = Pipeline::start().await;
    pipeline
        .import_schools(vec![school(URN, "937", false)])
        .await;
    let producer = rollcall_kafka::producer(&pipeline.settings.kafka).unwrap();
    let topics = pipeline.settings.kafka.topics.clone();

    // A v1 feed envelope, as the previous gateway wrote it: one record, no frame.
    let (raw_id, raw_upn) = (uuid::Uuid::new_v4(), upn(937, 1));
    register(&pipeline, raw_id, "v1-raw").await;
    let envelope = v1::FeedEnvelope {
        feed_id: raw_id.to_string(),
        header: Some(FeedHeader {
            school_urn: URN.into(),
            extracted_at: Some(timestamp(6, 16)),
            idempotency_key: "v1-raw".into(),
            code_set: "2024".into(),
        }),
        received_at: Some(timestamp(6, 17)),
        roll: vec![pupil(&raw_upn, "2025-09-03")],
        marks: vec![mark(&raw_upn, "2025-10-06", "AM", "I")],
    };
    producer
        .send(&topics.feeds, URN.as_bytes(), &envelope.encode_to_vec())
        .await
        .unwrap();

    // A v1 validated feed, as the previous validator wrote it.
    let (validated_id, validated_upn) = (uuid::Uuid::new_v4(), upn(937, 2));
    register(&pipeline, validated_id, "v1-validated").await;
    let validated = v1::ValidatedFeed {
        feed_id: validated_id.to_string(),
        school_urn: URN.parse().unwrap(),
        recorded_at: Some(timestamp(6, 16)),
        pupils: vec![v1::Pupil {
            upn: validated_upn.clone(),
            forename: "Ada".into(),
            surname: "Testpupil".into(),
            date_of_birth: Some(16_000),
            sex: Some("F".into()),
            year_group: Some("6".into()),
            admission_date: Some(20_334),
            ..Default::default()
        }],
        marks: vec![v1::Mark {
            upn: validated_upn.clone(),
            date: 20_367, // 2025-10-06
            session: 1,
            code: "N".into(),
            minutes_late: None,
        }],
        outcome: Some(rollcall_proto::feed::v1::ValidationOutcome {
            roll_accepted: 1,
            marks_accepted: 1,
            ..Default::default()
        }),
    };
    producer
        .send(
            &topics.validated,
            URN.as_bytes(),
            &validated.encode_to_vec(),
        )
        .await
        .unwrap();

    // And a feed sent today, through the gateway.
    let current = upn(937, 3);
    let today = FeedSpec {
        urn: URN.into(),
        key: "v2".into(),
        extracted_at: Utc.with_ymd_and_hms(2025, 10, 6, 18, 0, 0).unwrap(),
        roll: vec![pupil(&current, "2025-09-03")],
        marks: vec![mark(&current, "2025-10-06", "AM", "/")],
    }
    .submit(&pipeline)
    .await
    .unwrap();

    for id in [raw_id.to_string(), validated_id.to_string(), today.feed_id] {
        let receipt = pipeline.wait_processed(&id).await;
        assert_eq!(receipt.outcome.unwrap().marks_written, 1, "{id}");
    }
    let codes = sessions_by_code(&pipeline, URN).await;
    assert_eq!(
        (codes.get("I"), codes.get("N"), codes.get("/")),
        (Some(&1), Some(&1), Some(&1))
    );
    pipeline.stop().await;
}
