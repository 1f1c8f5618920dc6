//! Inputs PostgreSQL would refuse never stop the pipeline: a NUL or an overlong name is a
//! finding on its record, a feed the database refuses anyway is parked while the feeds behind it
//! on its partition land, and a header with an impossible time is refused as bad input.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use prost::Message as _;
use rollcall_proto::feed::v1::{FeedReceipt, FeedStatus, GetFeedReceiptRequest};
use rollcall_proto::pipeline::v1 as pipeline_v1;

use crate::cli::rollcall_as;
use crate::harness::{FeedSpec, Pipeline, mark, pupil, school, upn};
use crate::pipeline::sessions_by_code;

const A: &str = "100001";
const B: &str = "100002";
const MONDAY: &str = "2025-10-06";

/// A pipeline whose topics have one partition, so every school's feeds queue behind each other,
/// with schools A and B registered.
async fn one_partition() -> Pipeline {
    let pipeline = Pipeline::start_with(Pipeline::shared_broker(), |s| {
        s.kafka.partitions = 1;
        s.aggregator.park_after_attempts = 2;
    })
    .await;
    pipeline
        .import_schools(vec![school(A, "937", false), school(B, "937", false)])
        .await;
    pipeline
}

/// A good feed of one pupil of `urn` marked present on Monday morning.
fn good_feed(urn: &str, serial: u16, key: &str) -> FeedSpec {
    let upn = upn(937, serial);
    FeedSpec {
        urn: urn.into(),
        key: key.into(),
        extracted_at: Utc.with_ymd_and_hms(2025, 10, 6, 16, 0, 0).unwrap(),
        roll: vec![pupil(&upn, "2025-09-03")],
        marks: vec![mark(&upn, MONDAY, "AM", "/")],
    }
}

/// (code, record kind, index, field) of each finding.
fn findings(receipt: &FeedReceipt) -> Vec<(String, String, u32, String)> {
    receipt
        .outcome
        .as_ref()
        .unwrap()
        .findings
        .iter()
        .map(|f| {
            (
                f.code.clone(),
                f.record_kind.clone(),
                f.record_index,
                f.field.clone(),
            )
        })
        .collect()
}

fn finding(code: &str, kind: &str, index: u32, field: &str) -> (String, String, u32, String) {
    (code.into(), kind.into(), index, field.into())
}

#[tokio::test]
async fn a_nul_or_an_overlong_forename_is_a_finding_and_the_feeds_behind_it_land() {
    let pipeline = one_partition().await;
    let (good, nul, long) = (upn(937, 1), upn(937, 2), upn(937, 3));
    let mut with_nul = pupil(&nul, "2025-09-03");
    with_nul.forename = "Ad\0a".into();
    let mut too_long = pupil(&long, "2025-09-03");
    too_long.forename = "A".repeat(101);
    let first = FeedSpec {
        urn: A.into(),
        key: "stray-byte".into(),
        extracted_at: Utc.with_ymd_and_hms(2025, 10, 6, 12, 0, 0).unwrap(),
        roll: vec![pupil(&good, "2025-09-03"), with_nul, too_long],
        marks: vec![
            mark(&good, MONDAY, "AM", "/"),
            mark(&nul, MONDAY, "AM", "/"),
            mark(&long, MONDAY, "AM", "N"),
        ],
    };
    let sent = Instant::now();
    let first = first.submit(&pipeline).await.unwrap();
    let later_a = good_feed(A, 4, "a-later").submit(&pipeline).await.unwrap();
    let later_b = good_feed(B, 5, "b-later").submit(&pipeline).await.unwrap();
    let first = pipeline.wait_processed(&first.feed_id).await;
    pipeline.wait_processed(&later_a.feed_id).await;
    pipeline.wait_processed(&later_b.feed_id).await;
    let took = sent.elapsed();
    assert!(took < Duration::from_secs(15), "took {took:?}");

    assert_eq!(
        findings(&first),
        [
            finding("TEXT_CONTROL_CHARACTER", "roll", 1, "forename"),
            finding("TEXT_TOO_LONG", "roll", 2, "forename"),
            finding("PUPIL_ROLL_REJECTED", "mark", 1, "upn"),
            finding("PUPIL_ROLL_REJECTED", "mark", 2, "upn"),
        ]
    );
    let outcome = first.outcome.as_ref().unwrap();
    assert_eq!((outcome.roll_accepted, outcome.roll_rejected), (1, 2));
    assert_eq!((outcome.marks_written, outcome.marks_rejected), (1, 2));
    // The good neighbour and both later feeds are stored: three present sessions at A and B.
    assert_eq!(sessions_by_code(&pipeline, A).await.get("/"), Some(&2));
    assert_eq!(sessions_by_code(&pipeline, B).await.get("/"), Some(&1));
    pipeline.stop().await;
}

