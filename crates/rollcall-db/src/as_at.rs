//! Answers as the LA knew them at a moment: which feeds had been recorded by then, and each
//! school's year totals after the last of them.
//!
//! A feed is recorded at its version's time, the extract time its MIS gave it: "as at `t`"
//! means from the feeds extracted by `t`, whatever arrived since. The registers keep every
//! code a session held and the feed that first recorded it (`register::history`); the year
//! totals keep a row per feed that moved them (`school_totals_history`, migration 0008).

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};

use crate::access::Access;
use crate::queries::{SchoolYearTotals, Scope};
use crate::{Pool, Result, codebook};

/// The sequence numbers of the feeds of the schools in scope recorded by `at`.
pub(crate) async fn recorded_feeds(
    pool: &Pool,
    access: &Access,
    scope: Scope,
    at: DateTime<Utc>,
) -> Result<HashSet<i32>> {
    let (la_code, urn) = scope.bounds();
    let seqs: Vec<i32> = sqlx::query_scalar(
        "select f.seq
         from feeds f
         join schools s on s.urn = f.school_urn
         where f.recorded_at <= $1
           and ($2::int2 is null or s.la_code = $2)
           and ($3::int is null or s.urn = $3)
           and ($4 or s.la_code = any($5) or s.urn = any($6))",
    )
    .bind(at)
    .bind(la_code)
    .bind(urn)
    .bind(access.everything)
    .bind(&access.la_codes)
    .bind(&access.urns)
    .fetch_all(pool.pg())
    .await?;
    Ok(seqs.into_iter().collect())
}

/// [`crate::school_year_totals`] as at `at`: per school in scope (and within `access`), its
/// totals after the last feed recorded by then; schools with none are left out.
pub async fn school_year_totals_as_at(
    pool: &Pool,
    access: &Access,
    scope: Scope,
    year: i16,
    at: DateTime<Utc>,
) -> Result<Vec<SchoolYearTotals>> {
    let (la_code, urn) = scope.bounds();
    type Row = (i32, Vec<i64>, i64, i32, i32, i32, Option<NaiveDate>);
    let rows: Vec<Row> = sqlx::query_as(
        "select distinct on (h.school_urn)
                h.school_urn, h.sessions, h.marks, h.enrolments, h.persistent, h.severe,
                h.last_date
         from school_totals_history h
         join schools s on s.urn = h.school_urn
         where h.academic_year = $1 and h.recorded_at <= $2
           and ($3::int2 is null or s.la_code = $3)
           and ($4::int is null or s.urn = $4)
           and ($5 or s.la_code = any($6) or s.urn = any($7))
         order by h.school_urn, h.recorded_at desc, h.feed_seq desc",
    )
    .bind(year)
    .bind(at)
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
