//! One pupil across the LA: finding them, and everything the LA holds about them (their
//! enrolments, every session with when it was recorded, every correction, their attributes
//! before each change). Pupil-level reads: the caller audits them.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rollcall_domain::codes::AttendanceCode;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::access::PupilAccess;
use crate::codebook::{self, CodeBook};
use crate::queries::Enrolment;
use crate::register::{self, MonthRegister};
use crate::{Pool, Result};

/// How a pupil is looked for. Every comparison is whole (no partial UPN, no prefix of a name)
/// and names ignore case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PupilSearch<'a> {
    Upn(&'a str),
    SurnameAndBirth(&'a str, NaiveDate),
    Names { forename: &'a str, surname: &'a str },
}

/// The most enrolments a search returns: a search matching more is too wide to be a lookup.
pub const MAX_FOUND: i64 = 200;

const ENROLMENT_COLUMNS: &str = "e.id, e.school_urn, e.upn, e.forename, e.surname,
     e.date_of_birth, e.sex, e.year_group, e.admission_date, e.leaving_date, e.fsm,
     e.sen_provision, e.ethnicity, e.looked_after";

/// The enrolments matching `search` in schools within `access`, by UPN and admission date; at
/// most [`MAX_FOUND`] + 1, so the caller can tell the search was too wide. A pupil of a school
/// the caller may not see is not found, and nothing says it exists.
pub async fn find_pupils(
    pool: &Pool,
    access: &PupilAccess,
    search: PupilSearch<'_>,
) -> Result<Vec<Enrolment>> {
    let access = access.schools();
    let (upn, surname, forename, birth) = match search {
        PupilSearch::Upn(upn) => (Some(upn), None, None, None),
        PupilSearch::SurnameAndBirth(surname, birth) => (None, Some(surname), None, Some(birth)),
        PupilSearch::Names { forename, surname } => (None, Some(surname), Some(forename), None),
    };
    let sql = format!(
        "select {ENROLMENT_COLUMNS}
         from enrolments e
         join schools s on s.urn = e.school_urn
         where ($1::text is null or e.upn = $1)
           and ($2::text is null or lower(e.surname) = lower($2))
           and ($3::text is null or lower(e.forename) = lower($3))
           and ($4::date is null or e.date_of_birth = $4)
           and ($5 or s.la_code = any($6) or s.urn = any($7))
         order by e.upn, e.admission_date nulls first, e.id
         limit $8"
    );
    let found = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(upn)
        .bind(surname)
        .bind(forename)
        .bind(birth)
        .bind(access.everything)
        .bind(&access.la_codes)
        .bind(&access.urns)
        .bind(MAX_FOUND + 1)
        .fetch_all(pool.pg())
        .await?;
    Ok(found)
}

/// One session of a pupil's register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PupilSession {
    pub enrolment_id: i64,
    pub date: NaiveDate,
    /// 0 morning, 1 afternoon.
    pub session: i16,
    pub code: &'static AttendanceCode,
    pub minutes_late: Option<i16>,
    /// When the current code was first recorded (its feed's extract time).
    pub recorded_at: Option<DateTime<Utc>>,
}

/// One change of a session's code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionCorrection {
    pub enrolment_id: i64,
    pub date: NaiveDate,
    pub session: i16,
    pub before: &'static AttendanceCode,
    pub after: &'static AttendanceCode,
    /// The extract time of the feed that recorded `after`, and the feed.
    pub recorded_at: Option<DateTime<Utc>>,
    pub feed_id: Option<Uuid>,
}

/// An enrolment's attributes as a feed recorded them, until `replaced_at` (`None`: still held).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributeVersion {
    pub enrolment: Enrolment,
    pub recorded_at: DateTime<Utc>,
    pub replaced_at: Option<DateTime<Utc>>,
}

