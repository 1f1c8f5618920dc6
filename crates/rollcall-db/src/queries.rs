//! Reads for LA teams and for watching the pipeline: session counts, enrolments, progress.

use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use rollcall_domain::Counters;

use crate::access::{Access, PupilAccess};
use crate::codebook;
use crate::register::{self, MonthRegister};
use crate::{Pool, Result};

/// Which schools a query covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every school of a local authority (LA code).
    La(i16),
    /// One school (URN).
    School(i32),
}

impl Scope {
    /// `(la_code, urn)` for queries that bind both and filter on whichever is set.
    pub(crate) fn bounds(self) -> (Option<i16>, Option<i32>) {
        match self {
            Scope::La(la_code) => (Some(la_code), None),
            Scope::School(urn) => (None, Some(urn)),
        }
    }
}

/// How many sessions of one enrolment carry one code within a period.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct EnrolmentCodeCount {
    pub enrolment_id: i64,
    pub school_urn: i32,
    pub code: String,
    pub sessions: i64,
}

/// Sessions per enrolment and code between `from` and `to` inclusive, ordered by enrolment and
/// code: [`for_each_enrolment`]'s counters, one row per code used. Schools outside `access`
/// are left out, whatever `scope` asks for.
pub async fn enrolment_code_counts(
    pool: &Pool,
    access: &Access,
    scope: Scope,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<EnrolmentCodeCount>> {
    let mut out = Vec::new();
    for_each_enrolment(pool, access, scope, (from, to), |e| {
        let mut by_code: Vec<(&'static str, u64)> = rollcall_domain::codes::all()
            .iter()
            .map(|code| (code.code(), e.counters.count(code)))
            .filter(|&(_, n)| n > 0)
            .collect();
        by_code.sort_unstable();
        out.extend(by_code.into_iter().map(|(code, n)| EnrolmentCodeCount {
            enrolment_id: e.enrolment_id,
            school_urn: e.school_urn,
            code: code.to_owned(),
            sessions: n as i64,
        }));
    })
    .await?;
    Ok(out)
}

/// Calls `each` with every enrolment's counters over `from..=to` (inclusive), counted from the
/// register rows, one enrolment at a time in enrolment order; enrolments with no mark in the
/// period are not visited. The rows are streamed in enrolment order, so the caller folds an
/// LA's period into what it keeps (a school's standing, a page of the at-risk list) without
/// every enrolment's counts being held at once. Only sessions while on roll are ever stored,
/// so no roll-date filter is needed. Schools outside `access` are left out, whatever `scope`
/// asks for.
pub async fn for_each_enrolment(
    pool: &Pool,
    access: &Access,
    scope: Scope,
    period: (NaiveDate, NaiveDate),
    each: impl FnMut(EnrolmentCounts),
) -> Result<()> {
    for_each_enrolment_as_at(pool, access, scope, period, None, each).await
}

/// [`for_each_enrolment`], with each register row as the LA knew it at `as_at` when given: only
/// the feeds recorded (their extract time) by then count, later corrections are ignored.
pub async fn for_each_enrolment_as_at(
    pool: &Pool,
    access: &Access,
    scope: Scope,
    (from, to): (NaiveDate, NaiveDate),
    as_at: Option<DateTime<Utc>>,
    mut each: impl FnMut(EnrolmentCounts),
) -> Result<()> {
    let mut book = codebook::cached(pool).await?;
    let recorded = match as_at {
        Some(at) => Some(crate::as_at::recorded_feeds(pool, access, scope, at).await?),
        None => None,
    };
    let mut conn = pool.acquire().await?;
    let (la_code, urn) = scope.bounds();
    // Today's counts need only the codes; as at a moment, the whole row.
    let sql = if as_at.is_some() {
        concat!(
            "select ",
            register::columns!(),
            ", e.school_urn
             from schools s
             join enrolments e on e.school_urn = s.urn
             join register r on r.enrolment_id = e.id
             where ($1::int2 is null or s.la_code = $1) and ($2::int is null or e.school_urn = $2)
               and r.month between $3 and $4
               and ($5 or s.la_code = any($6) or s.urn = any($7))
             order by r.enrolment_id"
        )
    } else {
        "select r.enrolment_id, r.month, r.codes, null::bytea, null::bytea, null::bytea,
                null::bytea, null::bytea, e.school_urn
         from schools s
         join enrolments e on e.school_urn = s.urn
         join register r on r.enrolment_id = e.id
         where ($1::int2 is null or s.la_code = $1) and ($2::int is null or e.school_urn = $2)
           and r.month between $3 and $4
           and ($5 or s.la_code = any($6) or s.urn = any($7))
         order by r.enrolment_id"
    };
    let mut rows = sqlx::query_as(sql)
        .bind(la_code)
        .bind(urn)
        .bind(register::month_of(from))
        .bind(register::month_of(to))
        .bind(access.everything)
        .bind(&access.la_codes)
        .bind(&access.urns)
        .fetch(&mut *conn);
    // The enrolment being counted: its id, school and sessions per code id (`[id - 1]`).
    let mut current: Option<(i64, i32, Vec<i64>)> = None;
    while let Some(row) = rows.try_next().await? {
        let (stored, school_urn): (register::StoredRow, i32) = split_school(row);
        let (enrolment_id, month) = (stored.0, stored.1);
        if current.as_ref().is_some_and(|(id, ..)| *id != enrolment_id)
            && let Some((id, urn, sessions)) = current.take()
            && let Some(counts) = counted(pool, &mut book, id, urn, &sessions).await?
        {
            each(counts);
        }
        let (_, _, sessions) =
            current.get_or_insert_with(|| (enrolment_id, school_urn, Vec::new()));
        let codes: Vec<u8> = match &recorded {
            None => stored.2,
            Some(recorded) => {
                let (_, _, row) = register::decode_stored(stored)?;
                row.codes_as_at(|seq| recorded.contains(&seq)).to_vec()
            }
        };
        for (slot, code_id) in MonthRegister::code_ids(&codes) {
            let (date, _) = register::session_of(month, slot);
            if date < from || date > to {
                continue;
            }
            let index = code_id as usize - 1;
            if sessions.len() <= index {
                sessions.resize(index + 1, 0);
            }
            sessions[index] += 1;
        }
    }
    if let Some((id, urn, sessions)) = current
        && let Some(counts) = counted(pool, &mut book, id, urn, &sessions).await?
    {
        each(counts);
    }
    Ok(())
}

/// A register row as selected with its school appended.
type RowWithSchool = (
    i64,
    NaiveDate,
    Vec<u8>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    i32,
);

fn split_school(
    (id, month, codes, slot_feeds, feeds, minutes, since, history, urn): RowWithSchool,
) -> (register::StoredRow, i32) {
    let stored = (
        id,
        month,
        codes,
        slot_feeds.unwrap_or_default(),
        feeds.unwrap_or_default(),
        minutes,
        since,
        history,
    );
    (stored, urn)
}

/// An enrolment's counters from its sessions per code id, or `None` when it has no session in
/// the period (its rows' marks all fell outside it). An id the book does not hold was numbered
/// since the book was read: the table is read again (ids are never renumbered, so what was
/// decoded with the old book stays right).
async fn counted(
    pool: &Pool,
    book: &mut std::sync::Arc<codebook::CodeBook>,
    enrolment_id: i64,
    school_urn: i32,
    sessions: &[i64],
) -> Result<Option<EnrolmentCounts>> {
    if sessions.iter().all(|&n| n == 0) {
        return Ok(None);
    }
    let counters = match book.counters(sessions) {
        Err(crate::Error::UnknownCode { .. }) => {
            codebook::forget(pool);
            *book = codebook::cached(pool).await?;
            book.counters(sessions)?
        }
        other => other?,
    };
    Ok(Some(EnrolmentCounts {
        enrolment_id,
        school_urn,
        counters,
    }))
}

/// A school's stored totals for one academic year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchoolYearTotals {
    pub school_urn: i32,
    /// Sessions per code over every enrolment.
    pub counters: Counters,
    /// Marks stored.
    pub marks: i64,
    /// Enrolments with at least one possible session.
    pub enrolments: i64,
    pub persistent: i64,
    pub severe: i64,
    /// The latest date with a stored mark.
    pub last_date: Option<NaiveDate>,
}

/// The year totals of every school in scope (and within `access`) that has marks in the
/// academic year starting in `year`, ordered by URN.
pub async fn school_year_totals(
    pool: &Pool,
    access: &Access,
    scope: Scope,
    year: i16,
) -> Result<Vec<SchoolYearTotals>> {
    let (la_code, urn) = scope.bounds();
    // School, sessions, marks, enrolments, persistent, severe, last date.
    type Row = (i32, Vec<i64>, i64, i32, i32, i32, Option<NaiveDate>);
    let rows: Vec<Row> = sqlx::query_as(
        "select t.school_urn, t.sessions, t.marks, t.enrolments, t.persistent, t.severe,
                t.last_date
         from school_totals t
         join schools s on s.urn = t.school_urn
         where t.academic_year = $1
           and ($2::int2 is null or s.la_code = $2)
           and ($3::int is null or s.urn = $3)
           and ($4 or s.la_code = any($5) or s.urn = any($6))
         order by t.school_urn",
    )
    .bind(year)
    .bind(la_code)
    .bind(urn)
    .bind(access.everything)
    .bind(&access.la_codes)
    .bind(&access.urns)
    .fetch_all(pool.pg())
    .await?;
    codebook::decode(pool, |book| {
        rows.iter()
            .map(
                |(school_urn, sessions, marks, enrolments, persistent, severe, last_date)| {
                    Ok(SchoolYearTotals {
                        school_urn: *school_urn,
                        counters: book.counters(sessions)?,
                        marks: *marks,
                        enrolments: (*enrolments).into(),
                        persistent: (*persistent).into(),
                        severe: (*severe).into(),
                        last_date: *last_date,
                    })
                },
            )
            .collect()
    })
    .await
}

/// An enrolment's sessions per code over a period: an academic year's stored totals, or a
/// period counted from the registers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnrolmentCounts {
    pub enrolment_id: i64,
    pub school_urn: i32,
    pub counters: Counters,
}

