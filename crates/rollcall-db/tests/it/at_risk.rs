//! The at-risk list over an academic year: pages in the order shown (worst overall absence rate
//! first, then school, then enrolment) read from the stored rate and its index.

use std::collections::BTreeMap;

use rollcall_db::{Page, Scope};
use rollcall_domain::{Counters, codes};
use uuid::Uuid;

use crate::common::*;

/// Ten sessions (five days, AM and PM) per pupil, `absent` of them unauthorised absence.
fn marks_for(upn: &str, absent: usize) -> Vec<rollcall_domain::validation::Mark> {
    let days = [
        "2025-09-08",
        "2025-09-09",
        "2025-09-10",
        "2025-09-11",
        "2025-09-12",
    ];
    (0..10)
        .map(|n| {
            let code = if n < absent { "N" } else { "/" };
            mark(upn, days[n / 2], (n % 2) as i16, code)
        })
        .collect()
}

/// Per school, pupils absent for 0 to 10 of 10 sessions, some rates twice in one school and
/// every rate in both of the LA's schools, so ties are broken by school and then enrolment.
fn absences() -> Vec<(i32, String, usize)> {
    let mut pupils = Vec::new();
    for (school, prefix) in [(PRIMARY, "A"), (INDEPENDENT, "B"), (BIRMINGHAM, "C")] {
        for absent in 0..=10usize {
            pupils.push((school, format!("{prefix}{absent:012}"), absent));
            if absent % 3 == 0 {
                pupils.push((school, format!("{prefix}{:012}", 100 + absent), absent));
            }
        }
    }
    pupils
}

async fn load(db: &TestDb) {
    for (n, school) in [PRIMARY, INDEPENDENT, BIRMINGHAM].into_iter().enumerate() {
        let pupils: Vec<(String, usize)> = absences()
            .into_iter()
            .filter(|(s, _, _)| *s == school)
            .map(|(_, upn, absent)| (upn, absent))
            .collect();
        let f = feed(
            Uuid::from_u128(n as u128 + 1),
            school,
            "2025-09-12T16:00:00Z",
            pupils.iter().map(|(upn, _)| pupil(upn)).collect(),
            pupils
                .iter()
                .flat_map(|(upn, absent)| marks_for(upn, *absent))
                .collect(),
        );
        rollcall_db::apply_validated_feed(&db.pool, &f)
            .await
            .expect("apply feed");
    }
}

/// Enrolment ids by UPN.
/// Each fixture pupil's enrolment id, by the pupil's name in `absences`.
async fn ids(db: &TestDb) -> BTreeMap<String, i64> {
    let rows: Vec<(String, i64)> = sqlx::query_as("select upn, id from enrolments")
        .fetch_all(db.pool.pg())
        .await
        .unwrap();
    let stored: BTreeMap<String, i64> = rows.into_iter().collect();
    absences()
        .into_iter()
        .map(|(_, name, _)| {
            let id = stored[&upn_text(&name)];
            (name, id)
        })
        .collect()
}

/// The at-risk list of `schools` as the query service has always ordered it, from the counters
/// each pupil's marks make: `(enrolment id, school)`.
fn expected_order(ids: &BTreeMap<String, i64>, schools: &[i32], severe_only: bool) -> Vec<i64> {
    let mut at_risk: Vec<(f64, i32, i64)> = Vec::new();
    for (school, upn, absent) in absences() {
        if !schools.contains(&school) {
            continue;
        }
        let mut c = Counters::default();
        c.add(codes::get("N").unwrap(), absent as u64);
        c.add(codes::get("/").unwrap(), 10 - absent as u64);
        let listed = if severe_only {
            c.is_severe()
        } else {
            c.is_persistent()
        };
        if listed {
            let rate = c.overall_absence_rate().unwrap().percent();
            at_risk.push((rate, school, ids[&upn]));
        }
    }
    at_risk.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| a.1.cmp(&b.1))
            .then_with(|| a.2.cmp(&b.2))
    });
    at_risk.into_iter().map(|(_, _, id)| id).collect()
}

