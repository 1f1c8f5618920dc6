//! Applying validated feeds: latest version wins, corrections move counts, replays change
//! nothing, bad input stores nothing, and a 30,000-mark feed is timed.

use std::time::Instant;

use rollcall_db::{ApplyStats, Error, NewFeed, Registered, Scope};
use rollcall_domain::feed::ValidatedFeed;
use rollcall_domain::validation::{Finding, FindingCode, RecordRef};

use crate::common::*;

const ANN: &str = "A000000000001";
const BEN: &str = "A000000000002";

/// Monday's register as sent on Monday evening: Ann has no reason yet (N) on Monday morning.
fn monday() -> ValidatedFeed {
    feed(
        id(1),
        PRIMARY,
        "2025-09-08T16:00:00Z",
        vec![pupil(ANN), pupil(BEN)],
        vec![
            mark(ANN, "2025-09-08", 0, "N"),
            mark(ANN, "2025-09-08", 1, "N"),
            mark(BEN, "2025-09-08", 0, "/"),
            mark(BEN, "2025-09-08", 1, "L"),
        ],
    )
}

/// Tuesday's feed re-sends Monday with Ann's morning corrected to illness (I) and adds Tuesday;
/// Ann's year group was corrected too.
fn tuesday() -> ValidatedFeed {
    let mut ann = pupil(ANN);
    ann.year_group = Some(year_group("6"));
    feed(
        id(2),
        PRIMARY,
        "2025-09-09T16:00:00Z",
        vec![ann, pupil(BEN)],
        vec![
            mark(ANN, "2025-09-08", 0, "I"),
            mark(ANN, "2025-09-08", 1, "N"),
            mark(BEN, "2025-09-08", 0, "/"),
            mark(BEN, "2025-09-08", 1, "L"),
            mark(ANN, "2025-09-09", 0, "/"),
            mark(ANN, "2025-09-09", 1, "/"),
            mark(BEN, "2025-09-09", 0, "/"),
            mark(BEN, "2025-09-09", 1, "/"),
        ],
    )
}

async fn apply(db: &TestDb, feed: &ValidatedFeed) -> ApplyStats {
    rollcall_db::apply_validated_feed(&db.pool, feed)
        .await
        .expect("apply feed")
}

fn stats(written: u64, superseded: u64) -> ApplyStats {
    ApplyStats {
        marks_written: written,
        marks_superseded: superseded,
    }
}