#[tokio::test]
async fn a_feed_the_database_refuses_is_parked_and_the_feeds_behind_it_land() {
    let pipeline = one_partition().await;
    // What a validator without the text check would write: a NUL in a forename, straight onto
    // the validated topic, for a feed the gateway recorded.
    let feed_id = uuid::Uuid::new_v4();
    let pool = rollcall_db::connect(&pipeline.settings.database.url, 1)
        .await
        .unwrap();
    let extracted = Utc.with_ymd_and_hms(2025, 10, 6, 12, 0, 0).unwrap();
    rollcall_db::register_feed(
        &pool,
        &rollcall_db::NewFeed {
            feed_id,
            school_urn: A.parse().unwrap(),
            idempotency_key: "nul-unchecked".into(),
            payload_sha256: vec![0; 32],
            extracted_at: extracted,
            code_set: "2024".into(),
            roll_records: 1,
            mark_records: 1,
            sender: "test-mis".into(),
        },
    )
    .await
    .unwrap();
    pool.close().await;
    let upn = upn(937, 1);
    let poisoned = pipeline_v1::ValidatedFeed {
        feed_id: feed_id.to_string(),
        school_urn: A.parse().unwrap(),
        recorded_at: Some(prost_types::Timestamp {
            seconds: extracted.timestamp(),
            nanos: 0,
        }),
        pupils: vec![pipeline_v1::Pupil {
            upn: upn.clone(),
            forename: "Ad\0a".into(),
            surname: "Testpupil".into(),
            date_of_birth: Some(16_000),
            admission_date: Some(20_334),
            ..Default::default()
        }],
        marks: vec![pipeline_v1::Mark {
            upn,
            date: (chrono::NaiveDate::from_ymd_opt(2025, 10, 6).unwrap()
                - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
            .num_days() as i32,
            session: 0,
            code: "/".into(),
            minutes_late: None,
        }],
        outcome: Some(Default::default()),
    };
    let producer = rollcall_kafka::producer(&pipeline.settings.kafka).unwrap();
    producer
        .send(
            &pipeline.settings.kafka.topics.validated,
            A.as_bytes(),
            &poisoned.encode_to_vec(),
        )
        .await
        .unwrap();
    let sent = Instant::now();
    let later_a = good_feed(A, 2, "a-later").submit(&pipeline).await.unwrap();
    let later_b = good_feed(B, 3, "b-later").submit(&pipeline).await.unwrap();
    pipeline.wait_processed(&later_a.feed_id).await;
    pipeline.wait_processed(&later_b.feed_id).await;
    let took = sent.elapsed();
    assert!(took < Duration::from_secs(15), "took {took:?}");

    let receipt = pipeline
        .feeds()
        .await
        .get_feed_receipt(GetFeedReceiptRequest {
            feed_id: feed_id.to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(receipt.status(), FeedStatus::Parked);
    let parking = receipt.parking.unwrap();
    assert_eq!(
        (parking.sqlstate.as_str(), parking.field.as_str()),
        ("22021", "pupil 0 forename")
    );
    assert!(!parking.reason.contains("Ad"), "{}", parking.reason);
    // Only the later feeds' sessions are stored.
    assert_eq!(sessions_by_code(&pipeline, A).await.get("/"), Some(&1));

    let operations = pipeline.key("operations", "").await;
    let (ok, out, err) = rollcall_as(&pipeline, &operations, &["status", "--json"]).await;
    assert!(ok, "{err}");
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["feeds_parked"], 1, "{status}");
    assert_eq!(status["feeds_processed"], 2, "{status}");
    let (ok, out, _) = rollcall_as(&pipeline, &operations, &["status"]).await;
    assert!(ok && out.contains("1 parked"), "{out}");
    pipeline.stop().await;
}

#[tokio::test]
async fn a_header_with_an_impossible_time_is_invalid_argument_and_nothing_is_recorded() {
    let pipeline = Pipeline::start().await;
    pipeline.import_schools(vec![school(A, "937", false)]).await;
    let times = [
        (1_759_766_400, -1),
        (1_759_766_400, 1_000_000_000),
        // Within what a timestamp can say, far outside what PostgreSQL holds.
        (253_402_300_800_000, 0),
        (-62_135_596_800, 0),
        // Before any register Rollcall holds.
        (0, 0),
    ];
    for (seconds, nanos) in times {
        let mut requests = good_feed(A, 1, &format!("time-{seconds}-{nanos}")).requests();
        let Some(rollcall_proto::feed::v1::submit_feed_request::Part::Header(header)) =
            &mut requests[0].part
        else {
            panic!("the first request is the header")
        };
        header.extracted_at = Some(prost_types::Timestamp { seconds, nanos });
        let status = pipeline
            .feeds()
            .await
            .submit_feed(tokio_stream::iter(requests))
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "{seconds}.{nanos}: {status:?}"
        );
        assert!(
            status.message().starts_with("header.extracted_at"),
            "{status:?}"
        );
    }
    let pool = rollcall_db::connect(&pipeline.settings.database.url, 1)
        .await
        .unwrap();
    let counts = rollcall_db::pipeline_counts(&pool).await.unwrap();
    assert_eq!(counts.feeds_received, 0, "nothing recorded");
    pool.close().await;
    pipeline.stop().await;
}