/// Every page of `size`, token by token as the query service pages, each checked for size and
/// for saying whether another follows.
async fn page_through(db: &TestDb, scope: Scope, severe_only: bool, size: u32) -> Vec<(i64, i32)> {
    let access = pupils_of(scope);
    let mut listed = Vec::new();
    let mut offset = 0;
    loop {
        let page = rollcall_db::at_risk_year(
            &db.pool,
            &access,
            scope,
            2025,
            severe_only,
            Page { offset, size },
        )
        .await
        .unwrap();
        assert!(page.rows.len() <= size as usize);
        listed.extend(page.rows.iter().map(|e| (e.enrolment_id, e.school_urn)));
        if !page.more {
            break;
        }
        assert_eq!(
            page.rows.len(),
            size as usize,
            "only the last page is short"
        );
        offset += size as u64;
    }
    listed
}

#[tokio::test]
async fn at_risk_pages_are_worst_first_then_school_then_enrolment() {
    let db = TestDb::with_schools().await;
    load(&db).await;
    let ids = ids(&db).await;
    let school_of: BTreeMap<i64, i32> = absences()
        .into_iter()
        .map(|(school, upn, _)| (ids[&upn], school))
        .collect();

    for severe_only in [false, true] {
        let want = expected_order(&ids, &[PRIMARY, INDEPENDENT], severe_only);
        assert!(want.len() > 10, "the fixture has a list worth paging");
        for size in [1, 3, 7, 500] {
            let got = page_through(&db, Scope::La(937), severe_only, size).await;
            let got_ids: Vec<i64> = got.iter().map(|(id, _)| *id).collect();
            assert_eq!(
                got_ids, want,
                "la 937, pages of {size}, severe only {severe_only}"
            );
            assert!(got.iter().all(|(id, school)| school_of[id] == *school));
        }
        let want = expected_order(&ids, &[BIRMINGHAM], severe_only);
        let got: Vec<i64> = page_through(&db, Scope::School(BIRMINGHAM), severe_only, 4)
            .await
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(got, want, "one school, severe only {severe_only}");
    }

    // A page past the end is empty and the last; another LA's user reads nothing of LA 937.
    let past = rollcall_db::at_risk_year(
        &db.pool,
        &pupils_of(Scope::La(937)),
        Scope::La(937),
        2025,
        false,
        Page {
            offset: 1000,
            size: 10,
        },
    )
    .await
    .unwrap();
    assert!(past.rows.is_empty() && !past.more);
    let other = rollcall_db::at_risk_year(
        &db.pool,
        &pupils_of(Scope::La(330)),
        Scope::La(937),
        2025,
        false,
        EVERY_ROW,
    )
    .await
    .unwrap();
    assert!(other.rows.is_empty() && !other.more);
    db.close().await;
}

#[tokio::test]
async fn an_la_page_is_read_from_the_index_in_order_without_a_sort() {
    let db = TestDb::with_schools().await;
    load(&db).await;
    // An LA-sized year: 30,000 enrolments of LA 937, a fifth of them at risk at assorted rates.
    // The schools' statistics are the import's own (`upsert_schools` gathers them).
    sqlx::raw_sql(
        "insert into enrolment_totals (enrolment_id, academic_year, school_urn, sessions, risk,
                                       absence_rate)
         select 1000000 + n, 2025, case when n % 2 = 0 then 100001 else 100002 end, '{1}',
                case when n % 5 = 0 then 1 + (n % 2) else 0 end,
                case when n % 5 = 0 then 10 + (n * 7919 % 9000) / 100.0 end
         from generate_series(1, 30000) as n;
         analyze enrolment_totals;",
    )
    .execute(db.pool.pg())
    .await
    .unwrap();
    let access = pupils_of(Scope::La(937));
    for offset in [0, 500] {
        let plan = rollcall_db::bench::at_risk_year_plan(
            &db.pool,
            access.schools(),
            Scope::La(937),
            2025,
            false,
            Page { offset, size: 500 },
        )
        .await
        .unwrap();
        assert!(
            plan.contains("enrolment_totals_at_risk_order"),
            "offset {offset}: {plan}"
        );
        assert!(!plan.contains("Sort"), "offset {offset}: {plan}");
    }
    db.close().await;
}