/// Which part of an ordered list to read: `size` rows after skipping `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub offset: u64,
    pub size: u32,
}

/// One page of a list, and whether rows follow it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageOf<T> {
    pub rows: Vec<T>,
    pub more: bool,
}

/// The at-risk list's order: the stored overall absence rate, worst first, then school, then
/// enrolment. For an LA (or everyone) it is the order of `enrolment_totals_at_risk_order`, so
/// PostgreSQL reads the page as one index range and stops; a school's list is read through
/// `enrolment_totals_at_risk` (a few hundred rows at most) and sorted.
///
/// `risk > 0` as written lets the planner use the partial indexes. Binds: year, la code or urn,
/// minimum risk, the access filter (everything, la codes, urns), offset, limit.
const AT_RISK_LA: &str = "select t.enrolment_id, t.school_urn, t.sessions
     from enrolment_totals t
     join schools s on s.urn = t.school_urn
     where t.academic_year = $1 and t.risk > 0 and t.risk >= $3
       and s.la_code = $2
       and ($4 or s.la_code = any($5) or s.urn = any($6))
     order by t.absence_rate desc, t.school_urn, t.enrolment_id
     offset $7 limit $8";
const AT_RISK_SCHOOL: &str = "select t.enrolment_id, t.school_urn, t.sessions
     from enrolment_totals t
     join schools s on s.urn = t.school_urn
     where t.academic_year = $1 and t.risk > 0 and t.risk >= $3
       and t.school_urn = $2
       and ($4 or s.la_code = any($5) or s.urn = any($6))
     order by t.absence_rate desc, t.school_urn, t.enrolment_id
     offset $7 limit $8";

