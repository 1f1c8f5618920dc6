//! School replays through the `rollcall` CLI with an operations key: a school's feeds, refused
//! while it was missing from the registry, validated again once it is there. A dry run shows
//! what would change and changes nothing (every table as before); the replay then applies it,
//! and a second replay finds nothing left to change. Counts only: no pupil in any answer.

use serde_json::Value;

use crate::cli::json_as;
use crate::harness::{Pipeline, school, upn};
use crate::operations::feed;
use crate::pipeline::sessions_by_code;

const KNOWN: &str = "100001";
/// Not in the registry when its feed arrives.
const LATE: &str = "100003";

#[tokio::test]
async fn a_dry_run_changes_nothing_and_the_replay_applies_what_it_showed() {
    let pipeline = Pipeline::start().await;
    pipeline
        .import_schools(vec![school(KNOWN, "937", false)])
        .await;
    let operations = pipeline.key("operations", "").await;
    let refused = feed(LATE, "late-1", &[(1, "Smith"), (2, "Jones")], &["/", "I"])
        .submit(&pipeline)
        .await
        .unwrap();
    let first = pipeline.wait_processed(&refused.feed_id).await;
    let outcome = first.outcome.clone().unwrap();
    assert_eq!((outcome.roll_accepted, outcome.marks_accepted), (0, 0));
    assert!(
        outcome
            .findings
            .iter()
            .any(|f| f.code == "SCHOOL_NOT_IN_REGISTRY")
    );
    let known = feed(KNOWN, "known-1", &[(3, "Brown")], &["/"])
        .submit(&pipeline)
        .await
        .unwrap();
    pipeline.wait_processed(&known.feed_id).await;

    // The LA adds the school to its registry; its feed is still refused in the tables.
    pipeline
        .import_schools(vec![
            school(KNOWN, "937", false),
            school(LATE, "937", false),
        ])
        .await;
    let pool = rollcall_db::connect(&pipeline.settings.database.url, 2)
        .await
        .unwrap();
    let before = rollcall_db::canonical::dump(&pool).await.unwrap();

    let dry = json_as(
        &pipeline,
        &operations,
        &["replay", "--school", LATE, "--dry-run"],
    )
    .await;
    assert_eq!(dry["status"], "done", "{dry}");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(
        (dry["feeds_found"].as_u64(), dry["feeds_read"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(dry["feeds_gone"], 0);
    assert_eq!(dry["marks_written"], 2);
    assert_eq!(dry["enrolments_added"], 2);
    assert_eq!(dry["sessions_by_code"], serde_json::json!({"/": 1, "I": 1}));
    let fed = &dry["feeds"][0];
    assert_eq!(fed["feed_id"], refused.feed_id);
    assert_eq!(fed["before"]["marks_accepted"], 0);
    assert_eq!(fed["after"]["marks_accepted"], 2);
    assert_eq!(fed["after"]["roll_accepted"], 2);
    assert_eq!(fed["refused"], "");
    no_pupil_in(&dry);
    assert_eq!(
        rollcall_db::canonical::dump(&pool).await.unwrap(),
        before,
        "a dry run changes nothing"
    );
    assert!(sessions_by_code(&pipeline, LATE).await.is_empty());

    // The replay applies what the dry run showed; the other school is untouched.
    let known_before = sessions_by_code(&pipeline, KNOWN).await;
    let applied = json_as(&pipeline, &operations, &["replay", "--school", LATE]).await;
    assert_eq!(applied["status"], "done", "{applied}");
    assert_eq!(applied["feeds_applied"], 1);
    for field in [
        "marks_written",
        "enrolments_added",
        "sessions_by_code",
        "feeds",
    ] {
        assert_eq!(applied[field], dry[field], "{field}");
    }
    let stored = sessions_by_code(&pipeline, LATE).await;
    assert_eq!((stored.get("/"), stored.get("I")), (Some(&1), Some(&1)));
    assert_eq!(sessions_by_code(&pipeline, KNOWN).await, known_before);
    // The vendor's receipt stays what it was answered.
    let receipt = pipeline.receipt(&refused.feed_id).await;
    assert_eq!(receipt.outcome.unwrap().marks_accepted, 0);

    // Once applied, a replay finds nothing more to change; a window after the feed finds none.
    let again = json_as(
        &pipeline,
        &operations,
        &["replay", "--school", LATE, "--dry-run"],
    )
    .await;
    assert_eq!(again["marks_written"], 0);
    assert_eq!(again["enrolments_added"], 0);
    assert_eq!(again["sessions_by_code"], serde_json::json!({}));
    let tomorrow = (rollcall_domain::calendar::london_date(chrono::Utc::now())
        + chrono::Days::new(1))
    .to_string();
    let later = json_as(
        &pipeline,
        &operations,
        &["replay", "--school", LATE, "--from", &tomorrow, "--dry-run"],
    )
    .await;
    assert_eq!(later["feeds_found"], 0);
    pipeline.stop().await;
}

/// Nothing of a pupil (UPN, name) in what operations see.
fn no_pupil_in(answer: &Value) {
    let text = answer.to_string();
    for serial in [1, 2] {
        assert!(!text.contains(&upn(937, serial)), "a upn in {text}");
    }
    assert!(!text.contains("Smith") && !text.contains("Jones"));
}