#[tokio::test]
async fn migration_0005_fills_the_rate_of_totals_stored_before_it() {
    let db = TestDb::empty().await;
    // The schema as it was before 0005, recorded as the migrator records it.
    let dir = std::env::temp_dir().join(format!("rollcall-migration-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, sql) in [
        (
            "0001_initial.sql",
            include_str!("../../migrations/0001_initial.sql"),
        ),
        (
            "0002_register.sql",
            include_str!("../../migrations/0002_register.sql"),
        ),
        (
            "0003_security.sql",
            include_str!("../../migrations/0003_security.sql"),
        ),
        (
            "0004_fillfactor.sql",
            include_str!("../../migrations/0004_fillfactor.sql"),
        ),
    ] {
        std::fs::write(dir.join(name), sql).unwrap();
    }
    sqlx::migrate::Migrator::new(dir.as_path())
        .await
        .unwrap()
        .run(db.pool.pg())
        .await
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    rollcall_db::upsert_schools(&db.pool, &schools())
        .await
        .unwrap();
    rollcall_db::sync_codes(&db.pool, &rollcall_db::domain_codes())
        .await
        .unwrap();
    let code_ids: BTreeMap<String, i16> =
        sqlx::query_as::<_, (String, i16)>("select code, id from attendance_codes")
            .fetch_all(db.pool.pg())
            .await
            .unwrap()
            .into_iter()
            .collect();

    // Totals as the aggregator stored them before 0005: sessions per code id and the risk.
    let pupils: [&[(&str, u64)]; 5] = [
        &[("N", 3), ("/", 7)],
        &[("I", 6), ("/", 4), ("X", 5)],
        &[("/", 10)],
        &[("B", 1), ("N", 1), ("L", 8)],
        &[("O", 2), ("G", 1), ("/", 2)],
    ];
    let mut want = BTreeMap::new();
    for (n, pupil) in pupils.iter().enumerate() {
        let mut counters = Counters::default();
        let mut sessions = vec![0i32; 0];
        for &(code, count) in *pupil {
            counters.add(codes::get(code).unwrap(), count);
            let index = code_ids[code] as usize - 1;
            if sessions.len() <= index {
                sessions.resize(index + 1, 0);
            }
            sessions[index] += count as i32;
        }
        let risk: i16 = if counters.is_severe() {
            2
        } else if counters.is_persistent() {
            1
        } else {
            0
        };
        sqlx::query(
            "insert into enrolment_totals (enrolment_id, academic_year, school_urn, sessions, risk)
             values ($1, 2025, $2, $3, $4)",
        )
        .bind(n as i64 + 1)
        .bind(PRIMARY)
        .bind(&sessions)
        .bind(risk)
        .execute(db.pool.pg())
        .await
        .unwrap();
        let rate = (risk > 0).then(|| counters.overall_absence_rate().unwrap().percent());
        want.insert(n as i64 + 1, rate);
    }
    assert_eq!(
        want.values().filter(|r| r.is_some()).count(),
        4,
        "the fixture has four pupils at risk and one not"
    );

    rollcall_db::migrate(&db.pool).await.unwrap();
    let stored: BTreeMap<i64, Option<f64>> =
        sqlx::query_as("select enrolment_id, absence_rate from enrolment_totals")
            .fetch_all(db.pool.pg())
            .await
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(stored, want);
    db.close().await;
}
