//! Reads for the exports: one consistent snapshot, read school by school.
//!
//! An export can cover every school in England over a whole year, so nothing here reads more
//! than one school's rows at a time: the caller lists the schools, then asks for each school's
//! registers in turn and writes them out before asking for the next. Memory is bounded by the
//! largest school, not by the area or the period.
//!
//! Every read of one export runs in one `repeatable read, read only` transaction, so a file
//! written while feeds keep arriving still adds up: it is the data as of [`ExportReader::as_of`].
//! Asked as at an earlier moment ([`ExportReader::as_at`]), the same reads give what the LA knew
//! then: the registers and pupils' details from the feeds recorded by that moment.
//! Schools are listed through an [`Access`] (aggregate exports) or a [`PupilAccess`]
//! (pupil-level exports); the per-school reads take the listed school, so they cannot reach a
//! school the caller was not given.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rollcall_domain::codes::AttendanceCode;
use sqlx::{Postgres, Transaction};

use crate::access::{Access, PupilAccess};
use crate::codebook::CodeBook;
use crate::queries::{Enrolment, Scope};
use crate::register::{self, MonthRegister};
use crate::{Pool, Result};

/// A school an export covers, listed within the caller's access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportSchool {
    pub urn: i32,
    pub la_code: i16,
    /// `schools.phase`: primary, secondary, special, all-through, nursery, alternative-provision.
    pub phase: String,
    pub independent: bool,
}

/// A school whose pupils' details the caller may read: only from [`ExportReader::pupil_schools`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PupilSchool(ExportSchool);

impl PupilSchool {
    pub fn school(&self) -> &ExportSchool {
        &self.0
    }
}

/// One enrolment's months within the period, oldest first.
#[derive(Clone, Debug)]
pub struct EnrolmentRegister {
    pub enrolment_id: i64,
    pub months: Vec<(NaiveDate, MonthRegister)>,
}

/// Dates of birth to keep: `from..=to`. For the DfE's scope, the births that make a pupil of
/// compulsory school age in the year.
pub type Births = (NaiveDate, NaiveDate);

/// An export's reading session: a read-only snapshot of the database.
pub struct ExportReader {
    tx: Transaction<'static, Postgres>,
    as_of: DateTime<Utc>,
    as_at: Option<DateTime<Utc>>,
    book: CodeBook,
}

impl ExportReader {
    /// Starts the snapshot; with `as_at`, every read answers as the LA knew it at that moment.
    pub async fn begin(pool: &Pool, as_at: Option<DateTime<Utc>>) -> Result<ExportReader> {
        let mut tx = pool.begin().await?;
        sqlx::query("set transaction isolation level repeatable read, read only")
            .execute(&mut *tx)
            .await?;
        // The snapshot is taken by the first query after the `set`: this one.
        let as_of: DateTime<Utc> = sqlx::query_scalar("select statement_timestamp()")
            .fetch_one(&mut *tx)
            .await?;
        let book = CodeBook::load(&mut tx).await?;
        Ok(ExportReader {
            tx,
            as_of,
            as_at,
            book,
        })
    }

    /// When the snapshot was taken: later feeds are not in the export.
    pub fn as_of(&self) -> DateTime<Utc> {
        self.as_of
    }

    /// The moment the reads answer as at (`None`: as of the snapshot): feeds recorded after it,
    /// and the corrections they made, are not in the export.
    pub fn as_at(&self) -> Option<DateTime<Utc>> {
        self.as_at
    }

