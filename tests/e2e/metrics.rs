//! The operations listeners during a pipeline run: every service's `/metrics` scraped and its
//! counters checked against the feeds sent (enqueued, duplicate, refused; records and findings;
//! feeds and marks stored), consumer lag back to nothing once all is processed, `/healthz` and
//! `/readyz` answering, and no school's URN or pupil's UPN in any label.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use rollcall_telemetry::metrics::{sample, total};

use crate::harness::{FeedSpec, Pipeline, TEST_VENDOR, http_get, mark, pupil, school, upn};

const URNS: [&str; 2] = ["100001", "100002"];

fn feed(urn: &str, key: &str, day: u32, codes: &[&str]) -> FeedSpec {
    let date = format!("2025-10-{day:02}");
    let pupils: Vec<String> = (1..=3).map(|serial| upn(937, serial)).collect();
    let mut marks = Vec::new();
    for (i, code) in codes.iter().enumerate() {
        let upn = &pupils[i % pupils.len()];
        let session = if i / pupils.len() == 0 { "AM" } else { "PM" };
        marks.push(mark(upn, &date, session, code));
    }
    FeedSpec {
        urn: urn.into(),
        key: key.into(),
        extracted_at: Utc.with_ymd_and_hms(2025, 10, day, 16, 0, 0).unwrap(),
        roll: pupils.iter().map(|u| pupil(u, "2025-09-03")).collect(),
        marks,
    }
}

fn series(labels: &[(&str, &str)]) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect::<Vec<_>>()
        .join(",")
}

fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    sample(text, name, &series(labels)).unwrap_or(0.0)
}

