//! School replays: the preview applies a school's feeds again and keeps nothing; a replayed
//! feed is applied though processed, only what it newly carries is written, its receipt keeps
//! the first outcome, and a redelivery counts once.

use rollcall_db::{Counts, ReplayFeed};
use rollcall_domain::feed::ValidatedFeed;

use crate::common::*;

const ANN: &str = "A000000000001";
const BEN: &str = "A000000000002";

/// Monday's feed as first validated: Ben's record was rejected, so only Ann's marks came.
fn first() -> ValidatedFeed {
    let mut feed = feed(
        id(1),
        PRIMARY,
        "2025-09-08T16:00:00Z",
        vec![pupil(ANN)],
        vec![
            mark(ANN, "2025-09-08", 0, "/"),
            mark(ANN, "2025-09-08", 1, "/"),
        ],
    );
    feed.outcome.summary.roll_rejected = 1;
    feed.outcome.summary.marks_rejected = 2;
    feed
}

/// The same feed validated again once what rejected Ben is fixed, as replay `replay`.
fn revalidated(replay: i64) -> ValidatedFeed {
    let mut feed = feed(
        id(1),
        PRIMARY,
        "2025-09-08T16:00:00Z",
        vec![pupil(ANN), pupil(BEN)],
        vec![
            mark(ANN, "2025-09-08", 0, "/"),
            mark(ANN, "2025-09-08", 1, "/"),
            mark(BEN, "2025-09-08", 0, "/"),
            mark(BEN, "2025-09-08", 1, "I"),
        ],
    );
    feed.replay = Some(replay);
    feed
}

fn read_back(feeds: &[ReplayFeed]) -> &ReplayFeed {
    assert_eq!(feeds.len(), 1);
    &feeds[0]
}

#[tokio::test]
async fn a_preview_counts_what_would_change_and_keeps_nothing() {
    let db = TestDb::with_schools().await;
    rollcall_db::apply_validated_feed(&db.pool, &first())
        .await
        .unwrap();
    let id = rollcall_db::request_school_replay(&db.pool, PRIMARY, None, true)
        .await
        .unwrap();
    let task = rollcall_db::take_school_replay(&db.pool)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (task.id, task.school_urn, task.dry_run),
        (id, PRIMARY, true)
    );
    assert_eq!(
        rollcall_db::take_school_replay(&db.pool).await.unwrap(),
        None,
        "taken once"
    );

    let feeds = rollcall_db::replay_feeds(&db.pool, PRIMARY, None)
        .await
        .unwrap();
    let feed = read_back(&feeds);
    assert_eq!(feed.feed_id, id_of_first());
    // Applied straight from the aggregator here: no topic position was recorded.
    assert_eq!(feed.position, None);
    assert_eq!(
        feed.before,
        Counts {
            roll_accepted: 1,
            roll_rejected: 1,
            marks_accepted: 2,
            marks_rejected: 2,
        }
    );

    let before = dump(&db.pool).await;
    let mut preview = rollcall_db::Preview::begin(&db.pool, PRIMARY)
        .await
        .unwrap();
    preview
        .apply(&db.pool, feed, &revalidated(id))
        .await
        .unwrap();
    let changes = preview.finish(&db.pool).await.unwrap();
    // Every row as it was. Only the enrolment identity has moved on: a sequence is not rolled
    // back (PostgreSQL's rule), so a later enrolment's id skips the values the preview drew.
    let after = dump(&db.pool).await;
    assert_eq!(
        (after.enrolments, after.marks, after.feeds),
        (before.enrolments, before.marks, before.feeds),
        "a preview keeps nothing"
    );
    assert_eq!(changes.marks_written, 2);
    assert_eq!(changes.enrolments_added, 1);
    assert_eq!(changes.enrolments_changed, 0);
    assert_eq!(
        changes.sessions_by_code.into_iter().collect::<Vec<_>>(),
        [("/".to_owned(), 1), ("I".to_owned(), 1)]
    );
    assert_eq!(changes.feeds[0].after.marks_accepted, 4);
    assert_eq!(changes.feeds[0].refused, None);

    rollcall_db::finish_school_replay(&db.pool, id, 1, 1, &rollcall_db::ReplayChanges::default())
        .await
        .unwrap();
    let row = rollcall_db::get_school_replay(&db.pool, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.status.as_str(), row.feeds_gone, row.feeds_applied),
        ("done", 0, 0)
    );
    db.close().await;
}

#[tokio::test]
async fn a_replayed_feed_writes_only_what_it_newly_carries_once_however_often_delivered() {
    let db = TestDb::with_schools().await;
    rollcall_db::apply_validated_feed(&db.pool, &first())
        .await
        .unwrap();
    let id = rollcall_db::request_school_replay(&db.pool, PRIMARY, None, false)
        .await
        .unwrap();
    // Without the replay's mark, a processed feed is not applied again.
    let mut plain = revalidated(id);
    plain.replay = None;
    let skipped = rollcall_db::apply_validated_feed(&db.pool, &plain)
        .await
        .unwrap();
    assert_eq!(skipped.marks_written, 0);

    let applied = rollcall_db::apply_validated_feed(&db.pool, &revalidated(id))
        .await
        .unwrap();
    assert_eq!((applied.marks_written, applied.marks_superseded), (2, 2));
    let stored = dump(&db.pool).await;
    assert_eq!(stored.enrolments.len(), 2);
    // Delivered again (the aggregator restarted before committing): nothing more.
    let again = rollcall_db::apply_validated_feed(&db.pool, &revalidated(id))
        .await
        .unwrap();
    assert_eq!(again.marks_written, 0);
    assert_eq!(dump(&db.pool).await, stored);
    let row = rollcall_db::get_school_replay(&db.pool, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.feeds_applied, 1);
    // The receipt is what the sender was answered.
    let receipt = rollcall_db::get_feed(&db.pool, id_of_first())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(receipt.marks_accepted, Some(2));
    assert_eq!(receipt.marks_rejected, Some(2));
    db.close().await;
}

fn id_of_first() -> uuid::Uuid {
    id(1)
}
