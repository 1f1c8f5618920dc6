//! Findings a sender can act on, however many: a feed of 200,000 bad marks is answered with a
//! receipt that fits one gRPC answer (the findings by code, the first of them, the rest
//! counted), and `ListFeedFindings` pages through every finding exactly once.

use std::collections::BTreeSet;

use chrono::{Days, NaiveDate, TimeZone, Utc};
use prost::Message as _;

use crate::harness::{FeedSpec, Pipeline, mark, pupil, school, upn};

const URN: &str = "100001";
const BAD_MARKS: usize = 200_000;
/// gRPC's default limit on one message.
const GRPC_LIMIT: usize = 4 * 1024 * 1024;

#[tokio::test]
async fn a_feed_of_200000_bad_marks_has_a_receipt_that_fits_and_every_finding_in_pages() {
    let pipeline = Pipeline::start().await;
    pipeline
        .import_schools(vec![school(URN, "937", false)])
        .await;
    // Ten pupils, each with a mark of a code that does not exist in 20,000 sessions.
    let upns: Vec<String> = (1..=10).map(|serial| upn(937, serial)).collect();
    let first_day = NaiveDate::from_ymd_opt(1995, 1, 2).unwrap();
    let marks: Vec<_> = (0..BAD_MARKS)
        .map(|i| {
            let day = first_day + Days::new((i / 20) as u64);
            let session = if i % 2 == 0 { "AM" } else { "PM" };
            mark(&upns[(i / 2) % 10], &day.to_string(), session, "9")
        })
        .collect();
    let spec = FeedSpec {
        urn: URN.into(),
        key: "many-bad-marks".into(),
        extracted_at: Utc.with_ymd_and_hms(2025, 10, 6, 16, 0, 0).unwrap(),
        roll: upns.iter().map(|u| pupil(u, "1994-09-01")).collect(),
        marks,
    };
    let sent = spec.submit(&pipeline).await.unwrap();
    let receipt = pipeline.wait_processed(&sent.feed_id).await;
    assert!(
        receipt.encoded_len() < GRPC_LIMIT,
        "the receipt is {} bytes",
        receipt.encoded_len()
    );
    let outcome = receipt.outcome.clone().unwrap();
    assert_eq!(outcome.marks_rejected as usize, BAD_MARKS);
    let unknown = outcome
        .summary
        .iter()
        .find(|s| s.code == "UNKNOWN_CODE")
        .expect("the unknown codes counted");
    assert_eq!(unknown.count as usize, BAD_MARKS);
    assert_eq!(
        unknown
            .first
            .iter()
            .map(|p| (p.record_kind.as_str(), p.record_index))
            .collect::<Vec<_>>(),
        [
            ("mark", 0),
            ("mark", 1),
            ("mark", 2),
            ("mark", 3),
            ("mark", 4)
        ]
    );
    let total: u64 = outcome.summary.iter().map(|s| s.count).sum();
    assert_eq!(
        outcome.findings.len() as u64 + u64::from(outcome.findings_omitted),
        total,
        "the receipt lists the first and counts the rest"
    );

    // Every finding, page after page, each once.
    let mut feeds = pipeline.feeds().await;
    let all = rollcall_client::feed_findings(&mut feeds, &sent.feed_id, None)
        .await
        .unwrap();
    assert_eq!(all.len() as u64, total);
    let distinct: BTreeSet<(&str, &str, u32, &str)> = all
        .iter()
        .map(|f| {
            (
                f.code.as_str(),
                f.record_kind.as_str(),
                f.record_index,
                f.field.as_str(),
            )
        })
        .collect();
    assert_eq!(distinct.len(), all.len(), "no finding twice");
    let unknown_marks: BTreeSet<u32> = all
        .iter()
        .filter(|f| f.code == "UNKNOWN_CODE")
        .map(|f| f.record_index)
        .collect();
    assert_eq!(unknown_marks, (0..BAD_MARKS as u32).collect());
    // The receipt's list is the first of them, in the same order.
    assert_eq!(all[..outcome.findings.len()], outcome.findings[..]);
    // One code's findings alone.
    let only = rollcall_client::feed_findings(&mut feeds, &sent.feed_id, Some("UNKNOWN_CODE"))
        .await
        .unwrap();
    assert_eq!(only.len(), BAD_MARKS);
    pipeline.stop().await;
}
