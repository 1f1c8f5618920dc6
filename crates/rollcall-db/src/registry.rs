//! The school registry and the national attendance codes: reference data the pipeline reads.

use sqlx::PgConnection;

use crate::access::Access;
use crate::{Pool, Result};

/// A school as the LA's registry knows it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct School {
    pub urn: i32,
    pub la_code: i16,
    pub name: String,
    /// primary, secondary, special, all-through, nursery or alternative-provision.
    pub phase: String,
    pub school_type: String,
    pub independent: bool,
}

/// Inserts or updates schools by URN (the last of duplicate URNs wins). Returns how many rows
/// were inserted or changed; rows already holding the same values are left untouched.
///
/// When anything changed, the table's planner statistics are gathered again at once: how many
/// schools an LA has decides whether an LA's at-risk page is read in order from its index or
/// every at-risk enrolment of the LA is sorted first (docs/performance.md has the figures), and
/// until autovacuum next analyses the table (never, on a server with it off) nothing else
/// gathers them.
pub async fn upsert_schools(pool: &Pool, schools: &[School]) -> Result<u64> {
    let mut urn = Vec::with_capacity(schools.len());
    let mut la_code = Vec::with_capacity(schools.len());
    let mut name = Vec::with_capacity(schools.len());
    let mut phase = Vec::with_capacity(schools.len());
    let mut school_type = Vec::with_capacity(schools.len());
    let mut independent = Vec::with_capacity(schools.len());
    for s in schools {
        urn.push(s.urn);
        la_code.push(s.la_code);
        name.push(s.name.as_str());
        phase.push(s.phase.as_str());
        school_type.push(s.school_type.as_str());
        independent.push(s.independent);
    }
    let done = sqlx::query(
        "with input as (
             select distinct on (urn) *
             from unnest($1::int[], $2::int2[], $3::text[], $4::text[], $5::text[], $6::bool[])
                  with ordinality as i(urn, la_code, name, phase, school_type, independent, ord)
             order by urn, ord desc
         )
         insert into schools as s (urn, la_code, name, phase, school_type, independent, updated_at)
         select urn, la_code, name, phase, school_type, independent, now() from input
         on conflict (urn) do update
         set la_code = excluded.la_code, name = excluded.name, phase = excluded.phase,
             school_type = excluded.school_type, independent = excluded.independent,
             updated_at = excluded.updated_at
         where (s.la_code, s.name, s.phase, s.school_type, s.independent)
               is distinct from
               (excluded.la_code, excluded.name, excluded.phase, excluded.school_type,
                excluded.independent)",
    )
    .bind(urn)
    .bind(la_code)
    .bind(name)
    .bind(phase)
    .bind(school_type)
    .bind(independent)
    .execute(pool.pg())
    .await?;
    if done.rows_affected() > 0 {
        sqlx::query("analyze schools").execute(pool.pg()).await?;
    }
    Ok(done.rows_affected())
}

pub async fn get_school(pool: &Pool, urn: i32) -> Result<Option<School>> {
    let school = sqlx::query_as(
        "select urn, la_code, name, phase, school_type, independent from schools where urn = $1",
    )
    .bind(urn)
    .fetch_optional(pool.pg())
    .await?;
    Ok(school)
}

/// Every school, or an LA's schools, within `access`, ordered by URN.
pub async fn list_schools(
    pool: &Pool,
    access: &Access,
    la_code: Option<i16>,
) -> Result<Vec<School>> {
    let schools = sqlx::query_as(
        "select urn, la_code, name, phase, school_type, independent from schools
         where ($1::int2 is null or la_code = $1)
           and ($2 or la_code = any($3) or urn = any($4))
         order by urn",
    )
    .bind(la_code)
    .bind(access.everything)
    .bind(&access.la_codes)
    .bind(&access.urns)
    .fetch_all(pool.pg())
    .await?;
    Ok(schools)
}

/// One national attendance code and how it counts.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct CodeRow {
    pub code: String,
    /// present, aea, authorised, unauthorised or not_possible.
    pub category: String,
    pub counts_as_possible: bool,
}

/// The domain's national codes, as `attendance_codes` rows.
pub fn domain_codes() -> Vec<CodeRow> {
    rollcall_domain::codes::all()
        .iter()
        .map(|c| CodeRow {
            code: c.code().to_owned(),
            category: c.category().as_str().to_owned(),
            counts_as_possible: c.counts_as_possible(),
        })
        .collect()
}

/// Makes `attendance_codes` hold every code in `codes` with its category (the domain crate is
/// the source of truth), numbering new codes after the highest id. A code missing from `codes`
/// is kept: stored registers may hold its id. Services call it at start, possibly several at
/// once: the calls are serialised.
pub async fn sync_codes(pool: &Pool, codes: &[CodeRow]) -> Result<()> {
    let mut tx = pool.begin().await?;
    sync_codes_on(&mut tx, codes).await?;
    tx.commit().await?;
    Ok(())
}

/// [`sync_codes`] inside the caller's transaction.
pub(crate) async fn sync_codes_on(conn: &mut PgConnection, codes: &[CodeRow]) -> Result<()> {
    let code: Vec<&str> = codes.iter().map(|c| c.code.as_str()).collect();
    let category: Vec<&str> = codes.iter().map(|c| c.category.as_str()).collect();
    let possible: Vec<bool> = codes.iter().map(|c| c.counts_as_possible).collect();
    crate::locks::lock_codes(conn).await?;
    sqlx::query(
        "with input as (
             select distinct on (code) *
             from unnest($1::text[], $2::text[], $3::bool[])
                  with ordinality as i(code, category, counts_as_possible, ord)
             order by code, ord desc
         ),
         updated as (
             update attendance_codes c
             set category = i.category, counts_as_possible = i.counts_as_possible
             from input i
             where c.code = i.code
               and (c.category, c.counts_as_possible)
                   is distinct from (i.category, i.counts_as_possible)
         ),
         new as (
             select i.*, row_number() over (order by i.ord) as n
             from input i
             where not exists (select 1 from attendance_codes c where c.code = i.code)
         )
         insert into attendance_codes (code, category, counts_as_possible, id)
         select code, category, counts_as_possible,
                (select coalesce(max(id), 0) from attendance_codes) + n
         from new",
    )
    .bind(code)
    .bind(category)
    .bind(possible)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