/// What the LA holds about one pupil within `from..=to`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PupilRecord {
    /// Every enrolment of the UPN within access, attributes as at the moment asked (or now),
    /// by admission date.
    pub enrolments: Vec<Enrolment>,
    /// Sessions in the period, by date, session and enrolment.
    pub sessions: Vec<PupilSession>,
    /// Corrections of sessions in the period recorded by the moment asked, oldest first.
    pub corrections: Vec<SessionCorrection>,
    /// Every version of each enrolment's attributes recorded by the moment asked, oldest first.
    pub attributes: Vec<AttributeVersion>,
}

/// Everything held about the pupil with `upn` in schools within `access`, over `from..=to`,
/// as the LA knew it at `as_at` (now when `None`). Empty when no enrolment is visible.
pub async fn pupil_record(
    pool: &Pool,
    access: &PupilAccess,
    upn: &str,
    (from, to): (NaiveDate, NaiveDate),
    as_at: Option<DateTime<Utc>>,
) -> Result<PupilRecord> {
    let current = find_pupils(pool, access, PupilSearch::Upn(upn)).await?;
    if current.is_empty() {
        return Ok(PupilRecord::default());
    }
    let ids: Vec<i64> = current.iter().map(|e| e.id).collect();
    let mut conn = pool.acquire().await?;

    // Attribute versions: the replaced ones, then the current row at its own version.
    type Version = (i64, DateTime<Utc>, Option<DateTime<Utc>>);
    let recorded: Vec<(i64, DateTime<Utc>)> =
        sqlx::query_as("select id, recorded_at from enrolments where id = any($1)")
            .bind(&ids)
            .fetch_all(&mut *conn)
            .await?;
    let recorded: HashMap<i64, DateTime<Utc>> = recorded.into_iter().collect();
    let old: Vec<(i64, DateTime<Utc>, DateTime<Utc>, Enrolment)> = {
        let rows: Vec<HistoryRow> = sqlx::query_as(
            "select h.enrolment_id, h.recorded_at, h.replaced_at, e.school_urn, e.upn,
                    h.forename, h.surname, h.date_of_birth, h.sex, h.year_group,
                    h.admission_date, h.leaving_date, h.fsm, h.sen_provision, h.ethnicity,
                    h.looked_after
             from enrolment_history h join enrolments e on e.id = h.enrolment_id
             where h.enrolment_id = any($1)
             order by h.enrolment_id, h.recorded_at",
        )
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
        rows.into_iter().map(HistoryRow::split).collect()
    };
    let mut attributes: Vec<(Version, Enrolment)> = old
        .into_iter()
        .map(|(id, at, replaced, e)| ((id, at, Some(replaced)), e))
        .collect();
    for e in &current {
        attributes.push(((e.id, recorded[&e.id], None), e.clone()));
    }
    if let Some(at) = as_at {
        attributes.retain(|((_, recorded_at, _), _)| *recorded_at <= at);
        for ((_, _, replaced), _) in &mut attributes {
            if replaced.is_some_and(|r| r > at) {
                *replaced = None;
            }
        }
    }
    attributes.sort_by_key(|((id, at, _), _)| (*at, *id));
    // Each enrolment as at the moment: its latest version by then; unknown then, left out.
    let mut enrolments: Vec<Enrolment> = Vec::new();
    for e in &current {
        if let Some((_, version)) = attributes
            .iter()
            .filter(|((id, ..), _)| *id == e.id)
            .max_by_key(|((_, at, _), _)| *at)
        {
            enrolments.push(version.clone());
        }
    }
    enrolments.sort_by_key(|e| (e.admission_date, e.id));
    let known: Vec<i64> = enrolments.iter().map(|e| e.id).collect();

    let book = codebook::cached(pool).await?;
    let (sessions, corrections) = registers_of(&mut conn, &book, &known, (from, to), as_at).await?;
    drop(conn);
    Ok(PupilRecord {
        enrolments,
        sessions,
        corrections,
        attributes: attributes
            .into_iter()
            .map(
                |((_, recorded_at, replaced_at), enrolment)| AttributeVersion {
                    enrolment,
                    recorded_at,
                    replaced_at,
                },
            )
            .collect(),
    })
}

