//! The figures the queries answer with, over a period: per school standings and one page of the
//! pupils at risk. A whole academic year comes from the stored year totals when they answer it
//! exactly ([`year_totals`]); any other period is counted from the registers as they stream past.
//! As at a moment (`as_at`), the year totals are the ones kept after the last feed recorded by
//! then, and the registers are read as they were.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rollcall_db::{Access, EnrolmentCounts, Pool, PupilAccess, SchoolYearTotals, Scope};
use rollcall_server::ApiError;

use crate::measures::{Standing, WorstFirst};

/// Calls `each` with every enrolment's counters over the period, counted from the registers as
/// they stream past.
async fn for_each_enrolment(
    pool: &Pool,
    access: &Access,
    scope: Scope,
    (from, to): (NaiveDate, NaiveDate),
    as_at: Option<DateTime<Utc>>,
    each: impl FnMut(EnrolmentCounts),
) -> Result<(), ApiError> {
    rollcall_db::for_each_enrolment_as_at(pool, access, scope, (from, to), as_at, each)
        .await
        .map_err(|err| ApiError::database("cannot read attendance counts", &err))
}

/// The stored year totals of the schools in scope, when they answer the period exactly: it
/// starts on the first day of an academic year, stays within that year, and ends on or after
/// the last date any school in scope has marks for. Otherwise `None`, and the caller counts the
/// period from the registers.
async fn year_totals(
    pool: &Pool,
    access: &Access,
    scope: Scope,
    (from, to): (NaiveDate, NaiveDate),
    as_at: Option<DateTime<Utc>>,
) -> Result<Option<(i16, Vec<SchoolYearTotals>)>, ApiError> {
    let Some(year) = crate::period::whole_year(from, to) else {
        return Ok(None);
    };
    let start_year = year.start_year() as i16;
    let totals = match as_at {
        None => rollcall_db::school_year_totals(pool, access, scope, start_year).await,
        Some(at) => {
            rollcall_db::school_year_totals_as_at(pool, access, scope, start_year, at).await
        }
    }
    .map_err(|err| ApiError::database("cannot read year totals", &err))?;
    if totals.iter().any(|t| t.last_date.is_some_and(|d| d > to)) {
        return Ok(None);
    }
    Ok(Some((start_year, totals)))
}

/// Per school, the standing over the period: from the year totals when they answer it,
/// otherwise summed from each enrolment's counts.
pub async fn standings(
    pool: &Pool,
    access: &Access,
    scope: Scope,
    period: (NaiveDate, NaiveDate),
    as_at: Option<DateTime<Utc>>,
) -> Result<HashMap<i32, Standing>, ApiError> {
    if let Some((_, totals)) = year_totals(pool, access, scope, period, as_at).await? {
        return Ok(totals
            .iter()
            .map(|t| (t.school_urn, Standing::of_year(t)))
            .collect());
    }
    let mut by_school: HashMap<i32, Standing> = HashMap::new();
    for_each_enrolment(pool, access, scope, period, as_at, |e| {
        by_school
            .entry(e.school_urn)
            .or_default()
            .add_enrolment(&e.counters)
    })
    .await?;
    Ok(by_school)
}

/// A page of the at-risk list as [`at_risk`] finds it.
pub struct AtRiskPage {
    pub pupils: Vec<EnrolmentCounts>,
    /// The next page's token, empty on the last page.
    pub next: String,
    pub persistent: u64,
    pub severe: u64,
}

