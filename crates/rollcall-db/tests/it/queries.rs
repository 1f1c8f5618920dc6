//! Registry upserts and LA queries, with exact numbers.

use rollcall_db::{CodeRow, School, Scope};

use crate::common::*;

#[tokio::test]
async fn schools_upsert_by_urn_and_list_by_la() {
    let db = TestDb::new().await;
    assert_eq!(
        rollcall_db::upsert_schools(&db.pool, &schools())
            .await
            .unwrap(),
        3
    );
    // Unchanged rows are not rewritten; a changed one is.
    assert_eq!(
        rollcall_db::upsert_schools(&db.pool, &schools())
            .await
            .unwrap(),
        0
    );
    let mut renamed = schools();
    renamed[1].name = "Arden House School".to_owned();
    assert_eq!(
        rollcall_db::upsert_schools(&db.pool, &renamed)
            .await
            .unwrap(),
        1
    );
    assert_eq!(rollcall_db::upsert_schools(&db.pool, &[]).await.unwrap(), 0);

    let warwickshire = rollcall_db::list_schools(&db.pool, &everyone(), Some(937))
        .await
        .unwrap();
    assert_eq!(warwickshire, renamed[..2].to_vec());
    assert_eq!(
        rollcall_db::list_schools(&db.pool, &everyone(), None)
            .await
            .unwrap(),
        renamed
    );
    assert_eq!(
        rollcall_db::list_schools(&db.pool, &everyone(), Some(1))
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(
        rollcall_db::get_school(&db.pool, INDEPENDENT)
            .await
            .unwrap(),
        Some(renamed[1].clone())
    );
    assert_eq!(rollcall_db::get_school(&db.pool, 1).await.unwrap(), None);

    // The same URN twice in one batch: the last wins.
    let twice = [
        School {
            name: "First".to_owned(),
            ..renamed[0].clone()
        },
        School {
            name: "Second".to_owned(),
            ..renamed[0].clone()
        },
    ];
    assert_eq!(
        rollcall_db::upsert_schools(&db.pool, &twice).await.unwrap(),
        1
    );
    let stored = rollcall_db::get_school(&db.pool, PRIMARY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.name, "Second");

    let bad_phase = School {
        phase: "Primary".to_owned(),
        ..renamed[0].clone()
    };
    assert!(
        rollcall_db::upsert_schools(&db.pool, &[bad_phase])
            .await
            .is_err()
    );
    db.close().await;
}

#[tokio::test]
async fn codes_sync_keeps_every_id_once_given() {
    let db = TestDb::new().await;
    let code = |code: &str, category: &str, possible| CodeRow {
        code: code.to_owned(),
        category: category.to_owned(),
        counts_as_possible: possible,
    };
    let stored = |pool: rollcall_db::Pool| async move {
        sqlx::query_as::<_, (i16, String, String, bool)>(
            "select id, code, category, counts_as_possible from attendance_codes order by id",
        )
        .fetch_all(pool.pg())
        .await
        .unwrap()
    };
    let row = |id: i16, code: &str, category: &str, possible| {
        (id, code.to_owned(), category.to_owned(), possible)
    };
    let first = vec![
        code("/", "present", true),
        code("J", "aea", true),
        code("X", "not_possible", false),
    ];
    rollcall_db::sync_codes(&db.pool, &first).await.unwrap();
    assert_eq!(
        stored(db.pool.clone()).await,
        vec![
            row(1, "/", "present", true),
            row(2, "J", "aea", true),
            row(3, "X", "not_possible", false),
        ]
    );

    // A category changes and a code is added at the next id; a code left out keeps its row,
    // since stored registers may hold its id.
    let second = vec![
        code("N", "unauthorised", true),
        code("/", "present", true),
        code("J", "authorised", true),
    ];
    rollcall_db::sync_codes(&db.pool, &second).await.unwrap();
    rollcall_db::sync_codes(&db.pool, &second).await.unwrap();
    assert_eq!(
        stored(db.pool.clone()).await,
        vec![
            row(1, "/", "present", true),
            row(2, "J", "authorised", true),
            row(3, "X", "not_possible", false),
            row(4, "N", "unauthorised", true),
        ]
    );
    db.close().await;
}

/// Two Warwickshire schools and one Birmingham school over a week and a day.
pub(crate) async fn la_fixture(db: &TestDb) {
    let week = [
        "2025-09-08",
        "2025-09-09",
        "2025-09-10",
        "2025-09-11",
        "2025-09-12",
    ];
    let daily = |upn: &str, codes: [&str; 5]| {
        week.iter()
            .zip(codes)
            .flat_map(|(day, code)| [mark(upn, day, 0, code), mark(upn, day, 1, code)])
            .collect::<Vec<_>>()
    };
    let primary = feed(
        id(1),
        PRIMARY,
        "2025-09-12T16:00:00Z",
        vec![pupil("P1"), pupil("P2")],
        [
            daily("P1", ["/", "/", "N", "I", "/"]),
            daily("P2", ["L", "/", "/", "/", "/"]),
            vec![
                mark("P1", "2025-09-15", 0, "/"),
                mark("P1", "2025-09-15", 1, "C2"),
            ],
        ]
        .concat(),
    );
    let independent = feed(
        id(2),
        INDEPENDENT,
        "2025-09-12T17:00:00Z",
        vec![pupil("I1")],
        daily("I1", ["U", "/", "/", "X", "X"]),
    );
    let birmingham = feed(
        id(3),
        BIRMINGHAM,
        "2025-09-12T18:00:00Z",
        vec![pupil("B1"), pupil("B2")],
        [
            daily("B1", ["/", "/", "/", "/", "/"]),
            daily("B2", ["G", "G", "/", "/", "/"]),
        ]
        .concat(),
    );
    for f in [primary, independent, birmingham] {
        rollcall_db::apply_validated_feed(&db.pool, &f)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn code_counts_per_la_and_school() {
    let db = TestDb::with_schools().await;
    la_fixture(&db).await;

    let warwickshire = expect(&[
        ("P1", "/", 7),
        ("P1", "C2", 1),
        ("P1", "I", 2),
        ("P1", "N", 2),
        ("P2", "/", 8),
        ("P2", "L", 2),
        ("I1", "/", 4),
        ("I1", "U", 2),
        ("I1", "X", 4),
    ]);
    assert_eq!(
        counts_by_upn(&db.pool, Scope::La(937), "2025-09-01", "2025-09-30").await,
        warwickshire
    );
    assert_eq!(
        counts_by_upn(&db.pool, Scope::La(330), "2025-09-01", "2025-09-30").await,
        expect(&[("B1", "/", 10), ("B2", "/", 6), ("B2", "G", 4)])
    );
    assert_eq!(
        counts_by_upn(
            &db.pool,
            Scope::School(INDEPENDENT),
            "2025-09-01",
            "2025-09-30"
        )
        .await,
        expect(&[("I1", "/", 4), ("I1", "U", 2), ("I1", "X", 4)])
    );
    // Both ends of the period count; days outside it do not.
    assert_eq!(
        counts_by_upn(&db.pool, Scope::School(PRIMARY), "2025-09-10", "2025-09-11").await,
        expect(&[("P1", "I", 2), ("P1", "N", 2), ("P2", "/", 4)])
    );
    assert_eq!(
        counts_by_upn(&db.pool, Scope::School(PRIMARY), "2025-09-15", "2025-09-15").await,
        expect(&[("P1", "/", 1), ("P1", "C2", 1)])
    );
    assert!(
        counts_by_upn(&db.pool, Scope::La(937), "2025-09-16", "2025-09-30")
            .await
            .is_empty()
    );
    assert!(
        counts_by_upn(&db.pool, Scope::La(1), "2025-09-01", "2025-09-30")
            .await
            .is_empty()
    );

    // Rows come ordered by enrolment then code, each tagged with its school.
    let rows = rollcall_db::enrolment_code_counts(
        &db.pool,
        &everyone(),
        Scope::La(937),
        date("2025-09-01"),
        date("2025-09-30"),
    )
    .await
    .unwrap();
    let keys: Vec<_> = rows
        .iter()
        .map(|r| (r.enrolment_id, r.code.clone()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    let independent: i64 = rows
        .iter()
        .filter(|r| r.school_urn == INDEPENDENT)
        .map(|r| r.sessions)
        .sum();
    assert_eq!(independent, 10);
    db.close().await;
}

#[tokio::test]
async fn enrolments_by_id_and_per_school() {
    let db = TestDb::with_schools().await;
    assert_eq!(
        rollcall_db::school_enrolment_counts(&db.pool, &everyone(), Scope::La(937))
            .await
            .unwrap(),
        vec![(PRIMARY, 0), (INDEPENDENT, 0)]
    );
    la_fixture(&db).await;

    assert_eq!(
        rollcall_db::school_enrolment_counts(&db.pool, &everyone(), Scope::La(937))
            .await
            .unwrap(),
        vec![(PRIMARY, 2), (INDEPENDENT, 1)]
    );
    assert_eq!(
        rollcall_db::school_enrolment_counts(&db.pool, &everyone(), Scope::School(BIRMINGHAM))
            .await
            .unwrap(),
        vec![(BIRMINGHAM, 2)]
    );
    assert_eq!(
        rollcall_db::school_enrolment_counts(&db.pool, &everyone(), Scope::School(1))
            .await
            .unwrap(),
        vec![]
    );

    let ids: Vec<i64> = sqlx::query_scalar("select id from enrolments order by id desc")
        .fetch_all(db.pool.pg())
        .await
        .unwrap();
    let mut asked = ids.clone();
    asked.push(-1);
    let mut found = rollcall_db::enrolments_by_id(&db.pool, &pupils_of(Scope::La(937)), &asked)
        .await
        .unwrap();
    found.extend(
        rollcall_db::enrolments_by_id(&db.pool, &pupils_of(Scope::La(330)), &asked)
            .await
            .unwrap(),
    );
    found.sort_by_key(|e| e.id);
    let mut ascending = ids;
    ascending.sort();
    assert_eq!(found.iter().map(|e| e.id).collect::<Vec<_>>(), ascending);
    let b2 = found.iter().find(|e| e.upn == upn_text("B2")).unwrap();
    let expected = pupil("B2");
    assert_eq!(b2.school_urn, BIRMINGHAM);
    assert_eq!(b2.surname.as_deref(), Some(expected.surname.as_str()));
    assert_eq!(b2.date_of_birth, Some(expected.date_of_birth));
    assert_eq!(
        b2.year_group.as_deref(),
        expected.year_group.map(|y| y.as_str())
    );
    assert_eq!(b2.admission_date, Some(expected.admission_date));
    assert_eq!((b2.fsm, b2.looked_after), (Some(false), Some(false)));
    assert_eq!(b2.ethnicity.as_deref(), Some("WBRI"));
    assert!(
        rollcall_db::enrolments_by_id(&db.pool, &pupils_of(Scope::La(937)), &[])
            .await
            .unwrap()
            .is_empty()
    );
    db.close().await;
}