/// The pupil's household: whether any of the enrolments `ids` carries a household key, and the
/// enrolments of the other pupils with the same key in schools within `access`, by UPN and
/// admission date. The key itself never leaves this function.
pub async fn household(
    pool: &Pool,
    access: &PupilAccess,
    ids: &[i64],
) -> Result<(bool, Vec<Enrolment>)> {
    let access = access.schools();
    let has_key: Option<bool> = sqlx::query_scalar(
        "select bool_or(household_key is not null) from enrolments where id = any($1)",
    )
    .bind(ids)
    .fetch_one(pool.pg())
    .await?;
    if has_key != Some(true) {
        return Ok((false, Vec::new()));
    }
    let sql = format!(
        "select distinct {ENROLMENT_COLUMNS}
         from enrolments own
         join enrolments e on e.household_key = own.household_key and e.upn <> own.upn
         join schools s on s.urn = e.school_urn
         where own.id = any($1) and own.household_key is not null
           and ($2 or s.la_code = any($3) or s.urn = any($4))
         order by e.upn, e.admission_date nulls first, e.id
         limit $5"
    );
    let members = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(ids)
        .bind(access.everything)
        .bind(&access.la_codes)
        .bind(&access.urns)
        .bind(MAX_FOUND)
        .fetch_all(pool.pg())
        .await?;
    Ok((true, members))
}

/// The sessions of the enrolments `ids` over `from..=to` as recorded by `as_at` (now when
/// `None`), by date, session and enrolment: their codes only (no minutes late, no recorded
/// times), what explaining a list needs. Today's are read from the codes column alone; as at a
/// moment, each row's history too. Pupil-level: `ids` must come from a read within the caller's
/// access (an at-risk page, a pupil's household), and the caller audits what it shows.
pub async fn enrolment_sessions(
    pool: &Pool,
    ids: &[i64],
    (from, to): (NaiveDate, NaiveDate),
    as_at: Option<DateTime<Utc>>,
) -> Result<Vec<PupilSession>> {
    let book = codebook::cached(pool).await?;
    let mut conn = pool.acquire().await?;
    if as_at.is_some() {
        let (mut sessions, _) = registers_of(&mut conn, &book, ids, (from, to), as_at).await?;
        for s in &mut sessions {
            (s.minutes_late, s.recorded_at) = (None, None);
        }
        return Ok(sessions);
    }
    let rows: Vec<(i64, NaiveDate, Vec<u8>)> = sqlx::query_as(
        "select enrolment_id, month, codes from register
         where enrolment_id = any($1) and month between $2 and $3",
    )
    .bind(ids)
    .bind(register::month_of(from))
    .bind(register::month_of(to))
    .fetch_all(&mut *conn)
    .await?;
    let mut sessions = Vec::new();
    for (enrolment_id, month, codes) in &rows {
        for (slot, id) in MonthRegister::code_ids(codes) {
            let (date, session) = register::session_of(*month, slot);
            if date >= from && date <= to {
                sessions.push(PupilSession {
                    enrolment_id: *enrolment_id,
                    date,
                    session,
                    code: book.code(id)?,
                    minutes_late: None,
                    recorded_at: None,
                });
            }
        }
    }
    sessions.sort_by_key(|s| (s.date, s.session, s.enrolment_id));
    Ok(sessions)
}