fn at_risk_sql(scope: Scope) -> &'static str {
    match scope {
        Scope::La(_) => AT_RISK_LA,
        Scope::School(_) => AT_RISK_SCHOOL,
    }
}

/// Binds [`at_risk_sql`]'s parameters; one row more than the page is asked for, to tell whether
/// another page follows.
fn bind_at_risk<'q, O>(
    query: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    access: &'q Access,
    scope: Scope,
    year: i16,
    severe_only: bool,
    page: Page,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
    bind_year_list(query, access, scope, year, if severe_only { 2 } else { 1 })
        .bind(i64::try_from(page.offset).unwrap_or(i64::MAX))
        .bind(i64::from(page.size) + 1)
}

/// Binds what a pupil list over a year's stored totals filters on, as `$1` to `$6`: the year,
/// the LA code or URN, the list's own limit (`filter`: the least risk, the furthest distance),
/// and the access filter (everything, LA codes, URNs).
pub(crate) fn bind_year_list<'q, O>(
    query: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    access: &'q Access,
    scope: Scope,
    year: i16,
    filter: i16,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
    let query = query.bind(year);
    let query = match scope {
        Scope::La(la_code) => query.bind(la_code),
        Scope::School(urn) => query.bind(urn),
    };
    query
        .bind(filter)
        .bind(access.everything)
        .bind(&access.la_codes)
        .bind(&access.urns)
}

