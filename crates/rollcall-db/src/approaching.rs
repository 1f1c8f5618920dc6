//! The approaching-persistent list over an academic year, read from the stored totals: the
//! enrolments not yet persistently absent that a few more absent sessions would make so, nearest
//! first. `enrolment_totals.to_persistent` and its index (migration 0009) hold the distance, so
//! a page is one index range; any other period, or an answer as at a moment, is counted by the
//! query service from the registers.

use crate::access::PupilAccess;
use crate::queries::{EnrolmentCounts, Page, PageOf, Scope, bind_year_list, decode_totals};
use crate::{Pool, Result};

/// Binds: year, la code or urn, horizon, the access filter (everything, la codes, urns), then
/// offset and limit for a page.
const FROM_LA: &str = "from enrolment_totals t
     join schools s on s.urn = t.school_urn
     where t.academic_year = $1 and t.to_persistent is not null and t.to_persistent <= $3
       and s.la_code = $2
       and ($4 or s.la_code = any($5) or s.urn = any($6))";
const FROM_SCHOOL: &str = "from enrolment_totals t
     join schools s on s.urn = t.school_urn
     where t.academic_year = $1 and t.to_persistent is not null and t.to_persistent <= $3
       and t.school_urn = $2
       and ($4 or s.la_code = any($5) or s.urn = any($6))";
const ORDER: &str = "order by t.to_persistent, t.school_urn, t.enrolment_id offset $7 limit $8";

fn from_clause(scope: Scope) -> &'static str {
    match scope {
        Scope::La(_) => FROM_LA,
        Scope::School(_) => FROM_SCHOOL,
    }
}

/// One page of the list, and how many enrolments in scope are on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApproachingPage {
    pub page: PageOf<EnrolmentCounts>,
    pub total: u64,
}

/// The enrolments in scope over the academic year starting in `year` that at most `within`
/// further absent sessions would make persistently absent (none absent yet are left out),
/// nearest first, ties by school and then enrolment. `within` above
/// [`crate::APPROACHING_HORIZON`] finds no more than the horizon does.
pub async fn approaching_year(
    pool: &Pool,
    access: &PupilAccess,
    scope: Scope,
    year: i16,
    within: u32,
    page: Page,
) -> Result<ApproachingPage> {
    let access = access.schools();
    let within = i16::try_from(within).unwrap_or(i16::MAX);
    let select = format!(
        "select t.enrolment_id, t.school_urn, t.sessions {} {ORDER}",
        from_clause(scope)
    );
    let mut rows: Vec<(i64, i32, Vec<i32>)> = bind_year_list(
        sqlx::query_as(sqlx::AssertSqlSafe(select)),
        access,
        scope,
        year,
        within,
    )
    .bind(i64::try_from(page.offset).unwrap_or(i64::MAX))
    .bind(i64::from(page.size) + 1)
    .fetch_all(pool.pg())
    .await?;
    let count = format!("select count(*) {}", from_clause(scope));
    let (total,): (i64,) = bind_year_list(
        sqlx::query_as(sqlx::AssertSqlSafe(count)),
        access,
        scope,
        year,
        within,
    )
    .fetch_one(pool.pg())
    .await?;
    let more = rows.len() > page.size as usize;
    rows.truncate(page.size as usize);
    Ok(ApproachingPage {
        page: PageOf {
            rows: decode_totals(pool, &rows).await?,
            more,
        },
        total: total.max(0) as u64,
    })
}