    /// The national code a stored code id stands for.
    pub fn code(&self, id: u8) -> Result<&'static AttendanceCode> {
        self.book.code(id)
    }

    /// The schools of the LAs `la_codes` (every LA when `None`) within `access`, ordered by LA
    /// and URN.
    pub async fn schools(
        &mut self,
        access: &Access,
        la_codes: Option<&[i16]>,
    ) -> Result<Vec<ExportSchool>> {
        self.select_schools(access, la_codes, None).await
    }

    /// The schools in `scope` whose pupils `access` may see, ordered by URN.
    pub async fn pupil_schools(
        &mut self,
        access: &PupilAccess,
        scope: Scope,
    ) -> Result<Vec<PupilSchool>> {
        let (la_codes, urn) = match scope {
            Scope::La(la) => (Some(vec![la]), None),
            Scope::School(urn) => (None, Some(urn)),
        };
        let schools = self.select_schools(access.schools(), la_codes.as_deref(), urn);
        Ok(schools.await?.into_iter().map(PupilSchool).collect())
    }

    /// The schools within `access`, of `la_codes` and with `urn` where given, ordered by LA
    /// code and URN.
    async fn select_schools(
        &mut self,
        access: &Access,
        la_codes: Option<&[i16]>,
        urn: Option<i32>,
    ) -> Result<Vec<ExportSchool>> {
        let rows: Vec<(i32, i16, String, bool)> = sqlx::query_as(
            "select s.urn, s.la_code, s.phase, s.independent
             from schools s
             where ($1::int2[] is null or s.la_code = any($1))
               and ($2::int is null or s.urn = $2)
               and ($3 or s.la_code = any($4) or s.urn = any($5))
             order by s.la_code, s.urn",
        )
        .bind(la_codes)
        .bind(urn)
        .bind(access.everything)
        .bind(&access.la_codes)
        .bind(&access.urns)
        .fetch_all(&mut *self.tx)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(urn, la_code, phase, independent)| ExportSchool {
                urn,
                la_code,
                phase,
                independent,
            })
            .collect())
    }

    /// The latest date any of `schools` has a mark for, from the year totals (as at the moment
    /// asked, from the totals kept after each feed recorded by then).
    pub async fn last_marked_date(&mut self, urns: &[i32]) -> Result<Option<NaiveDate>> {
        let last = match self.as_at {
            None => sqlx::query_scalar(
                "select max(last_date) from school_totals where school_urn = any($1)",
            )
            .bind(urns),
            Some(at) => sqlx::query_scalar(
                "select max(last_date) from school_totals_history
                 where school_urn = any($1) and recorded_at <= $2",
            )
            .bind(urns)
            .bind(at),
        }
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(last)
    }

    /// A school's registers for the months touching `from..=to`, by enrolment, keeping only the
    /// enrolments born within `births` when given. Sessions outside the period are still in
    /// the months at either end: the caller filters by date.
    pub async fn registers(
        &mut self,
        school: &ExportSchool,
        from: NaiveDate,
        to: NaiveDate,
        births: Option<Births>,
    ) -> Result<Vec<EnrolmentRegister>> {
        let rows: Vec<register::StoredRow> = sqlx::query_as(concat!(
            "select ",
            register::columns!(),
            "
                 from enrolments e
                 join register r on r.enrolment_id = e.id
                 where e.school_urn = $1 and r.month between $2 and $3
                   and ($4::date is null or e.date_of_birth between $4 and $5)
                 order by r.enrolment_id, r.month"
        ))
        .bind(school.urn)
        .bind(register::month_of(from))
        .bind(register::month_of(to))
        .bind(births.map(|b| b.0))
        .bind(births.map(|b| b.1))
        .fetch_all(&mut *self.tx)
        .await?;
        let recorded = match self.as_at {
            Some(at) => Some((at, self.school_feed_times(school.urn).await?)),
            None => None,
        };
        let mut out: Vec<EnrolmentRegister> = Vec::new();
        for row in rows {
            let (enrolment_id, month, mut register) = register::decode_stored(row)?;
            if let Some((at, times)) = &recorded {
                register = register.as_at(|seq| times.get(&seq).is_some_and(|t| t <= at));
            }
            match out.last_mut() {
                Some(last) if last.enrolment_id == enrolment_id => {
                    last.months.push((month, register))
                }
                _ => out.push(EnrolmentRegister {
                    enrolment_id,
                    months: vec![(month, register)],
                }),
            }
        }
        Ok(out)
    }

    /// The pupils on a school's roll, with their latest recorded details (as at the moment
    /// asked: the version recorded by then, and no pupil first sent later), by enrolment id.
    pub async fn enrolments(&mut self, school: &PupilSchool) -> Result<HashMap<i64, Enrolment>> {
        // The current row where it was recorded by then, else the version that held then (a
        // history row is valid from its recorded_at until the next version replaced it).
        let rows: Vec<Enrolment> = sqlx::query_as(
            "select e.id, e.school_urn, e.upn, e.forename, e.surname, e.date_of_birth, e.sex,
                    e.year_group, e.admission_date, e.leaving_date, e.fsm, e.sen_provision,
                    e.ethnicity, e.looked_after
             from enrolments e
             where e.school_urn = $1 and ($2::timestamptz is null or e.recorded_at <= $2)
             union all
             select e.id, e.school_urn, e.upn, h.forename, h.surname, h.date_of_birth, h.sex,
                    h.year_group, h.admission_date, h.leaving_date, h.fsm, h.sen_provision,
                    h.ethnicity, h.looked_after
             from enrolment_history h
             join enrolments e on e.id = h.enrolment_id
             where $2::timestamptz is not null and e.school_urn = $1
               and h.recorded_at <= $2 and h.replaced_at > $2",
        )
        .bind(school.0.urn)
        .bind(self.as_at)
        .fetch_all(&mut *self.tx)
        .await?;
        Ok(rows.into_iter().map(|e| (e.id, e)).collect())
    }

    /// When each of a school's feeds was recorded by the MIS, by feed number (`feeds.seq`): the
    /// time a mark was recorded is its feed's.
    pub async fn feed_times(
        &mut self,
        school: &PupilSchool,
    ) -> Result<HashMap<i32, DateTime<Utc>>> {
        self.school_feed_times(school.0.urn).await
    }

    async fn school_feed_times(&mut self, urn: i32) -> Result<HashMap<i32, DateTime<Utc>>> {
        let rows: Vec<(i32, DateTime<Utc>)> = sqlx::query_as(
            "select seq, recorded_at from feeds where school_urn = $1 and recorded_at is not null",
        )
        .bind(urn)
        .fetch_all(&mut *self.tx)
        .await?;
        Ok(rows.into_iter().collect())
    }

    /// Ends the snapshot. Dropping the reader does the same, less politely.
    pub async fn finish(self) -> Result<()> {
        self.tx.rollback().await?;
        Ok(())
    }
}