/// One page of the persistent absentees (or, with `severe_only`, the severe ones) in scope over
/// the academic year starting in `year`, from the stored totals: worst overall absence rate
/// first, ties by school and then enrolment, so consecutive pages neither overlap nor skip.
/// Pupils of schools outside `access` are left out.
pub async fn at_risk_year(
    pool: &Pool,
    access: &PupilAccess,
    scope: Scope,
    year: i16,
    severe_only: bool,
    page: Page,
) -> Result<PageOf<EnrolmentCounts>> {
    let access = access.schools();
    let mut rows: Vec<(i64, i32, Vec<i32>)> = bind_at_risk(
        sqlx::query_as(at_risk_sql(scope)),
        access,
        scope,
        year,
        severe_only,
        page,
    )
    .fetch_all(pool.pg())
    .await?;
    let more = rows.len() > page.size as usize;
    rows.truncate(page.size as usize);
    let rows = decode_totals(pool, &rows).await?;
    Ok(PageOf { rows, more })
}

/// `enrolment_totals` rows as selected (enrolment, school, sessions per code id) as counters.
pub(crate) async fn decode_totals(
    pool: &Pool,
    rows: &[(i64, i32, Vec<i32>)],
) -> Result<Vec<EnrolmentCounts>> {
    codebook::decode(pool, |book| {
        rows.iter()
            .map(|(enrolment_id, school_urn, sessions)| {
                let sessions: Vec<i64> = sessions.iter().copied().map(i64::from).collect();
                Ok(EnrolmentCounts {
                    enrolment_id: *enrolment_id,
                    school_urn: *school_urn,
                    counters: book.counters(&sessions)?,
                })
            })
            .collect()
    })
    .await
}

/// The plan PostgreSQL chooses for [`at_risk_year`]'s page (`EXPLAIN`, not run), as text:
/// for the benchmark and for the test that the page comes from the index in order.
pub(crate) async fn at_risk_year_plan(
    pool: &Pool,
    access: &Access,
    scope: Scope,
    year: i16,
    severe_only: bool,
    page: Page,
) -> Result<String> {
    let explain = format!("explain (costs off) {}", at_risk_sql(scope));
    let lines: Vec<(String,)> = bind_at_risk(
        sqlx::query_as(sqlx::AssertSqlSafe(explain)),
        access,
        scope,
        year,
        severe_only,
        page,
    )
    .fetch_all(pool.pg())
    .await?;
    Ok(lines
        .into_iter()
        .map(|(line,)| line)
        .collect::<Vec<_>>()
        .join("\n"))
}

