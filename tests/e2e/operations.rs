//! What operations read and steer, through the `rollcall` CLI with an operations key: the
//! records validation rejected, grouped by finding code, sender and school, equal to the findings
//! of the feeds sent; a feed the database refused listed as parked, replayed while the cause is
//! still there (refused again), then replayed after the fix and stored.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use rollcall_proto::feed::v1::FeedStatus;
use serde_json::Value;

use crate::cli::json_as;
use crate::harness::{FeedSpec, Pipeline, TEST_VENDOR, mark, pupil, school, upn};
use crate::pipeline::sessions_by_code;

const A: &str = "100001";
const B: &str = "100002";

pub(crate) fn feed(urn: &str, key: &str, pupils: &[(u16, &str)], codes: &[&str]) -> FeedSpec {
    let upns: Vec<String> = pupils.iter().map(|(serial, _)| upn(937, *serial)).collect();
    FeedSpec {
        urn: urn.into(),
        key: key.into(),
        extracted_at: Utc.with_ymd_and_hms(2025, 10, 6, 16, 0, 0).unwrap(),
        roll: upns
            .iter()
            .zip(pupils)
            .map(|(u, (_, surname))| {
                let mut p = pupil(u, "2025-09-03");
                p.surname = (*surname).into();
                p
            })
            .collect(),
        marks: upns
            .iter()
            .zip(codes)
            .map(|(u, code)| mark(u, "2025-10-06", "AM", code))
            .collect(),
    }
}

#[tokio::test]
async fn dead_letter_groups_are_the_findings_of_the_feeds_sent() {
    let pipeline = Pipeline::start().await;
    pipeline
        .import_schools(vec![school(A, "937", false), school(B, "937", false)])
        .await;
    let operations = pipeline.key("operations", "").await;
    // Unknown codes at A in two feeds, one at B; a mark for a pupil not on the roll at B.
    let feeds = [
        feed(A, "a1", &[(1, "Smith"), (2, "Jones")], &["9", "9"]),
        feed(A, "a2", &[(1, "Smith"), (2, "Jones")], &["/", "9"]),
        feed(B, "b1", &[(3, "Brown")], &["9"]),
    ];
    let mut expected: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for spec in &feeds {
        let receipt = spec.submit(&pipeline).await.unwrap();
        let processed = pipeline.wait_processed(&receipt.feed_id).await;
        let mut codes: Vec<String> = Vec::new();
        for f in &processed.outcome.unwrap().findings {
            if f.severity == "error" {
                let group = format!("{}/{TEST_VENDOR}/{}", f.code, spec.urn);
                expected.entry(group.clone()).or_default().0 += 1;
                if !codes.contains(&group) {
                    codes.push(group);
                }
            }
        }
        for group in codes {
            expected.get_mut(&group).unwrap().1 += 1;
        }
    }
    assert!(!expected.is_empty());

    let listed = json_as(&pipeline, &operations, &["dead-letters", "list"]).await;
    let groups: BTreeMap<String, (u64, u64)> = listed["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["group"].as_str().unwrap().to_owned(),
                (g["records"].as_u64().unwrap(), g["feeds"].as_u64().unwrap()),
            )
        })
        .collect();
    assert_eq!(groups, expected, "records and feeds per group");

    // One group's records: positions, fields and rules, newest feed first.
    let group = format!(
        "{}/{TEST_VENDOR}/{A}",
        expected.keys().next().unwrap().split('/').next().unwrap()
    );
    let shown = json_as(&pipeline, &operations, &["dead-letters", "show", &group]).await;
    let records = shown["records"].as_array().unwrap();
    assert_eq!(records.len() as u64, expected[&group].0);
    for record in records {
        assert_eq!(record["record_kind"], "mark");
        assert!(!record["field"].as_str().unwrap().is_empty());
    }
    // Nothing of a pupil in what operations see.
    let text = serde_json::to_string(&shown).unwrap();
    for serial in [1, 2] {
        assert!(!text.contains(&upn(937, serial)));
    }
    assert!(!text.contains("Smith") && !text.contains("Jones"));
    pipeline.stop().await;
}

#[tokio::test]
async fn a_parked_feed_is_listed_refused_again_until_the_fix_then_replayed_and_stored() {
    let pipeline = Pipeline::start_with(Pipeline::shared_broker(), |s| {
        s.kafka.partitions = 1;
        s.aggregator.park_after_attempts = 2;
    })
    .await;
    pipeline.import_schools(vec![school(A, "937", false)]).await;
    let operations = pipeline.key("operations", "").await;
    // A constraint added to the database by mistake (as a DBA might): it refuses one surname.
    let database = &pipeline.settings.database.url;
    psql(
        database,
        "alter table enrolments add constraint mistaken_surname check (surname <> 'Refused')",
    );
    let refused = feed(A, "refused", &[(1, "Refused")], &["/"])
        .submit(&pipeline)
        .await
        .unwrap();
    let later = feed(A, "later", &[(2, "Other")], &["/"])
        .submit(&pipeline)
        .await
        .unwrap();
    pipeline.wait_processed(&later.feed_id).await;

    let parked = json_as(&pipeline, &operations, &["parked", "list"]).await;
    let row = parked
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["feed_id"] == refused.feed_id)
        .expect("the refused feed is parked")
        .clone();
    assert_eq!(row["sqlstate"], "23514");
    assert_eq!(row["replayed_at"], "");
    let id = row["id"].as_i64().unwrap().to_string();

    // Replayed while the cause is still there: refused again, its request cleared.
    let asked = json_as(&pipeline, &operations, &["parked", "replay", &id]).await;
    assert_eq!(asked["outcome"], "requested");
    let again = wait_parked(&pipeline, &operations, &refused.feed_id, |p| {
        p["replay_requested_at"] == ""
            && p["attempts"].as_u64().unwrap() > row["attempts"].as_u64().unwrap()
    })
    .await;
    assert_eq!(again["replayed_at"], "");

    // The fix, then the replay: stored, and its receipt says processed.
    psql(
        database,
        "alter table enrolments drop constraint mistaken_surname",
    );
    json_as(&pipeline, &operations, &["parked", "replay", &id]).await;
    let done = wait_parked(&pipeline, &operations, &refused.feed_id, |p| {
        p["replayed_at"] != ""
    })
    .await;
    assert_ne!(done["replayed_at"], "");
    let receipt = pipeline.receipt(&refused.feed_id).await;
    assert_eq!(receipt.status(), FeedStatus::Processed);
    assert_eq!(sessions_by_code(&pipeline, A).await.get("/"), Some(&2));
    let counts = json_as(&pipeline, &operations, &["status"]).await;
    assert_eq!(counts["feeds_parked"], 0);
    let replayed = json_as(&pipeline, &operations, &["parked", "replay", &id]).await;
    assert_eq!(replayed["outcome"], "already_replayed");
    pipeline.stop().await;
}