/// The sessions and the corrections of `ids` over `from..=to` as recorded by `as_at`, each in
/// the order [`PupilRecord`] gives.
async fn registers_of(
    conn: &mut PgConnection,
    book: &CodeBook,
    ids: &[i64],
    (from, to): (NaiveDate, NaiveDate),
    as_at: Option<DateTime<Utc>>,
) -> Result<(Vec<PupilSession>, Vec<SessionCorrection>)> {
    let rows: Vec<register::StoredRow> = sqlx::query_as(concat!(
        "select ",
        register::columns!(),
        " from register r
         where r.enrolment_id = any($1) and r.month between $2 and $3
         order by r.month, r.enrolment_id"
    ))
    .bind(ids)
    .bind(register::month_of(from))
    .bind(register::month_of(to))
    .fetch_all(&mut *conn)
    .await?;
    let decoded: Vec<(i64, NaiveDate, MonthRegister)> = rows
        .into_iter()
        .map(register::decode_stored)
        .collect::<std::result::Result<_, _>>()?;
    let mut seqs: Vec<i32> = decoded.iter().flat_map(|(_, _, r)| r.all_seqs()).collect();
    seqs.sort_unstable();
    seqs.dedup();
    let feeds: Vec<(i32, DateTime<Utc>, Uuid)> = sqlx::query_as(
        "select seq, recorded_at, feed_id from feeds where seq = any($1) and recorded_at is not null",
    )
    .bind(&seqs)
    .fetch_all(&mut *conn)
    .await?;
    let feeds: HashMap<i32, (DateTime<Utc>, Uuid)> = feeds
        .into_iter()
        .map(|(seq, at, id)| (seq, (at, id)))
        .collect();
    let by = |seq: i32| match (as_at, feeds.get(&seq)) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(at), Some((recorded, _))) => *recorded <= at,
    };

    let mut sessions = Vec::new();
    let mut corrections = Vec::new();
    for (enrolment_id, month, row) in &decoded {
        let in_period = |date: NaiveDate| date >= from && date <= to;
        for (slot, mark) in row.as_at(by).marks() {
            let (date, session) = register::session_of(*month, slot);
            if !in_period(date) {
                continue;
            }
            sessions.push(PupilSession {
                enrolment_id: *enrolment_id,
                date,
                session,
                code: book.code(mark.code_id)?,
                minutes_late: mark.minutes_late,
                recorded_at: feeds.get(&mark.since_seq).map(|f| f.0),
            });
        }
        for c in row.corrections() {
            let (date, session) = register::session_of(*month, c.slot);
            if !in_period(date) || !by(c.seq) {
                continue;
            }
            corrections.push(SessionCorrection {
                enrolment_id: *enrolment_id,
                date,
                session,
                before: book.code(c.before)?,
                after: book.code(c.after)?,
                recorded_at: feeds.get(&c.seq).map(|f| f.0),
                feed_id: feeds.get(&c.seq).map(|f| f.1),
            });
        }
    }
    sessions.sort_by_key(|s| (s.date, s.session, s.enrolment_id));
    corrections.sort_by_key(|c| (c.recorded_at, c.date, c.session, c.enrolment_id));
    sessions.sort_by_key(|s| (s.date, s.session, s.enrolment_id));
    corrections.sort_by_key(|c| (c.recorded_at, c.date, c.session, c.enrolment_id));
    Ok((sessions, corrections))
}

/// An `enrolment_history` row as selected, with the enrolment's school and UPN.
#[derive(sqlx::FromRow)]
struct HistoryRow {
    enrolment_id: i64,
    recorded_at: DateTime<Utc>,
    replaced_at: DateTime<Utc>,
    school_urn: i32,
    upn: String,
    forename: Option<String>,
    surname: Option<String>,
    date_of_birth: Option<NaiveDate>,
    sex: Option<String>,
    year_group: Option<String>,
    admission_date: Option<NaiveDate>,
    leaving_date: Option<NaiveDate>,
    fsm: Option<bool>,
    sen_provision: Option<String>,
    ethnicity: Option<String>,
    looked_after: Option<bool>,
}

impl HistoryRow {
    fn split(self) -> (i64, DateTime<Utc>, DateTime<Utc>, Enrolment) {
        let e = Enrolment {
            id: self.enrolment_id,
            school_urn: self.school_urn,
            upn: self.upn,
            forename: self.forename,
            surname: self.surname,
            date_of_birth: self.date_of_birth,
            sex: self.sex,
            year_group: self.year_group,
            admission_date: self.admission_date,
            leaving_date: self.leaving_date,
            fsm: self.fsm,
            sen_provision: self.sen_provision,
            ethnicity: self.ethnicity,
            looked_after: self.looked_after,
        };
        (self.enrolment_id, self.recorded_at, self.replaced_at, e)
    }
}