/// An enrolment: a pupil on a school's roll, with the latest recorded attributes.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Enrolment {
    pub id: i64,
    pub school_urn: i32,
    pub upn: String,
    pub forename: Option<String>,
    pub surname: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub sex: Option<String>,
    pub year_group: Option<String>,
    pub admission_date: Option<NaiveDate>,
    pub leaving_date: Option<NaiveDate>,
    pub fsm: Option<bool>,
    pub sen_provision: Option<String>,
    pub ethnicity: Option<String>,
    pub looked_after: Option<bool>,
}

/// The enrolments with these ids, ordered by id; unknown ids, and pupils of schools outside
/// `access`, are left out.
pub async fn enrolments_by_id(
    pool: &Pool,
    access: &PupilAccess,
    ids: &[i64],
) -> Result<Vec<Enrolment>> {
    let access = access.schools();
    let enrolments = sqlx::query_as(
        "select e.id, e.school_urn, e.upn, e.forename, e.surname, e.date_of_birth, e.sex,
                e.year_group, e.admission_date, e.leaving_date, e.fsm, e.sen_provision,
                e.ethnicity, e.looked_after
         from enrolments e
         join schools s on s.urn = e.school_urn
         where e.id = any($1)
           and ($2 or s.la_code = any($3) or s.urn = any($4))
         order by e.id",
    )
    .bind(ids)
    .bind(access.everything)
    .bind(&access.la_codes)
    .bind(&access.urns)
    .fetch_all(pool.pg())
    .await?;
    Ok(enrolments)
}

/// Enrolments per school as `(urn, enrolments)`, ordered by URN. Every registered school in
/// scope (and within `access`) has a row, with 0 when it has sent no roll yet.
pub async fn school_enrolment_counts(
    pool: &Pool,
    access: &Access,
    scope: Scope,
) -> Result<Vec<(i32, i64)>> {
    let query = match scope {
        Scope::La(la_code) => sqlx::query_as(
            "select s.urn, count(e.id)
             from schools s
             left join enrolments e on e.school_urn = s.urn
             where s.la_code = $1 and ($2 or s.la_code = any($3) or s.urn = any($4))
             group by s.urn
             order by s.urn",
        )
        .bind(la_code),
        Scope::School(urn) => sqlx::query_as(
            "select s.urn, count(e.id)
             from schools s
             left join enrolments e on e.school_urn = s.urn
             where s.urn = $1 and ($2 or s.la_code = any($3) or s.urn = any($4))
             group by s.urn",
        )
        .bind(urn),
    };
    Ok(query
        .bind(access.everything)
        .bind(&access.la_codes)
        .bind(&access.urns)
        .fetch_all(pool.pg())
        .await?)
}

/// Progress through the pipeline. Feed counts are cumulative: every processed or parked feed was
/// also enqueued and received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct PipelineCounts {
    /// Feeds the gateway recorded, whatever their status.
    pub feeds_received: i64,
    /// Feeds written to Kafka: status enqueued or processed.
    pub feeds_enqueued: i64,
    /// Feeds the aggregator has stored.
    pub feeds_processed: i64,
    /// Messages the aggregator set aside because the database refused them for good (parked
    /// and not replayed since).
    pub feeds_parked: i64,
    /// Marks stored (one per enrolment, date and session), from the school totals.
    pub marks_stored: i64,
}

pub async fn pipeline_counts(pool: &Pool) -> Result<PipelineCounts> {
    let counts = sqlx::query_as(
        "select count(*) as feeds_received,
                count(*) filter (where status in ('enqueued', 'processed', 'parked'))
                    as feeds_enqueued,
                count(*) filter (where status = 'processed') as feeds_processed,
                (select count(*) from parked_feeds where replayed_at is null) as feeds_parked,
                (select coalesce(sum(marks), 0)::int8 from school_totals) as marks_stored
         from feeds",
    )
    .fetch_one(pool.pg())
    .await?;
    Ok(counts)
}