async fn stored_year_group(db: &TestDb, name: &str) -> Option<String> {
    sqlx::query_scalar("select year_group from enrolments where upn = $1")
        .bind(upn_text(name))
        .fetch_one(db.pool.pg())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_correction_moves_the_counts() {
    let db = TestDb::with_schools().await;
    let school = Scope::School(PRIMARY);

    assert_eq!(apply(&db, &monday()).await, stats(4, 0));
    assert_eq!(
        counts_by_upn(&db.pool, school, "2025-09-08", "2025-09-08").await,
        expect(&[(ANN, "N", 2), (BEN, "/", 1), (BEN, "L", 1)])
    );

    // Only Ann's corrected morning and Tuesday's four sessions are new versions of anything;
    // the three unchanged Monday marks are rewritten with the newer version all the same.
    assert_eq!(apply(&db, &tuesday()).await, stats(8, 0));
    assert_eq!(
        counts_by_upn(&db.pool, school, "2025-09-08", "2025-09-08").await,
        expect(&[(ANN, "I", 1), (ANN, "N", 1), (BEN, "/", 1), (BEN, "L", 1)])
    );
    assert_eq!(
        counts_by_upn(&db.pool, school, "2025-09-08", "2025-09-09").await,
        expect(&[
            (ANN, "/", 2),
            (ANN, "I", 1),
            (ANN, "N", 1),
            (BEN, "/", 3),
            (BEN, "L", 1)
        ])
    );
    assert_eq!(stored_year_group(&db, ANN).await.as_deref(), Some("6"));
    assert_eq!(
        rollcall_db::pipeline_counts(&db.pool)
            .await
            .unwrap()
            .marks_stored,
        8
    );
    db.close().await;
}

#[tokio::test]
async fn an_older_version_after_a_newer_one_changes_nothing() {
    let db = TestDb::with_schools().await;
    apply(&db, &tuesday()).await;
    let before = dump(&db.pool).await;
    let versions = row_versions(&db.pool).await;

    // Monday's feed replayed after Tuesday's: every mark and Ann's year group are older.
    assert_eq!(apply(&db, &monday()).await, stats(0, 4));
    let after = dump(&db.pool).await;
    assert_eq!(after.enrolments, before.enrolments);
    assert_eq!(after.marks, before.marks);
    assert_eq!(after.next_enrolment_id, before.next_enrolment_id);
    assert_eq!(row_versions(&db.pool).await, versions);
    assert_eq!(stored_year_group(&db, ANN).await.as_deref(), Some("6"));
    assert_eq!(
        counts_by_upn(&db.pool, Scope::School(PRIMARY), "2025-09-08", "2025-09-08").await,
        expect(&[(ANN, "I", 1), (ANN, "N", 1), (BEN, "/", 1), (BEN, "L", 1)])
    );
    // The late feed is still receipted as processed, with what it did.
    let row = rollcall_db::get_feed(&db.pool, id(1))
        .await
        .unwrap()
        .unwrap();
    assert!(row.is_processed());
    assert_eq!(
        (row.marks_written, row.marks_superseded),
        (Some(0), Some(4))
    );
    db.close().await;
}

#[tokio::test]
async fn a_newer_feed_adds_only_what_is_newer() {
    let db = TestDb::with_schools().await;
    apply(&db, &monday()).await;
    // A feed older than Monday's for Monday, and a new pupil: only the new pupil lands.
    let cara = "A000000000003";
    let older = feed(
        id(3),
        PRIMARY,
        "2025-09-08T12:00:00Z",
        vec![pupil(ANN), pupil(cara)],
        vec![
            mark(ANN, "2025-09-08", 0, "/"),
            mark(cara, "2025-09-08", 0, "/"),
        ],
    );
    assert_eq!(apply(&db, &older).await, stats(1, 1));
    assert_eq!(
        counts_by_upn(&db.pool, Scope::School(PRIMARY), "2025-09-08", "2025-09-08").await,
        expect(&[(ANN, "N", 2), (BEN, "/", 1), (BEN, "L", 1), (cara, "/", 1)])
    );
    db.close().await;
}

#[tokio::test]
async fn equal_times_are_ordered_by_feed_id() {
    let db = TestDb::with_schools().await;
    let at = "2025-09-08T16:00:00Z";
    let one = |feed_id, urn, code| {
        feed(
            id(feed_id),
            urn,
            at,
            vec![pupil(ANN)],
            vec![mark(ANN, "2025-09-08", 0, code)],
        )
    };
    // In one school the higher id comes first, in the other last: the higher id wins in both.
    apply(&db, &one(11, PRIMARY, "I")).await;
    apply(&db, &one(10, PRIMARY, "N")).await;
    apply(&db, &one(20, INDEPENDENT, "N")).await;
    apply(&db, &one(21, INDEPENDENT, "I")).await;
    for urn in [PRIMARY, INDEPENDENT] {
        assert_eq!(
            counts_by_upn(&db.pool, Scope::School(urn), "2025-09-08", "2025-09-08").await,
            expect(&[(ANN, "I", 1)])
        );
    }
    db.close().await;
}

#[tokio::test]
async fn replaying_feeds_leaves_identical_tables() {
    let db = TestDb::with_schools().await;
    let registered = rollcall_db::register_feed(
        &db.pool,
        &NewFeed {
            feed_id: id(1),
            school_urn: PRIMARY,
            idempotency_key: "monday".to_owned(),
            payload_sha256: vec![7; 32],
            extracted_at: at("2025-09-08T16:00:00Z"),
            code_set: "2024".to_owned(),
            roll_records: 2,
            mark_records: 4,
            sender: "test-mis".into(),
        },
    )
    .await
    .unwrap();
    assert!(matches!(registered, Registered::New(_)));
    apply(&db, &monday()).await;
    apply(&db, &tuesday()).await;
    let before = dump(&db.pool).await;
    let versions = row_versions(&db.pool).await;
    // Eight marks: two pupils, two days, AM and PM, in one register row per pupil.
    assert_eq!(before.marks.len(), 2);
    assert_eq!(before.enrolments.len(), 2);
    assert_eq!(before.feeds.len(), 2);

    // A crash before the offsets were committed: both feeds come again, twice, in order and
    // out of order. The replays write nothing and the receipts keep their first outcome.
    for replay in [monday(), tuesday(), tuesday(), monday()] {
        let again = apply(&db, &replay).await;
        assert_eq!(again.marks_written, 0);
        assert_eq!(again.marks_superseded, replay.marks.len() as u64);
    }
    assert_eq!(dump(&db.pool).await, before);
    assert_eq!(row_versions(&db.pool).await, versions);

    // A replay whose outcome differs (say a newer validator) does not rewrite the receipt.
    let mut revalidated = tuesday();
    revalidated.outcome.summary.records_warned = 3;
    apply(&db, &revalidated).await;
    assert_eq!(dump(&db.pool).await, before);

    let receipt = rollcall_db::get_feed(&db.pool, id(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(receipt.idempotency_key, "monday");
    assert_eq!(receipt.payload_sha256, vec![7; 32]);
    assert_eq!(receipt.marks_written, Some(4));
    assert_eq!(receipt.roll_accepted, Some(2));
    assert_eq!(receipt.findings, Some(serde_json::json!([])));

    // Even without the processed shortcut (the receipt reset by hand), the version rule alone
    // rewrites no enrolment or mark.
    sqlx::query("update feeds set status = 'enqueued'")
        .execute(db.pool.pg())
        .await
        .unwrap();
    assert_eq!(apply(&db, &monday()).await, stats(0, 4));
    assert_eq!(apply(&db, &tuesday()).await, stats(0, 8));
    let forced = dump(&db.pool).await;
    assert_eq!(
        (forced.enrolments, forced.marks),
        (before.enrolments, before.marks)
    );
    assert_eq!(forced.next_enrolment_id, before.next_enrolment_id);
    assert_eq!(row_versions(&db.pool).await, versions);
    db.close().await;
}

#[tokio::test]
async fn a_feed_the_gateway_never_registered_is_receipted() {
    let db = TestDb::with_schools().await;
    let mut monday = monday();
    monday.outcome.summary.marks_rejected = 1;
    monday.outcome.findings = vec![Finding {
        code: FindingCode::UnknownCode,
        severity: FindingCode::UnknownCode.severity(),
        record: RecordRef::Mark(5),
        field: "code",
        message: "not a national attendance code".into(),
    }];
    apply(&db, &monday).await;

    let row = rollcall_db::get_feed(&db.pool, id(1))
        .await
        .unwrap()
        .unwrap();
    assert!(row.is_processed());
    assert_eq!(row.school_urn, PRIMARY);
    assert_eq!(row.extracted_at, at("2025-09-08T16:00:00Z"));
    assert_eq!((row.marks_accepted, row.marks_rejected), (Some(4), Some(1)));
    assert_eq!(
        (row.marks_written, row.marks_superseded),
        (Some(4), Some(0))
    );
    assert_eq!(
        row.findings,
        Some(
            serde_json::json!([{"code": "UNKNOWN_CODE", "severity": "error", "record_kind": "mark",
            "record_index": 5, "field": "code", "message": "not a national attendance code"}])
        )
    );
    assert!(row.processed_at.is_some());

    // A late registration of the same feed finds the processed row.
    let late = NewFeed {
        feed_id: id(1),
        school_urn: PRIMARY,
        idempotency_key: "monday".to_owned(),
        payload_sha256: vec![7; 32],
        extracted_at: at("2025-09-08T16:00:00Z"),
        code_set: "2024".to_owned(),
        roll_records: 2,
        mark_records: 5,
        sender: "test-mis".into(),
    };
    assert_eq!(
        rollcall_db::register_feed(&db.pool, &late).await.unwrap(),
        Registered::Existing(row)
    );
    db.close().await;
}

#[tokio::test]
async fn a_duplicate_session_in_one_feed_keeps_the_last() {
    let db = TestDb::with_schools().await;
    let twice = feed(
        id(1),
        PRIMARY,
        "2025-09-08T16:00:00Z",
        vec![pupil(ANN), pupil(ANN)],
        vec![
            mark(ANN, "2025-09-08", 0, "N"),
            mark(ANN, "2025-09-08", 0, "I"),
        ],
    );
    assert_eq!(apply(&db, &twice).await, stats(1, 1));
    assert_eq!(
        counts_by_upn(&db.pool, Scope::School(PRIMARY), "2025-09-08", "2025-09-08").await,
        expect(&[(ANN, "I", 1)])
    );
    db.close().await;
}

#[tokio::test]
async fn a_mark_for_a_pupil_not_on_roll_stores_nothing() {
    let db = TestDb::with_schools().await;
    let mut bad = monday();
    bad.pupils.retain(|p| p.upn == upn(ANN));
    let err = rollcall_db::apply_validated_feed(&db.pool, &bad)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownPupil { marks: 2, .. }), "{err}");
    assert!(
        !err.to_string().contains(&upn_text(BEN)),
        "error names no pupil: {err}"
    );

    let empty = dump(&db.pool).await;
    assert_eq!(
        (empty.enrolments.len(), empty.marks.len(), empty.feeds.len()),
        (0, 0, 0)
    );
    db.close().await;
}

#[tokio::test]
async fn a_school_outside_the_registry_or_another_schools_feed_is_refused() {
    let db = TestDb::with_schools().await;
    let mut unknown = monday();
    unknown.school = rollcall_domain::Urn::new(999_999).unwrap();
    let err = rollcall_db::apply_validated_feed(&db.pool, &unknown)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::UnknownSchool { urn: 999_999 }),
        "{err}"
    );

    apply(&db, &monday()).await;
    let before = dump(&db.pool).await;
    let mut elsewhere = monday();
    elsewhere.school = rollcall_domain::Urn::new(INDEPENDENT as u32).unwrap();
    let err = rollcall_db::apply_validated_feed(&db.pool, &elsewhere)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::FeedSchoolMismatch {
                stored: PRIMARY,
                given: INDEPENDENT,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(dump(&db.pool).await, before);
    db.close().await;
}

