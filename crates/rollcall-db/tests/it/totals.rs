//! The registers and the year totals beside them: whatever order versions arrive in, the stored
//! marks are the latest version of each session, and the totals equal a recount of them.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rollcall_db::Scope;
use rollcall_domain::Session;
use rollcall_domain::feed::ValidatedFeed;
use rollcall_domain::validation::Mark;
use rollcall_domain::{AcademicYear, Counters, codes};
use uuid::Uuid;

use crate::common::*;

/// A small deterministic generator (xorshift), so a failing case can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const UPNS: [&str; 6] = [
    "A000000000011",
    "A000000000012",
    "A000000000013",
    "A000000000014",
    "A000000000015",
    "A000000000016",
];

/// Codes weighted towards presence, with enough absence that some pupils are persistent or
/// severe absentees, plus late (minutes kept) and not-possible sessions.
const CODES: [&str; 10] = ["/", "/", "/", "\\", "L", "N", "I", "O", "X", "B"];

/// School days across a month end and the end of an academic year.
fn days() -> Vec<NaiveDate> {
    let mut days = Vec::new();
    let mut d = date("2025-07-14");
    while d <= date("2025-09-19") {
        if !rollcall_domain::calendar::is_weekend(d) {
            days.push(d);
        }
        d = d.succ_opt().unwrap();
    }
    days
}

/// Feeds that each re-send a window of days with codes drawn afresh, some with a session twice.
fn feeds(rng: &mut Rng) -> Vec<ValidatedFeed> {
    let days = days();
    let mut feeds = Vec::new();
    for n in 0..40u128 {
        let end = rng.below(days.len());
        let start = end.saturating_sub(rng.below(8));
        let mut marks = Vec::new();
        for day in &days[start..=end] {
            for upn in UPNS {
                for session in [0, 1] {
                    if rng.below(10) == 0 {
                        continue;
                    }
                    let code = CODES[rng.below(CODES.len())];
                    marks.push(mark(upn, &day.to_string(), session, code));
                }
            }
        }
        if let Some(first) = marks.first().cloned() {
            marks.push(Mark {
                code: codes::get("I").unwrap(),
                minutes_late: None,
                ..first
            });
        }
        // Several feeds share a recorded time, so ties are broken by feed id.
        let recorded_at = format!("2025-09-20T{:02}:00:00Z", rng.below(12));
        feeds.push(feed(
            Uuid::from_u128(rng.next() as u128 * 1000 + n),
            PRIMARY,
            &recorded_at,
            UPNS.iter().map(|u| pupil(u)).collect(),
            marks,
        ));
    }
    feeds
}

/// The mark each session should end with: the latest version's, the feed's last for a session
/// it carries twice.
fn expected(feeds: &[ValidatedFeed]) -> BTreeMap<(String, NaiveDate, i16), String> {
    type Version = (DateTime<Utc>, Uuid);
    let mut latest: BTreeMap<(String, NaiveDate, i16), (Version, String)> = BTreeMap::new();
    for f in feeds {
        let version = (f.recorded_at, f.feed_id);
        for m in &f.marks {
            let key = (
                m.upn.as_str().to_owned(),
                m.date,
                i16::from(m.session == Session::Pm),
            );
            match latest.get(&key) {
                Some((stored, _)) if *stored > version => {}
                _ => {
                    latest.insert(key, (version, m.code.code().to_owned()));
                }
            }
        }
    }
    latest.into_iter().map(|(k, (_, code))| (k, code)).collect()
}

