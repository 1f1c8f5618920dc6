//! Test database lifecycle, fixture builders and table dumps shared by the flows.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rollcall_db::{Access, Page, Pool, Principal, PrincipalKind, PupilAccess, School, Scope};
use rollcall_domain::feed::{Outcome, ValidatedFeed};
use rollcall_domain::validation::{Mark, Pupil, Sex, Summary, YearGroup};
use rollcall_domain::{LaCode, Session, Upn, Urn, codes};
use uuid::Uuid;

const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A freshly created and migrated database, dropped by `close`, or when a failed test
/// unwinds past it.
pub struct TestDb {
    pub pool: Pool,
    pub url: String,
    closed: bool,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let db = TestDb::empty().await;
        rollcall_db::migrate(&db.pool)
            .await
            .expect("migrate test database");
        db
    }

    /// A fresh database with no tables, for tests that apply migrations by hand.
    pub async fn empty() -> TestDb {
        let base = std::env::var("ROLLCALL_TEST_DATABASE_URL").unwrap_or(ADMIN_URL.to_owned());
        let name = format!("rollcall_dbtest_{}", Uuid::new_v4().simple());
        let url = with_database(&base, &name);
        rollcall_db::ensure_database(&url)
            .await
            .expect("create test database");
        let pool = rollcall_db::connect(&url, 4)
            .await
            .expect("connect to test database");
        TestDb {
            pool,
            url,
            closed: false,
        }
    }

    /// A registry of three schools: two in Warwickshire (937, one independent), one in
    /// Birmingham (330).
    pub async fn with_schools() -> TestDb {
        let db = TestDb::new().await;
        rollcall_db::upsert_schools(&db.pool, &schools())
            .await
            .expect("upsert schools");
        db
    }

    /// Drops the database. Best effort: a failed drop leaves a database behind but does not
    /// fail the test.
    pub async fn close(mut self) {
        self.closed = true;
        self.pool.close().await;
        if let Err(e) = rollcall_db::drop_database(&self.url).await {
            eprintln!("could not drop test database: {e}");
        }
    }
}

impl Drop for TestDb {
    /// A test that panicked never reached `close`: drop its database from a thread of its own,
    /// since the test's runtime is unwinding.
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        let url = self.url.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime to drop a test database");
            runtime.block_on(rollcall_db::drop_database(&url))
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database");
        }
    }
}

/// `url` with its database (path) replaced by `name`, keeping any query string.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    match query {
        Some(query) => format!("{root}/{name}?{query}"),
        None => format!("{root}/{name}"),
    }
}

#[test]
fn database_name_is_replaced() {
    assert_eq!(
        with_database("postgres://u@h:1/postgres", "x"),
        "postgres://u@h:1/x"
    );
    assert_eq!(with_database("postgres://u@h:1", "x"), "postgres://u@h:1/x");
    assert_eq!(
        with_database("postgres://u@h/db?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
}

/// A page that holds any list a test makes.
pub const EVERY_ROW: Page = Page {
    offset: 0,
    size: 100_000,
};

pub const PRIMARY: i32 = 100_001;
pub const INDEPENDENT: i32 = 100_002;
pub const BIRMINGHAM: i32 = 200_001;

pub fn schools() -> Vec<School> {
    let school = |urn, la_code, name: &str, phase: &str, independent| School {
        urn,
        la_code,
        name: name.to_owned(),
        phase: phase.to_owned(),
        school_type: if independent {
            "Other independent school"
        } else {
            "Academy converter"
        }
        .to_owned(),
        independent,
    };
    vec![
        school(PRIMARY, 937, "Avon Primary", "primary", false),
        school(INDEPENDENT, 937, "Arden House", "secondary", true),
        school(BIRMINGHAM, 330, "Edgbaston Park", "secondary", false),
    ]
}

pub fn date(s: &str) -> NaiveDate {
    s.parse().expect("test date")
}

pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test timestamp")
}

/// The valid UPN a test's short name for a pupil stands for: the same name always gives the
/// same UPN (a valid UPN stands for itself), and tests compare stored UPNs with it.
pub fn upn(name: &str) -> Upn {
    if let Ok(upn) = Upn::parse(name) {
        return upn;
    }
    // FNV-1a: distinct names of a test give distinct UPNs.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    Upn::from_parts(
        LaCode::new(937).expect("937 is an la code"),
        (hash % 10_000) as u16,
        ((hash / 10_000) % 100) as u8,
        ((hash / 1_000_000) % 1000) as u16,
    )
}

/// The stored text of [`upn`].
pub fn upn_text(name: &str) -> String {
    upn(name).as_str().to_owned()
}

pub fn pupil(name: &str) -> Pupil {
    Pupil {
        record: 0,
        upn: upn(name),
        forename: "Test".to_owned(),
        surname: format!("Pupil {name}"),
        date_of_birth: date("2015-03-01"),
        sex: Some(Sex::Female),
        year_group: Some(YearGroup::Y5),
        admission_date: date("2020-09-01"),
        leaving_date: None,
        fsm: Some(false),
        sen_provision: None,
        ethnicity: Some("WBRI".to_owned()),
        looked_after: Some(false),
        household_key: None,
    }
}