#[tokio::test]
async fn schools_apply_concurrently() {
    let db = TestDb::with_schools().await;
    let school_feed = |n: u128, urn: i32| {
        let upns: Vec<String> = (0..50).map(|p| format!("S{urn}P{p:05}")).collect();
        let marks = upns
            .iter()
            .flat_map(|upn| {
                (8..13).flat_map(move |day| {
                    let day = format!("2025-09-{day:02}");
                    [mark(upn, &day, 0, "/"), mark(upn, &day, 1, "N")]
                })
            })
            .collect();
        feed(
            id(n),
            urn,
            "2025-09-12T16:00:00Z",
            upns.iter().map(|u| pupil(u)).collect(),
            marks,
        )
    };
    let feeds = [
        school_feed(1, PRIMARY),
        school_feed(2, INDEPENDENT),
        school_feed(3, BIRMINGHAM),
    ];
    // Each feed twice at once, as two aggregator instances might during a rebalance.
    let tasks: Vec<_> = feeds
        .iter()
        .chain(feeds.iter())
        .map(|f| {
            let pool = db.pool.clone();
            let f = f.clone();
            tokio::spawn(async move { rollcall_db::apply_validated_feed(&pool, &f).await })
        })
        .collect();
    let mut written = 0;
    for task in tasks {
        written += task.await.unwrap().unwrap().marks_written;
    }
    assert_eq!(written, 3 * 500);
    let counts = rollcall_db::pipeline_counts(&db.pool).await.unwrap();
    assert_eq!((counts.feeds_processed, counts.marks_stored), (3, 1500));
    db.close().await;
}

