//! Year totals kept beside the registers, so an LA's year is read from a row per school rather
//! than summed from every mark.
//!
//! `enrolment_totals` holds each enrolment's sessions per code for an academic year and whether
//! that makes it a persistent or severe absentee; `school_totals` holds the school's sums and how
//! many of its enrolments are counted, persistent and severe. The aggregator changes both in the
//! transaction that changes the marks, under the school's lock, from the difference between a
//! register row before and after: the totals always equal what the registers hold.
//! [`rebuild_school_totals`] recomputes them from the registers, for migrations and checks.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use rollcall_domain::{AcademicYear, Counters};
use sqlx::PgConnection;

use crate::codebook::CodeBook;
use crate::register;
use crate::{Pool, Result};

/// The academic year a register month belongs to (a month never straddles two).
pub(crate) fn academic_year(month: NaiveDate) -> i16 {
    AcademicYear::of(month).start_year() as i16
}

/// Changes to one school's totals for one academic year.
#[derive(Debug, Default)]
pub(crate) struct YearChange {
    /// Per enrolment, the change in sessions per code (`[id - 1]`).
    pub sessions: BTreeMap<i64, Vec<i64>>,
    /// Marks stored where the session had none.
    pub new_marks: i64,
    /// The latest date written.
    pub last_date: Option<NaiveDate>,
}

impl YearChange {
    /// Records one session moving from `old` to `new` code id (0: no mark).
    pub fn record(&mut self, enrolment_id: i64, date: NaiveDate, old: u8, new: u8) {
        self.last_date = self.last_date.max(Some(date));
        if old == new {
            return;
        }
        let delta = self.sessions.entry(enrolment_id).or_default();
        for (id, change) in [(old, -1), (new, 1)] {
            if id == 0 {
                continue;
            }
            let index = id as usize - 1;
            if delta.len() <= index {
                delta.resize(index + 1, 0);
            }
            delta[index] += change;
        }
        self.new_marks += i64::from(old == 0) - i64::from(new == 0);
    }
}

/// Where an enrolment's counters put it in the DfE measures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Standing {
    /// Has at least one possible session: counts towards enrolments and the rates.
    counted: bool,
    persistent: bool,
    severe: bool,
}

impl Standing {
    fn of(counters: &Counters) -> Standing {
        let counted = counters.possible() > 0;
        Standing {
            counted,
            persistent: counted && counters.is_persistent(),
            severe: counted && counters.is_severe(),
        }
    }

    /// 0 none, 1 persistent, 2 severe: `enrolment_totals.risk`.
    fn risk(self) -> i16 {
        match (self.persistent, self.severe) {
            (_, true) => 2,
            (true, false) => 1,
            _ => 0,
        }
    }
}

/// `enrolment_totals.absence_rate`: the overall absence rate in percent, as the at-risk list
/// orders by it, stored only while the enrolment is at risk (see migration 0005).
fn at_risk_rate(standing: Standing, counters: &Counters) -> Option<f64> {
    if standing.risk() == 0 {
        return None;
    }
    counters.overall_absence_rate().map(|r| r.percent())
}

/// The longest horizon of the approaching-persistent list, in further absent sessions (two
/// school weeks): `enrolment_totals.to_persistent` is stored only up to it.
pub const APPROACHING_HORIZON: u32 = 20;

/// `enrolment_totals.to_persistent`: the further absent sessions that would make the enrolment
/// persistently absent, stored only while it is not at risk, has an absence and is within
/// [`APPROACHING_HORIZON`] (see migration 0009).
fn to_persistent(standing: Standing, counters: &Counters) -> Option<i16> {
    if standing.risk() != 0 || counters.overall_absence() == 0 {
        return None;
    }
    let k = counters.sessions_to_persistent();
    (k <= u64::from(APPROACHING_HORIZON)).then_some(k as i16)
}

/// Adds `delta` into `total` element by element, then drops trailing zeros, so that equal
/// counts are always stored as equal arrays however they were reached.
fn add_into(total: &mut Vec<i64>, delta: &[i64]) {
    if total.len() < delta.len() {
        total.resize(delta.len(), 0);
    }
    for (t, d) in total.iter_mut().zip(delta) {
        *t += d;
    }
    while total.last() == Some(&0) {
        total.pop();
    }
}