/// A pupil's year group, for tests that change it.
pub fn year_group(name: &str) -> YearGroup {
    YearGroup::parse(name).expect("a year group")
}

/// A mark of `name`'s pupil: session 0 is the morning, 1 the afternoon.
pub fn mark(name: &str, day: &str, session: i16, code: &str) -> Mark {
    Mark {
        record: 0,
        upn: upn(name),
        date: date(day),
        session: if session == 0 {
            Session::Am
        } else {
            Session::Pm
        },
        code: codes::get(code).expect("a national code"),
        minutes_late: (code == "L").then_some(12),
    }
}

/// A feed whose outcome accepts everything it carries.
pub fn feed(
    feed_id: Uuid,
    school_urn: i32,
    recorded_at: &str,
    pupils: Vec<Pupil>,
    marks: Vec<Mark>,
) -> ValidatedFeed {
    let outcome = Outcome {
        summary: Summary {
            roll_accepted: pupils.len() as u64,
            marks_accepted: marks.len() as u64,
            ..Summary::default()
        },
        findings: Vec::new(),
        findings_omitted: 0,
    };
    ValidatedFeed {
        feed_id,
        school: Urn::new(school_urn as u32).expect("a test urn"),
        recorded_at: at(recorded_at),
        pupils,
        marks,
        replay: None,
        outcome,
    }
}

/// Feed ids with a known order: `id(1) < id(2)`.
pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// Every row of the tables a feed writes, as PostgreSQL prints them, in key order, plus the
/// enrolment identity's position.
#[derive(Debug, PartialEq, Eq)]
pub struct Dump {
    pub enrolments: Vec<String>,
    pub marks: Vec<String>,
    pub feeds: Vec<String>,
    pub next_enrolment_id: Option<i64>,
}

pub async fn dump(pool: &Pool) -> Dump {
    let rows = |sql: &'static str| async move {
        sqlx::query_scalar::<_, String>(sql)
            .fetch_all(pool.pg())
            .await
            .expect("dump table")
    };
    Dump {
        enrolments: rows("select t::text from enrolments t order by id").await,
        marks: rows("select t::text from register t order by enrolment_id, month").await,
        feeds: rows("select t::text from feeds t order by feed_id").await,
        next_enrolment_id: sqlx::query_scalar(
            "select last_value from pg_sequences where sequencename like 'enrolments_id%'",
        )
        .fetch_one(pool.pg())
        .await
        .expect("enrolment identity"),
    }
}

/// The transaction ids that wrote each enrolment and mark row: unchanged when nothing was
/// rewritten, not even with the same values.
pub async fn row_versions(pool: &Pool) -> Vec<String> {
    sqlx::query_scalar(
        "select 'e' || id || ':' || xmin::text from enrolments
         union all
         select 'r' || enrolment_id || month || ':' || xmin::text from register
         order by 1",
    )
    .fetch_all(pool.pg())
    .await
    .expect("row versions")
}

/// What a national exporter sees: every school's figures.
pub fn everyone() -> Access {
    Access::of(&Principal::authenticated("test", PrincipalKind::Exporter))
}

/// The pupils an LA user (for `Scope::La`) or a school user (`Scope::School`) may see.
pub fn pupils_of(scope: Scope) -> PupilAccess {
    let kind = match scope {
        Scope::La(la) => PrincipalKind::La(la),
        Scope::School(urn) => PrincipalKind::School(urn),
    };
    PupilAccess::of(&Principal::authenticated("test", kind))
        .expect("la and school users see pupils")
}

/// Sessions per (UPN, code) over a period, resolved through `enrolments_by_id`.
pub async fn counts_by_upn(
    pool: &Pool,
    scope: Scope,
    from: &str,
    to: &str,
) -> BTreeMap<(String, String), i64> {
    let counts = rollcall_db::enrolment_code_counts(pool, &everyone(), scope, date(from), date(to))
        .await
        .expect("code counts");
    let mut ids: Vec<i64> = counts.iter().map(|c| c.enrolment_id).collect();
    ids.dedup();
    let upns: BTreeMap<i64, String> = rollcall_db::enrolments_by_id(pool, &pupils_of(scope), &ids)
        .await
        .expect("enrolments by id")
        .into_iter()
        .map(|e| (e.id, e.upn))
        .collect();
    counts
        .into_iter()
        .map(|c| ((upns[&c.enrolment_id].clone(), c.code), c.sessions))
        .collect()
}

/// Builds the expected map of `counts_by_upn` from literals.
pub fn expect(rows: &[(&str, &str, i64)]) -> BTreeMap<(String, String), i64> {
    rows.iter()
        .map(|(name, code, n)| ((upn_text(name), code.to_string()), *n))
        .collect()
}