/// Runs `sql` on the test's database with psql, as an administrator would.
fn psql(database: &str, sql: &str) {
    let status = std::process::Command::new("psql")
        .args([database, "-qc", sql])
        .status()
        .unwrap();
    assert!(status.success(), "psql: {sql}");
}

/// Polls `rollcall parked list` until the parked row of `feed_id` satisfies `done`.
async fn wait_parked(
    pipeline: &Pipeline,
    operations: &str,
    feed_id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let parked = json_as(pipeline, operations, &["parked", "list"]).await;
        let row = parked
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["feed_id"] == feed_id)
            .unwrap()
            .clone();
        if done(&row) {
            return row;
        }
        assert!(Instant::now() < deadline, "not yet: {row}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn a_school_open_three_days_without_a_feed_is_quiet_and_one_at_half_term_is_not() {
    use chrono::{Datelike, Days, Weekday};
    let pipeline = Pipeline::start().await;
    pipeline
        .import_schools(vec![school(A, "937", false), school(B, "937", false)])
        .await;
    let operations = pipeline.key("operations", "").await;
    for (urn, key) in [(A, "a"), (B, "b")] {
        let receipt = feed(urn, key, &[(1, "Smith")], &["/"])
            .submit(&pipeline)
            .await
            .unwrap();
        pipeline.wait_processed(&receipt.feed_id).await;
    }
    // Judged on the day after the third weekday since today's feeds: A's school was open on
    // each of those three days; B was on half-term.
    let today = rollcall_domain::calendar::london_date(Utc::now());
    let mut open = Vec::new();
    let mut day = today;
    while open.len() < 3 {
        day = day + Days::new(1);
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            open.push(day);
        }
    }
    let on = day + Days::new(1);
    let dir = tempfile::tempdir().unwrap();
    let calendar = dir.path().join("calendar.csv");
    std::fs::write(
        &calendar,
        format!(
            "scope,kind,first_day,last_day\n937,term,{},{}\n{B},closed,{},{}\n",
            today - Days::new(30),
            today + Days::new(60),
            open[0],
            open[2],
        ),
    )
    .unwrap();
    let imported = json_as(
        &pipeline,
        &pipeline.admin_token,
        &["schools", "calendar", calendar.to_str().unwrap()],
    )
    .await;
    assert_eq!(imported["imported"], 2);

    let on = on.to_string();
    let status = json_as(
        &pipeline,
        &operations,
        &["status", "schools", "--la", "937", "--on", &on],
    )
    .await;
    let by_urn: BTreeMap<&str, &Value> = status["schools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["urn"].as_str().unwrap(), s))
        .collect();
    assert_eq!(by_urn[A]["quiet"], true);
    assert_eq!(by_urn[A]["school_days_without_feed"], 3);
    assert_eq!(by_urn[A]["calendar"], "la");
    assert_eq!(by_urn[A]["latest_register_date"], "2025-10-06");
    assert_eq!(by_urn[B]["quiet"], false, "closed for half-term");
    assert_eq!(by_urn[B]["school_days_without_feed"], 0);
    assert_eq!(status["quiet_schools"], 1);
    let quiet = json_as(
        &pipeline,
        &operations,
        &["status", "schools", "--la", "937", "--on", &on, "--quiet"],
    )
    .await;
    let quiet: Vec<&str> = quiet["schools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["urn"].as_str().unwrap())
        .collect();
    assert_eq!(quiet, [A]);
    // Judged today, nobody is quiet: today's registers are not due yet.
    let now = json_as(
        &pipeline,
        &operations,
        &["status", "schools", "--la", "937"],
    )
    .await;
    assert_eq!(now["quiet_schools"], 0);

    let vendors = json_as(&pipeline, &operations, &["status", "vendors"]).await;
    let vendor = &vendors["senders"][0];
    assert_eq!(vendor["sender"], TEST_VENDOR);
    assert_eq!(vendor["feeds"], 2);
    let lag = json_as(&pipeline, &operations, &["status", "lag", "--la", "937"]).await;
    assert_eq!(lag["pending_feeds"], 0);
    pipeline.stop().await;
}