#[tokio::test]
async fn every_services_metrics_count_the_feeds_sent() {
    let mut pipeline = Pipeline::start().await;
    pipeline
        .import_schools(URNS.iter().map(|urn| school(urn, "937", false)).collect())
        .await;

    // Four feeds over two schools, one of them carrying a code that does not exist ("9") (a rejected
    // mark), then the first sent again (a duplicate), and one feed for a school nobody
    // registered the vendor for (refused before a record is read).
    let feeds = [
        feed(URNS[0], "mon", 6, &["/", "/", "N", "\\", "\\", "I"]),
        feed(URNS[0], "tue", 7, &["/", "/", "/", "\\", "\\", "\\"]),
        feed(URNS[1], "mon", 6, &["/", "9", "/", "\\", "\\", "\\"]),
        feed(URNS[1], "tue", 7, &["L", "/", "/", "\\", "\\", "\\"]),
    ];
    let mut receipts = Vec::new();
    for spec in &feeds {
        let receipt = spec.submit(&pipeline).await.unwrap();
        receipts.push(pipeline.wait_processed(&receipt.feed_id).await);
    }
    assert!(feeds[0].submit(&pipeline).await.unwrap().duplicate);
    let stranger = feed("100099", "mon", 6, &["/"]);
    let refused = pipeline
        .feeds()
        .await
        .submit_feed(tokio_stream::iter(stranger.requests()))
        .await;
    assert!(refused.is_err(), "the vendor is not registered for 100099");

    let outcomes: Vec<_> = receipts
        .iter()
        .map(|r| r.outcome.clone().expect("processed"))
        .collect();
    let sum = |f: fn(&rollcall_proto::feed::v1::ValidationOutcome) -> u32| -> f64 {
        outcomes.iter().map(|o| f64::from(f(o))).sum()
    };
    let mut findings: BTreeMap<(String, String), f64> = BTreeMap::new();
    for outcome in &outcomes {
        assert_eq!(outcome.findings_omitted, 0);
        for finding in &outcome.findings {
            *findings
                .entry((finding.code.clone(), finding.severity.clone()))
                .or_default() += 1.0;
        }
    }
    assert!(
        sum(|o| o.marks_rejected) >= 1.0,
        "the unknown code is rejected"
    );

    // The gateway: feeds by sender and outcome, the records enqueued, the calls.
    let gateway = pipeline.scrape(pipeline.ops.gateway).await;
    let by = |outcome| [("sender", TEST_VENDOR), ("outcome", outcome)];
    assert_eq!(
        value(&gateway, "rollcall_gateway_feeds_total", &by("enqueued")),
        4.0,
        "{gateway}"
    );
    assert_eq!(
        value(&gateway, "rollcall_gateway_feeds_total", &by("duplicate")),
        1.0
    );
    assert_eq!(
        value(
            &gateway,
            "rollcall_gateway_feeds_total",
            &by("outside_organisation")
        ),
        1.0
    );
    let records = |kind| [("sender", TEST_VENDOR), ("kind", kind)];
    assert_eq!(
        value(&gateway, "rollcall_gateway_records_total", &records("roll")),
        12.0
    );
    assert_eq!(
        value(&gateway, "rollcall_gateway_records_total", &records("mark")),
        24.0
    );
    let submit = [("method", "/rollcall.feed.v1.FeedService/SubmitFeed")];
    assert_eq!(value(&gateway, "rollcall_grpc_calls_total", &submit), 6.0);
    assert_eq!(
        value(&gateway, "rollcall_gateway_feeds_in_progress", &[]),
        0.0
    );
    assert!(total(&gateway, "rollcall_kafka_produce_seconds_count") >= 4.0);

    // The validator: every feed validated, its records and findings as the receipts say.
    let validator = pipeline.scrape(pipeline.ops.validator).await;
    assert_eq!(
        value(
            &validator,
            "rollcall_validator_feeds_total",
            &[("result", "validated")]
        ),
        4.0
    );
    for (kind, result, expected) in [
        ("roll", "accepted", sum(|o| o.roll_accepted)),
        ("roll", "rejected", sum(|o| o.roll_rejected)),
        ("mark", "accepted", sum(|o| o.marks_accepted)),
        ("mark", "rejected", sum(|o| o.marks_rejected)),
    ] {
        let labels = [("kind", kind), ("result", result)];
        assert_eq!(
            value(&validator, "rollcall_validator_records_total", &labels),
            expected,
            "{kind} {result}"
        );
    }
    for ((code, severity), count) in &findings {
        let labels = [("code", code.as_str()), ("severity", severity.as_str())];
        assert_eq!(
            value(&validator, "rollcall_validator_findings_total", &labels),
            *count,
            "{code}"
        );
    }
    assert_eq!(
        total(&validator, "rollcall_validator_findings_total"),
        findings.values().sum::<f64>()
    );
    assert_eq!(total(&validator, "rollcall_worker_batch_feeds_sum"), 4.0);

    // The aggregator: every feed stored, its marks written as the receipts say.
    let aggregator = pipeline.scrape(pipeline.ops.aggregator).await;
    assert_eq!(
        value(
            &aggregator,
            "rollcall_aggregator_feeds_total",
            &[("result", "stored")]
        ),
        4.0
    );
    assert_eq!(
        value(
            &aggregator,
            "rollcall_aggregator_marks_total",
            &[("result", "written")]
        ),
        sum(|o| o.marks_written)
    );
    assert!(total(&aggregator, "rollcall_db_transaction_seconds_count") >= 1.0);
    assert_eq!(total(&aggregator, "rollcall_worker_batch_feeds_sum"), 4.0);

    // The query service counts its calls like the gateway.
    let query = pipeline.scrape(pipeline.ops.query).await;
    assert!(
        value(
            &query,
            "rollcall_grpc_calls_total",
            &[("method", "/rollcall.query.v1.RegistryService/ImportSchools")]
        ) >= 1.0,
        "{query}"
    );

    // Lag: with the aggregator down, a feed the validator passed on waits on the validated
    // topic, one record behind the aggregator's group; once it is back, nothing is left for
    // either worker (read every 10 s).
    pipeline.crash_aggregator().await;
    let wednesday = feed(URNS[0], "wed", 8, &["/", "/", "/", "\\", "\\", "\\"]);
    let pending = wednesday.submit(&pipeline).await.unwrap();
    let kafka = &pipeline.settings.kafka;
    let probe =
        rollcall_kafka::Probe::new(kafka, &kafka.groups.aggregator, &kafka.topics.validated)
            .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lag = probe.lag().await.unwrap();
        assert_eq!(lag.len(), 3, "every partition");
        if lag.values().sum::<i64>() == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the validated feed never waited: {lag:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    pipeline.start_aggregator().await;
    pipeline.wait_processed(&pending.feed_id).await;
    for (worker, addr) in [
        ("validator", pipeline.ops.validator),
        ("aggregator", pipeline.ops.aggregator),
    ] {
        wait_for_no_lag(&pipeline, worker, addr).await;
    }

    for (service, addr) in [
        ("gateway", pipeline.ops.gateway),
        ("validator", pipeline.ops.validator),
        ("aggregator", pipeline.ops.aggregator),
        ("query", pipeline.ops.query),
    ] {
        assert_eq!(http_get(addr, "/healthz").await, (200, "ok\n".to_owned()));
        assert_eq!(
            http_get(addr, "/readyz").await,
            (200, "ready\n".to_owned()),
            "{service}"
        );
        let text = pipeline.scrape(addr).await;
        assert!(sample(&text, "process_resident_memory_bytes", "").unwrap() > 0.0);
        let labels: Vec<&str> = text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| Some(line.split_once('{')?.1.split_once('}')?.0))
            .collect();
        for urn in URNS.iter().chain(&["100099"]) {
            assert!(
                !labels.iter().any(|l| l.contains(urn)),
                "{service} names school {urn}"
            );
        }
        assert!(
            !labels.iter().any(|l| l.contains(&upn(937, 1))),
            "{service} names a pupil"
        );
    }
    pipeline.stop().await;
}

/// Waits until every partition's lag on `worker`'s listener at `addr` is read as 0.
async fn wait_for_no_lag(pipeline: &Pipeline, worker: &str, addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = pipeline.scrape(addr).await;
        let partitions = text
            .lines()
            .filter(|l| l.starts_with("rollcall_kafka_consumer_lag{"))
            .count();
        if partitions == 3 && total(&text, "rollcall_kafka_consumer_lag") == 0.0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{worker}'s lag not back to 0:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