/// Renders a count array as a PostgreSQL array literal, so rows of arrays can be `UNNEST`ed
/// from one `text[]` parameter (a two-dimensional parameter would flatten).
fn array_literal(values: &[i64]) -> String {
    let items: Vec<String> = values.iter().map(i64::to_string).collect();
    format!("{{{}}}", items.join(","))
}

/// Applies `changes` to the school's enrolment and school totals. A feed's changes (`version`
/// its recorded time and sequence number) also keep the school's new totals in
/// `school_totals_history`, for answers as at a moment; a rebuild's (`None`) do not.
pub(crate) async fn apply_changes(
    conn: &mut PgConnection,
    book: &CodeBook,
    school_urn: i32,
    version: Option<(DateTime<Utc>, i32)>,
    changes: &BTreeMap<i16, YearChange>,
) -> Result<()> {
    for (&year, change) in changes {
        if change.sessions.is_empty() && change.new_marks == 0 && change.last_date.is_none() {
            continue;
        }
        let ids: Vec<i64> = change.sessions.keys().copied().collect();
        let stored: HashMap<i64, Vec<i32>> = sqlx::query_as(
            "select enrolment_id, sessions from enrolment_totals
             where academic_year = $1 and enrolment_id = any($2)",
        )
        .bind(year)
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();

        let mut school_sessions: Vec<i64> = Vec::new();
        let (mut enrolments, mut persistent, mut severe) = (0i64, 0i64, 0i64);
        let mut sessions_text = Vec::with_capacity(ids.len());
        let mut risks = Vec::with_capacity(ids.len());
        let mut rates = Vec::with_capacity(ids.len());
        let mut nearness = Vec::with_capacity(ids.len());
        for (&id, delta) in &change.sessions {
            let before: Vec<i64> = stored
                .get(&id)
                .map(|s| s.iter().map(|&n| i64::from(n)).collect())
                .unwrap_or_default();
            let mut after = before.clone();
            add_into(&mut after, delta);
            let was = Standing::of(&book.counters(&before)?);
            let counters = book.counters(&after)?;
            let now = Standing::of(&counters);
            add_into(&mut school_sessions, delta);
            enrolments += i64::from(now.counted) - i64::from(was.counted);
            persistent += i64::from(now.persistent) - i64::from(was.persistent);
            severe += i64::from(now.severe) - i64::from(was.severe);
            sessions_text.push(array_literal(&after));
            risks.push(now.risk());
            rates.push(at_risk_rate(now, &counters));
            nearness.push(to_persistent(now, &counters));
        }
        sqlx::query(
            "insert into enrolment_totals as t (enrolment_id, academic_year, school_urn, sessions,
                                                risk, absence_rate, to_persistent)
             select i.enrolment_id, $1, $2, i.sessions::int4[], i.risk, i.absence_rate,
                    i.to_persistent
             from unnest($3::int8[], $4::text[], $5::int2[], $6::float8[], $7::int2[])
                  as i(enrolment_id, sessions, risk, absence_rate, to_persistent)
             on conflict (enrolment_id, academic_year) do update
             set sessions = excluded.sessions, risk = excluded.risk,
                 absence_rate = excluded.absence_rate, to_persistent = excluded.to_persistent",
        )
        .bind(year)
        .bind(school_urn)
        .bind(&ids)
        .bind(&sessions_text)
        .bind(&risks)
        .bind(&rates)
        .bind(&nearness)
        .execute(&mut *conn)
        .await?;

        let before: Vec<i64> = sqlx::query_scalar(
            "select sessions from school_totals where school_urn = $1 and academic_year = $2",
        )
        .bind(school_urn)
        .bind(year)
        .fetch_optional(&mut *conn)
        .await?
        .unwrap_or_default();
        let mut after = before;
        add_into(&mut after, &school_sessions);
        sqlx::query(
            "with t as (
                 insert into school_totals as t (school_urn, academic_year, sessions, marks,
                                                 enrolments, persistent, severe, last_date)
                 values ($1, $2, $3, $4, $5, $6, $7, $8)
                 on conflict (school_urn, academic_year) do update
                 set sessions = excluded.sessions,
                     marks = t.marks + excluded.marks,
                     enrolments = t.enrolments + excluded.enrolments,
                     persistent = t.persistent + excluded.persistent,
                     severe = t.severe + excluded.severe,
                     last_date = greatest(t.last_date, excluded.last_date)
                 returning *
             )
             insert into school_totals_history (school_urn, academic_year, recorded_at, feed_seq,
                                                sessions, marks, enrolments, persistent, severe,
                                                last_date)
             select school_urn, academic_year, $9, $10, sessions, marks, enrolments, persistent,
                    severe, last_date
             from t
             where $9::timestamptz is not null
             on conflict do nothing",
        )
        .bind(school_urn)
        .bind(year)
        .bind(&after)
        .bind(change.new_marks)
        .bind(enrolments as i32)
        .bind(persistent as i32)
        .bind(severe as i32)
        .bind(change.last_date)
        .bind(version.map(|v| v.0))
        .bind(version.map(|v| v.1))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Recomputes one school's totals from its register rows, replacing what is stored. Takes the