/// Times a 30,000-mark feed (1,500 pupils, 10 days): first write, replay, full correction.
#[tokio::test]
async fn a_thirty_thousand_mark_feed() {
    let db = TestDb::with_schools().await;
    let days: Vec<String> = [8, 9, 10, 11, 12, 15, 16, 17, 18, 19]
        .iter()
        .map(|d| format!("2025-09-{d:02}"))
        .collect();
    let upns: Vec<String> = (0..1500).map(|p| format!("B{p:012}")).collect();
    let big = |n: u128, at: &str, absent: &str| {
        let marks = upns
            .iter()
            .enumerate()
            .flat_map(|(p, upn)| {
                days.iter().flat_map(move |day| {
                    let code = if p % 10 == 0 { absent } else { "/" };
                    [mark(upn, day, 0, code), mark(upn, day, 1, code)]
                })
            })
            .collect::<Vec<_>>();
        feed(
            id(n),
            PRIMARY,
            at,
            upns.iter().map(|u| pupil(u)).collect(),
            marks,
        )
    };
    let first = big(1, "2025-09-19T16:00:00Z", "N");
    let correction = big(2, "2025-09-22T16:00:00Z", "I");
    assert_eq!(first.marks.len(), 30_000);

    let started = Instant::now();
    let stats = apply(&db, &first).await;
    let first_took = started.elapsed();
    assert_eq!(
        stats,
        ApplyStats {
            marks_written: 30_000,
            marks_superseded: 0
        }
    );

    let started = Instant::now();
    let stats = apply(&db, &first).await;
    let replay_took = started.elapsed();
    assert_eq!(
        stats,
        ApplyStats {
            marks_written: 0,
            marks_superseded: 30_000
        }
    );

    let started = Instant::now();
    let stats = apply(&db, &correction).await;
    let correction_took = started.elapsed();
    assert_eq!(
        stats,
        ApplyStats {
            marks_written: 30_000,
            marks_superseded: 0
        }
    );

    println!(
        "apply 30000-mark feed: first {first_took:.2?}, replay {replay_took:.2?}, \
         newer version {correction_took:.2?}"
    );
    let counts = rollcall_db::enrolment_code_counts(
        &db.pool,
        &everyone(),
        Scope::School(PRIMARY),
        date("2025-09-08"),
        date("2025-09-19"),
    )
    .await
    .unwrap();
    let sessions = |code: &str| -> i64 {
        counts
            .iter()
            .filter(|c| c.code == code)
            .map(|c| c.sessions)
            .sum()
    };
    assert_eq!(
        (sessions("/"), sessions("I"), sessions("N")),
        (27_000, 3_000, 0)
    );
    db.close().await;
}

#[tokio::test]
async fn every_connection_plans_each_statement_for_its_own_values() {
    // A generic plan cannot see how many rows a bound array carries; see `rollcall_db::connect`.
    let db = TestDb::new().await;
    for _ in 0..3 {
        let mode: String = sqlx::query_scalar("select current_setting('plan_cache_mode')")
            .fetch_one(db.pool.pg())
            .await
            .unwrap();
        assert_eq!(mode, "force_custom_plan");
    }
    db.close().await;
}
