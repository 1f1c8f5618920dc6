//! What the LA knew, through the `rollcall` CLI as an officer runs it: every export as at a
//! moment gives the codes and pupils' details recorded by then (a later correction ignored),
//! named in the manifest; and the pupil commands find a pupil and show their timeline.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};

use crate::cli::json_as;
use crate::harness::{FeedSpec, Pipeline, mark, pupil, school, upn};

const A: &str = "100001";

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 10, day, hour, 0, 0).unwrap()
}

/// Rows of an all-quoted CRLF file, by column name.
fn csv_rows(path: &std::path::Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty()).map(|l| {
        l.trim_matches('"')
            .split("\",\"")
            .map(str::to_owned)
            .collect::<Vec<_>>()
    });
    let header = lines.next().unwrap();
    lines
        .map(|fields| header.iter().cloned().zip(fields).collect())
        .collect()
}

fn manifest(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(format!("{}.manifest.json", path.display())).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn exports_as_at_a_moment_give_what_was_recorded_by_then() {
    let pipeline = Pipeline::start().await;
    pipeline.import_schools(vec![school(A, "937", false)]).await;
    let child = upn(937, 1);
    // Monday: no reason yet in the morning. Tuesday's feed gives the reason (illness), moves the
    // pupil to year 7 and adds Tuesday.
    let monday = FeedSpec {
        urn: A.into(),
        key: "monday".into(),
        extracted_at: at(6, 16),
        roll: vec![pupil(&child, "2025-09-03")],
        marks: vec![
            mark(&child, "2025-10-06", "AM", "N"),
            mark(&child, "2025-10-06", "PM", "/"),
        ],
    };
    let mut moved_up = pupil(&child, "2025-09-03");
    moved_up.year_group = "7".into();
    let tuesday = FeedSpec {
        urn: A.into(),
        key: "tuesday".into(),
        extracted_at: at(7, 16),
        roll: vec![moved_up],
        marks: vec![
            mark(&child, "2025-10-06", "AM", "I"),
            mark(&child, "2025-10-06", "PM", "/"),
            mark(&child, "2025-10-07", "AM", "/"),
            mark(&child, "2025-10-07", "PM", "/"),
        ],
    };
    for feed in [monday, tuesday] {
        let receipt = feed.submit(&pipeline).await.unwrap();
        pipeline.wait_processed(&receipt.feed_id).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let monday_evening = "2025-10-06T18:00:00Z";

    // The pupil-session extract, today and as at Monday evening.
    let sessions = |name: &str| dir.path().join(name);
    for (out, as_at) in [("now.csv", None), ("then.csv", Some(monday_evening))] {
        let path = sessions(out);
        let mut args = vec![
            "export",
            "pupil-sessions",
            "--school",
            A,
            "--from",
            "2025-10-06",
            "--to",
            "2025-10-10",
            "--purpose",
            "e2e: what we knew on monday",
            "--out",
            path.to_str().unwrap(),
        ];
        if let Some(as_at) = as_at {
            args.extend(["--as-at", as_at]);
        }
        json_as(&pipeline, &pipeline.la_token, &args).await;
    }
    let codes = |rows: &[BTreeMap<String, String>]| -> Vec<(String, String, String, String)> {
        rows.iter()
            .map(|r| {
                (
                    r["date"].clone(),
                    r["session"].clone(),
                    r["code"].clone(),
                    r["year_group"].clone(),
                )
            })
            .collect()
    };
    let row = |d: &str, s: &str, c: &str, y: &str| (d.into(), s.into(), c.into(), y.into());
    assert_eq!(
        codes(&csv_rows(&sessions("now.csv"))),
        [
            row("2025-10-06", "AM", "I", "7"),
            row("2025-10-06", "PM", "/", "7"),
            row("2025-10-07", "AM", "/", "7"),
            row("2025-10-07", "PM", "/", "7"),
        ]
    );
    assert_eq!(
        codes(&csv_rows(&sessions("then.csv"))),
        [
            row("2025-10-06", "AM", "N", "6"),
            row("2025-10-06", "PM", "/", "6"),
        ]
    );
    assert_eq!(
        manifest(&sessions("then.csv"))["parameters"]["as_at"],
        monday_evening
    );
    assert!(
        manifest(&sessions("now.csv"))["parameters"]
            .get("as_at")
            .is_none()
    );

    // The census summary as at Monday evening counts the morning as no reason yet.
    let census = dir.path().join("census.csv");
    json_as(
        &pipeline,
        &pipeline.la_token,
        &[
            "export",
            "census",
            "--school",
            A,
            "--year",
            "2025/26",
            "--term",
            "autumn",
            "--as-at",
            monday_evening,
            "--purpose",
            "e2e: what we knew on monday",
            "--out",
            census.to_str().unwrap(),
        ],
    )
    .await;
    let census = csv_rows(&census);
    assert_eq!(census.len(), 1);
    assert_eq!(census[0]["sessions_possible"], "2");
    assert_eq!(census[0]["unauthorised_n"], "1");
    assert_eq!(census[0]["authorised_i"], "0");

    // The pupil commands: found by UPN, then the timeline with the correction.
    let found = json_as(
        &pipeline,
        &pipeline.la_token,
        &[
            "pupil",
            "find",
            "--upn",
            &child,
            "--purpose",
            "e2e: a call from the family",
        ],
    )
    .await;
    assert_eq!(found["pupils"][0]["upn"], child.as_str());
    let timeline = json_as(
        &pipeline,
        &pipeline.la_token,
        &[
            "pupil",
            "timeline",
            &child,
            "--purpose",
            "e2e: a call from the family",
            "--from",
            "2025-09-01",
            "--to",
            "2025-12-19",
        ],
    )
    .await;
    let corrections = timeline["corrections"].as_array().unwrap();
    assert_eq!(corrections.len(), 1, "{timeline}");
    assert_eq!(
        (&corrections[0]["before"], &corrections[0]["after"]),
        (&"N".into(), &"I".into())
    );
    pipeline.stop().await;
}