/// One page of the enrolments at risk over the period, worst first, the token of the next page,
/// and the persistent and severe counts in scope. A whole academic year is paged by PostgreSQL
/// from the year totals' index; any other period is counted here as the registers stream past,
/// keeping only the enrolments up to the page's end. As at a moment, every period is counted
/// from the registers as they were (the index orders today's rates only).
pub async fn at_risk(
    pool: &Pool,
    access: &PupilAccess,
    scope: Scope,
    period: (NaiveDate, NaiveDate),
    as_at: Option<DateTime<Utc>>,
    severe_only: bool,
    page: rollcall_db::Page,
) -> Result<AtRiskPage, ApiError> {
    let today = match as_at {
        None => year_totals(pool, access.schools(), scope, period, None).await?,
        Some(_) => None,
    };
    if let Some((year, totals)) = today {
        let persistent = totals.iter().map(|t| t.persistent.max(0) as u64).sum();
        let severe = totals.iter().map(|t| t.severe.max(0) as u64).sum();
        let found = rollcall_db::at_risk_year(pool, access, scope, year, severe_only, page)
            .await
            .map_err(|err| ApiError::database("cannot read year totals", &err))?;
        let next = if found.more {
            (page.offset + found.rows.len() as u64).to_string()
        } else {
            String::new()
        };
        return Ok(AtRiskPage {
            pupils: found.rows,
            next,
            persistent,
            severe,
        });
    }
    // Counted here: only the enrolments up to the end of the page are kept as they pass.
    let offset = usize::try_from(page.offset).unwrap_or(usize::MAX);
    let end = offset.saturating_add(page.size as usize);
    let (mut persistent, mut severe) = (0u64, 0u64);
    let mut worst = WorstFirst::new(end);
    for_each_enrolment(pool, access.schools(), scope, period, as_at, |e| {
        let (is_persistent, is_severe) = (e.counters.is_persistent(), e.counters.is_severe());
        persistent += u64::from(is_persistent);
        severe += u64::from(is_severe);
        if if severe_only {
            is_severe
        } else {
            is_persistent
        } {
            worst.push(e);
        }
    })
    .await?;
    let listed = if severe_only { severe } else { persistent };
    let next = if (end as u64) < listed {
        end.to_string()
    } else {
        String::new()
    };
    let pupils = worst.into_sorted().into_iter().skip(offset).collect();
    Ok(AtRiskPage {
        pupils,
        next,
        persistent,
        severe,
    })
}

/// One page of the approaching-persistent list over the period, nearest first: enrolments not
/// persistently absent, with at least one absence, that `within` further absent sessions would
/// make so. A whole academic year today is paged by PostgreSQL from the stored distance's index;
/// any other period, and every answer as at a moment, is counted from the registers.
pub async fn approaching(
    pool: &Pool,
    access: &PupilAccess,
    scope: Scope,
    period: (NaiveDate, NaiveDate),
    as_at: Option<DateTime<Utc>>,
    within: u32,
    page: rollcall_db::Page,
) -> Result<(Vec<EnrolmentCounts>, String, u64), ApiError> {
    let today = match as_at {
        None => year_totals(pool, access.schools(), scope, period, None).await?,
        Some(_) => None,
    };
    if let Some((year, _)) = today {
        let found = rollcall_db::approaching_year(pool, access, scope, year, within, page)
            .await
            .map_err(|err| ApiError::database("cannot read year totals", &err))?;
        let next = if found.page.more {
            (page.offset + found.page.rows.len() as u64).to_string()
        } else {
            String::new()
        };
        return Ok((found.page.rows, next, found.total));
    }
    let offset = usize::try_from(page.offset).unwrap_or(usize::MAX);
    let end = offset.saturating_add(page.size as usize);
    let mut total = 0u64;
    let mut nearest = WorstFirst::nearest_persistent(end);
    for_each_enrolment(pool, access.schools(), scope, period, as_at, |e| {
        if is_approaching(&e.counters, within) {
            total += 1;
            nearest.push(e);
        }
    })
    .await?;
    let next = if (end as u64) < total {
        end.to_string()
    } else {
        String::new()
    };
    let pupils = nearest.into_sorted().into_iter().skip(offset).collect();
    Ok((pupils, next, total))
}

/// On the approaching list within `within` sessions: as `enrolment_totals.to_persistent` stores
/// it (not persistent, an absence, close enough).
pub fn is_approaching(counters: &rollcall_domain::Counters, within: u32) -> bool {
    counters.overall_absence() > 0
        && !counters.is_persistent()
        && counters.sessions_to_persistent() <= u64::from(within)
}
