//! Code ids are read once per pool and read again only when a code or an id the pool's book
//! lacks is met: codes numbered by another process are picked up by readers and writers alike.

use rollcall_db::{Pool, Scope};
use rollcall_domain::codes;
use uuid::Uuid;

use crate::common::*;

const UPN: &str = "A000000000021";

async fn totals_dump(pool: &Pool) -> Vec<String> {
    sqlx::query_scalar(
        "select 'e' || t::text from enrolment_totals t
         union all
         select 's' || t::text from school_totals t
         order by 1",
    )
    .fetch_all(pool.pg())
    .await
    .unwrap()
}

async fn count(pool: &Pool, code: &str) -> u64 {
    let totals = rollcall_db::school_year_totals(pool, &everyone(), Scope::School(PRIMARY), 2025)
        .await
        .unwrap();
    totals[0].counters.count(codes::get(code).unwrap())
}

#[tokio::test]
async fn codes_numbered_by_another_process_are_read_when_first_met() {
    let db = TestDb::with_schools().await;
    // Two processes that start while only "/" and "I" are numbered, and read (caching that).
    let present_and_illness: Vec<_> = rollcall_db::domain_codes()
        .into_iter()
        .filter(|c| c.code == "/" || c.code == "I")
        .collect();
    rollcall_db::sync_codes(&db.pool, &present_and_illness)
        .await
        .unwrap();
    let reader = db.pool.clone();
    let writer = rollcall_db::connect(&db.url, 2).await.unwrap();
    for pool in [&reader, &writer] {
        let totals =
            rollcall_db::school_year_totals(pool, &everyone(), Scope::School(PRIMARY), 2025)
                .await
                .unwrap();
        assert!(totals.is_empty());
    }

    // A third process numbers every code and stores unauthorised absence ("N").
    let other = rollcall_db::connect(&db.url, 2).await.unwrap();
    let first = feed(
        Uuid::from_u128(1),
        PRIMARY,
        "2025-09-09T16:00:00Z",
        vec![pupil(UPN)],
        vec![
            mark(UPN, "2025-09-08", 0, "/"),
            mark(UPN, "2025-09-08", 1, "N"),
            mark(UPN, "2025-09-09", 0, "N"),
            mark(UPN, "2025-09-09", 1, "I"),
        ],
    );
    rollcall_db::apply_validated_feed(&other, &first)
        .await
        .unwrap();

    // The writer's book lacks N, which the pupil's stored totals now hold: its next feed (only
    // codes it knows) still moves them right.
    let second = feed(
        Uuid::from_u128(2),
        PRIMARY,
        "2025-09-10T16:00:00Z",
        vec![pupil(UPN)],
        vec![
            mark(UPN, "2025-09-10", 0, "/"),
            mark(UPN, "2025-09-10", 1, "/"),
        ],
    );
    rollcall_db::apply_validated_feed(&writer, &second)
        .await
        .unwrap();
    // The reader's book lacks N and O: a feed carrying O, then reads of N and O.
    let third = feed(
        Uuid::from_u128(3),
        PRIMARY,
        "2025-09-11T16:00:00Z",
        vec![pupil(UPN)],
        vec![mark(UPN, "2025-09-11", 0, "O")],
    );
    rollcall_db::apply_validated_feed(&reader, &third)
        .await
        .unwrap();
    assert_eq!(count(&reader, "N").await, 2);
    assert_eq!(count(&reader, "O").await, 1);
    assert_eq!(count(&reader, "/").await, 3);
    assert_eq!(
        counts_by_upn(&reader, Scope::School(PRIMARY), "2025-09-01", "2025-09-30").await,
        expect(&[(UPN, "/", 3), (UPN, "I", 1), (UPN, "N", 2), (UPN, "O", 1)])
    );
    let at_risk = rollcall_db::at_risk_year(
        &reader,
        &pupils_of(Scope::School(PRIMARY)),
        Scope::School(PRIMARY),
        2025,
        false,
        EVERY_ROW,
    )
    .await
    .unwrap();
    assert_eq!(at_risk.rows.len(), 1);
    assert_eq!(at_risk.rows[0].counters.overall_absence(), 4);
    // Incremental totals from three books of different ages equal a recount.
    let kept = totals_dump(&db.pool).await;
    rollcall_db::rebuild_school_totals(&other, PRIMARY)
        .await
        .unwrap();
    assert_eq!(totals_dump(&db.pool).await, kept);

    // Once read, the book is not read per call: with the table emptied behind its back (which
    // Rollcall never does), the reader still decodes, while a new pool cannot.
    sqlx::query("delete from attendance_codes")
        .execute(other.pg())
        .await
        .unwrap();
    assert_eq!(count(&reader, "N").await, 2);
    let fresh = rollcall_db::connect(&db.url, 1).await.unwrap();
    let err = rollcall_db::school_year_totals(&fresh, &everyone(), Scope::School(PRIMARY), 2025)
        .await
        .unwrap_err();
    assert!(
        matches!(err, rollcall_db::Error::UnknownCode { .. }),
        "{err}"
    );

    for pool in [writer, other, fresh] {
        pool.close().await;
    }
    db.close().await;
}