/// school's lock, so it can run beside the aggregator.
pub async fn rebuild_school_totals(pool: &Pool, school_urn: i32) -> Result<()> {
    let mut tx = pool.begin().await?;
    crate::locks::lock_schools(&mut tx, &[school_urn]).await?;
    let book = crate::codebook::store(pool, CodeBook::load_complete(&mut tx).await?);
    sqlx::query("delete from enrolment_totals where school_urn = $1")
        .bind(school_urn)
        .execute(&mut *tx)
        .await?;
    sqlx::query("delete from school_totals where school_urn = $1")
        .bind(school_urn)
        .execute(&mut *tx)
        .await?;
    let rows: Vec<register::StoredRow> = sqlx::query_as(concat!(
        "select ",
        register::columns!(),
        "
         from enrolments e join register r on r.enrolment_id = e.id
         where e.school_urn = $1"
    ))
    .bind(school_urn)
    .fetch_all(&mut *tx)
    .await?;
    let mut changes: BTreeMap<i16, YearChange> = BTreeMap::new();
    for row in rows {
        let (enrolment_id, month, decoded) = register::decode_stored(row)?;
        let change = changes.entry(academic_year(month)).or_default();
        for (slot, mark) in decoded.marks() {
            let (date, _) = register::session_of(month, slot);
            change.record(enrolment_id, date, 0, mark.code_id);
        }
    }
    apply_changes(&mut tx, &book, school_urn, None, &changes).await?;
    sqlx::query("delete from pending_rebuilds where school_urn = $1")
        .bind(school_urn)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Rebuilds the totals of every school a migration left marked for it. Returns how many.
pub async fn rebuild_pending_totals(pool: &Pool) -> Result<usize> {
    let pending: Vec<i32> = sqlx::query_scalar("select school_urn from pending_rebuilds")
        .fetch_all(pool.pg())
        .await?;
    for &urn in &pending {
        rebuild_school_totals(pool, urn).await?;
    }
    Ok(pending.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_change_of_code_moves_one_session_between_codes() {
        let mut change = YearChange::default();
        change.record(7, d("2025-09-08"), 0, 2);
        change.record(7, d("2025-09-09"), 0, 2);
        change.record(7, d("2025-09-08"), 2, 3);
        change.record(8, d("2025-09-01"), 1, 1);
        assert_eq!(change.sessions[&7], vec![0, 1, 1]);
        assert!(
            !change.sessions.contains_key(&8),
            "a re-sent code changes no count"
        );
        assert_eq!(change.new_marks, 2);
        assert_eq!(change.last_date, Some(d("2025-09-09")));
    }

    #[test]
    fn months_belong_to_the_academic_year_they_fall_in() {
        assert_eq!(academic_year(d("2025-09-01")), 2025);
        assert_eq!(academic_year(d("2026-08-01")), 2025);
        assert_eq!(academic_year(d("2026-07-01")), 2025);
        assert_eq!(academic_year(d("2025-08-01")), 2024);
    }

    #[test]
    fn array_literals_parse_back_in_postgres_form() {
        assert_eq!(array_literal(&[]), "{}");
        assert_eq!(array_literal(&[3, 0, -1]), "{3,0,-1}");
    }
}
