//! Several feeds in one transaction: the tables end exactly as after applying the same feeds one
//! by one, a failure stores nothing of the batch, and two writers locking overlapping schools do
//! not deadlock.

use rollcall_db::{Error, Pool};
use rollcall_domain::feed::ValidatedFeed;

use crate::common::*;

/// Three schools' feeds; each school's second feed corrects part of its first and adds a day.
/// The order interleaves the schools, keeping each school's feeds in order.
fn feeds() -> Vec<ValidatedFeed> {
    let mut feeds = Vec::new();
    for (n, school) in [PRIMARY, INDEPENDENT, BIRMINGHAM].into_iter().enumerate() {
        let upns: Vec<String> = (0..4).map(|p| format!("A{:012}", n * 100 + p)).collect();
        let first = upns
            .iter()
            .flat_map(|u| {
                [
                    mark(u, "2025-09-08", 0, "N"),
                    mark(u, "2025-09-08", 1, "/"),
                    mark(u, "2025-09-30", 1, "L"),
                ]
            })
            .collect();
        let second = upns
            .iter()
            .flat_map(|u| {
                [
                    mark(u, "2025-09-08", 0, "I"),
                    mark(u, "2025-10-01", 0, "/"),
                    mark(u, "2025-10-01", 1, "O"),
                ]
            })
            .collect();
        let pupils = || upns.iter().map(|u| pupil(u)).collect::<Vec<_>>();
        feeds.push(feed(
            id(10 + n as u128),
            school,
            "2025-09-30T16:00:00Z",
            pupils(),
            first,
        ));
        feeds.push(feed(
            id(20 + n as u128),
            school,
            "2025-10-01T16:00:00Z",
            pupils(),
            second,
        ));
    }
    // PRIMARY 1, INDEPENDENT 1, PRIMARY 2, BIRMINGHAM 1, INDEPENDENT 2, BIRMINGHAM 2.
    vec![
        feeds[0].clone(),
        feeds[2].clone(),
        feeds[1].clone(),
        feeds[4].clone(),
        feeds[3].clone(),
        feeds[5].clone(),
    ]
}

/// Every row a feed writes, feeds without their clock times.
async fn tables(pool: &Pool) -> Vec<String> {
    sqlx::query_scalar(
        "select 'e' || t::text from enrolments t
         union all select 'r' || t::text from register t
         union all select 't' || t::text from enrolment_totals t
         union all select 's' || t::text from school_totals t
         union all
         select 'f' || row(feed_id, school_urn, status, seq, recorded_at, roll_accepted,
                           marks_accepted, marks_written, marks_superseded, findings)::text
         from feeds
         order by 1",
    )
    .fetch_all(pool.pg())
    .await
    .unwrap()
}

#[tokio::test]
async fn a_batch_of_several_schools_lands_as_one_by_one() {
    let one_by_one = TestDb::with_schools().await;
    let batched = TestDb::with_schools().await;
    let feeds = feeds();
    let mut want = Vec::new();
    for f in &feeds {
        want.push(
            rollcall_db::apply_validated_feed(&one_by_one.pool, f)
                .await
                .unwrap(),
        );
    }
    let got = rollcall_db::apply_validated_feeds(&batched.pool, &feeds)
        .await
        .unwrap();
    assert_eq!(got, want, "each feed's stats, in order");
    assert!(
        want.iter()
            .any(|s| s.marks_superseded == 0 && s.marks_written > 0)
    );
    let tables_after = tables(&batched.pool).await;
    assert_eq!(tables_after, tables(&one_by_one.pool).await);

    // Applied in one transaction: one processing time for the whole batch.
    let mut times = Vec::new();
    for f in &feeds {
        let row = rollcall_db::get_feed(&batched.pool, f.feed_id)
            .await
            .unwrap()
            .unwrap();
        times.push(row.processed_at.unwrap());
    }
    times.dedup();
    assert_eq!(times.len(), 1);

    // Redelivered, whole or in part, the batch changes nothing.
    rollcall_db::apply_validated_feeds(&batched.pool, &feeds[2..])
        .await
        .unwrap();
    rollcall_db::apply_validated_feeds(&batched.pool, &feeds)
        .await
        .unwrap();
    assert_eq!(tables(&batched.pool).await, tables_after);
    one_by_one.close().await;
    batched.close().await;
}

#[tokio::test]
async fn a_failed_feed_stores_nothing_of_its_batch() {
    let db = TestDb::with_schools().await;
    let mut feeds = feeds();
    let before = tables(&db.pool).await;
    // The fourth feed names a pupil its school's roll does not have.
    feeds[3]
        .marks
        .push(mark("Z999999999999", "2025-09-08", 0, "/"));
    let err = rollcall_db::apply_validated_feeds(&db.pool, &feeds)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownPupil { marks: 1, .. }), "{err}");
    assert_eq!(tables(&db.pool).await, before);
    db.close().await;
}

#[tokio::test]
async fn writers_with_overlapping_batches_do_not_deadlock() {
    let db = TestDb::with_schools().await;
    let feeds = feeds();
    // Each writer's batch names the schools in the opposite order to the other's.
    let forward = feeds.clone();
    let backward: Vec<ValidatedFeed> = {
        let mut b = feeds.clone();
        b.sort_by_key(|f| std::cmp::Reverse(f.school));
        b
    };
    let (a, b) = tokio::join!(
        rollcall_db::apply_validated_feeds(&db.pool, &forward),
        rollcall_db::apply_validated_feeds(&db.pool, &backward),
    );
    a.unwrap();
    b.unwrap();
    let one_by_one = TestDb::with_schools().await;
    for f in &feeds {
        rollcall_db::apply_validated_feed(&one_by_one.pool, f)
            .await
            .unwrap();
    }
    let totals = |pool: Pool| async move {
        sqlx::query_scalar::<_, String>(
            // Not enrolment_totals: which writer went first decides the enrolment ids.
            "select t::text from school_totals t order by 1",
        )
        .fetch_all(pool.pg())
        .await
        .unwrap()
    };
    assert_eq!(
        totals(db.pool.clone()).await,
        totals(one_by_one.pool.clone()).await
    );
    db.close().await;
    one_by_one.close().await;
}