#[tokio::test]
async fn year_totals_equal_a_recount_whatever_the_order() {
    let db = TestDb::with_schools().await;
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut feeds = feeds(&mut rng);
    let want = expected(&feeds);
    // Applied in a shuffled order: older versions often arrive after newer ones.
    for i in (1..feeds.len()).rev() {
        feeds.swap(i, rng.below(i + 1));
    }
    for f in &feeds {
        rollcall_db::apply_validated_feed(&db.pool, f)
            .await
            .expect("apply feed");
    }

    // Per academic year and pupil, the counters the final marks make.
    let mut counters: BTreeMap<(i32, String), Counters> = BTreeMap::new();
    for ((upn, day, _), code) in &want {
        let year = AcademicYear::of(*day).start_year();
        counters
            .entry((year, upn.clone()))
            .or_default()
            .add(codes::get(code).unwrap(), 1);
    }

    for year in [2024, 2025] {
        let first = AcademicYear::new(year).first_day();
        let last = AcademicYear::new(year).last_day();
        let stored = counts_by_upn(
            &db.pool,
            Scope::School(PRIMARY),
            &first.to_string(),
            &last.to_string(),
        )
        .await;
        let mut recount: BTreeMap<(String, String), i64> = BTreeMap::new();
        for ((y, upn), c) in &counters {
            if *y != year {
                continue;
            }
            for (code, n) in c.iter() {
                recount.insert((upn.clone(), code.code().to_owned()), n as i64);
            }
        }
        assert_eq!(stored, recount, "registers of {year}");

        let totals = rollcall_db::school_year_totals(
            &db.pool,
            &everyone(),
            Scope::School(PRIMARY),
            year as i16,
        )
        .await
        .unwrap();
        assert_eq!(totals.len(), 1);
        let t = &totals[0];
        let pupils: Vec<&Counters> = counters
            .iter()
            .filter(|((y, _), _)| *y == year)
            .map(|(_, c)| c)
            .collect();
        let sum: Counters = pupils.iter().copied().cloned().sum();
        assert_eq!(t.counters, sum, "school sessions of {year}");
        assert_eq!(t.marks, sum.total() as i64);
        let counted: Vec<&&Counters> = pupils.iter().filter(|c| c.possible() > 0).collect();
        assert_eq!(t.enrolments, counted.len() as i64);
        assert_eq!(
            t.persistent,
            counted.iter().filter(|c| c.is_persistent()).count() as i64
        );
        assert_eq!(
            t.severe,
            counted.iter().filter(|c| c.is_severe()).count() as i64
        );
        let last_day = want
            .keys()
            .map(|(_, d, _)| *d)
            .filter(|d| AcademicYear::of(*d).start_year() == year)
            .max();
        assert_eq!(t.last_date, last_day);

        let at_risk = rollcall_db::at_risk_year(
            &db.pool,
            &pupils_of(Scope::School(PRIMARY)),
            Scope::School(PRIMARY),
            year as i16,
            false,
            EVERY_ROW,
        )
        .await
        .unwrap();
        assert!(!at_risk.more);
        let mut listed: Vec<String> = at_risk
            .rows
            .iter()
            .map(|e| format!("{:?}", e.counters))
            .collect();
        let mut persistent: Vec<String> = counted
            .iter()
            .filter(|c| c.is_persistent())
            .map(|c| format!("{c:?}"))
            .collect();
        listed.sort();
        persistent.sort();
        assert_eq!(listed, persistent, "at-risk list of {year}");

        assert_eq!(
            stored_rates(&db, year as i16).await,
            expected_rates(&counters, year),
            "stored absence rates of {year}"
        );
    }
    assert!(
        counters.values().any(|c| c.is_persistent()),
        "the generated registers include a persistent absentee"
    );

    // Another LA's user reads nothing of this school, whatever scope it asks for.
    let birmingham = Scope::La(330);
    let other = rollcall_db::Access::of(&rollcall_db::Principal::authenticated(
        "test",
        rollcall_db::PrincipalKind::La(330),
    ));
    for scope in [Scope::School(PRIMARY), Scope::La(937)] {
        let totals = rollcall_db::school_year_totals(&db.pool, &other, scope, 2025)
            .await
            .unwrap();
        assert!(totals.is_empty(), "{scope:?}");
        let at_risk = rollcall_db::at_risk_year(
            &db.pool,
            &pupils_of(birmingham),
            scope,
            2025,
            false,
            EVERY_ROW,
        )
        .await
        .unwrap();
        assert!(at_risk.rows.is_empty(), "{scope:?}");
    }

    // Rebuilding from the registers gives exactly the totals kept incrementally, rates too;
    // so does the fill of migration 0005 over totals stored before it.
    let snapshot = totals_dump(&db).await;
    rollcall_db::rebuild_school_totals(&db.pool, PRIMARY)
        .await
        .unwrap();
    assert_eq!(totals_dump(&db).await, snapshot);
    for year in [2024, 2025] {
        assert_eq!(
            stored_rates(&db, year as i16).await,
            expected_rates(&counters, year),
            "absence rates of {year} after a rebuild"
        );
    }
    db.close().await;
}

/// `enrolment_totals.absence_rate` per UPN for one academic year.
async fn stored_rates(db: &TestDb, year: i16) -> BTreeMap<String, Option<f64>> {
    let rows: Vec<(String, Option<f64>)> = sqlx::query_as(
        "select e.upn, t.absence_rate
         from enrolment_totals t join enrolments e on e.id = t.enrolment_id
         where t.academic_year = $1",
    )
    .bind(year)
    .fetch_all(db.pool.pg())
    .await
    .unwrap();
    rows.into_iter().collect()
}

/// The rate each pupil's counted marks make, for the pupils at risk; none for the others.
fn expected_rates(
    counters: &BTreeMap<(i32, String), Counters>,
    year: i32,
) -> BTreeMap<String, Option<f64>> {
    counters
        .iter()
        .filter(|((y, _), _)| *y == year)
        .map(|((_, upn), c)| {
            let rate = c
                .is_persistent()
                .then(|| c.overall_absence_rate().unwrap().percent());
            (upn.clone(), rate)
        })
        .collect()
}

async fn totals_dump(db: &TestDb) -> Vec<String> {
    sqlx::query_scalar(
        "select 'e' || t::text from enrolment_totals t
         union all
         select 's' || t::text from school_totals t
         order by 1",
    )
    .fetch_all(db.pool.pg())
    .await
    .unwrap()
}

#[tokio::test]
async fn marks_in_the_first_layout_move_into_registers() {
    let db = TestDb::empty().await;
    // The first migration alone, recorded as the migrator records it.
    let first = std::env::temp_dir().join(format!("rollcall-migration-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&first).unwrap();
    std::fs::write(
        first.join("0001_initial.sql"),
        include_str!("../../migrations/0001_initial.sql"),
    )
    .unwrap();
    sqlx::migrate::Migrator::new(first.as_path())
        .await
        .unwrap()
        .run(db.pool.pg())
        .await
        .unwrap();
    std::fs::remove_dir_all(&first).unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "insert into schools values (100001, 937, 'Avon Primary', 'primary', 'Academy', false, now());
         insert into attendance_codes values ('/', 'present', true), ('L', 'present', true),
                                             ('N', 'unauthorised', true), ('I', 'authorised', true);
         insert into feeds (feed_id, school_urn, idempotency_key, payload_sha256, extracted_at,
                            code_set, received_at, status)
         values ('00000000-0000-0000-0000-000000000001', 100001, 'a', '', '2025-09-08T16:00:00Z',
                 '2024', now(), 'processed'),
                ('00000000-0000-0000-0000-000000000002', 100001, 'b', '', '2025-10-01T16:00:00Z',
                 '2024', now(), 'processed');
         insert into enrolments (school_urn, upn, recorded_at, feed_id)
         values (100001, '{upn}', now(), '00000000-0000-0000-0000-000000000001');
         insert into marks (enrolment_id, recorded_at, feed_id, date, session, minutes_late, code)
         values (1, '2025-09-08T16:00:00Z', '00000000-0000-0000-0000-000000000001', '2025-09-08', 0, null, 'N'),
                (1, '2025-09-08T16:00:00Z', '00000000-0000-0000-0000-000000000001', '2025-09-08', 1, 12, 'L'),
                (1, '2025-10-01T16:00:00Z', '00000000-0000-0000-0000-000000000002', '2025-09-30', 1, null, 'I'),
                (1, '2025-10-01T16:00:00Z', '00000000-0000-0000-0000-000000000002', '2025-10-01', 0, null, '/');",
        upn = upn_text("A000000000001")
    )))
    .execute(db.pool.pg())
    .await
    .unwrap();
    // The rest of the migrations, as a service would run them at start.
    rollcall_db::migrate(&db.pool).await.unwrap();
    assert_eq!(
        rollcall_db::rebuild_pending_totals(&db.pool).await.unwrap(),
        1
    );
    assert_eq!(
        rollcall_db::rebuild_pending_totals(&db.pool).await.unwrap(),
        0
    );

    let counts = counts_by_upn(&db.pool, Scope::School(PRIMARY), "2025-09-01", "2026-08-31").await;
    assert_eq!(
        counts,
        expect(&[
            ("A000000000001", "/", 1),
            ("A000000000001", "I", 1),
            ("A000000000001", "L", 1),
            ("A000000000001", "N", 1),
        ])
    );
    // September's row: slots 14 and 15 (the 8th) from feed 1, slot 59 (the 30th PM) from feed 2,
    // with 12 minutes late on the L.
    let (codes, slot_feeds, feeds, minutes): (Vec<u8>, Vec<u8>, Vec<u8>, Option<Vec<u8>>) =
        sqlx::query_as(
            "select codes, slot_feeds, feeds, minutes from register where month = '2025-09-01'",
        )
        .fetch_one(db.pool.pg())
        .await
        .unwrap();
    assert_eq!(codes.len(), 60);
    assert_eq!(slot_feeds[59], 1);
    assert_eq!(feeds, vec![0, 0, 0, 1, 0, 0, 0, 2]);
    let minutes = minutes.expect("minutes kept");
    assert_eq!(&minutes[30..32], &12i16.to_be_bytes());
    assert_eq!(&minutes[28..30], &(-1i16).to_be_bytes());

    // A later correction applies on top of the moved marks by the version rule.
    let correction = feed(
        Uuid::from_u128(3),
        PRIMARY,
        "2025-10-02T16:00:00Z",
        vec![pupil("A000000000001")],
        vec![mark("A000000000001", "2025-09-08", 0, "I")],
    );
    rollcall_db::apply_validated_feed(&db.pool, &correction)
        .await
        .unwrap();
    let totals =
        rollcall_db::school_year_totals(&db.pool, &everyone(), Scope::School(PRIMARY), 2025)
            .await
            .unwrap();
    assert_eq!(totals[0].marks, 4);
    assert_eq!(totals[0].counters.count(codes::get("I").unwrap()), 2);
    assert_eq!(totals[0].counters.count(codes::get("N").unwrap()), 0);
    db.close().await;
}
