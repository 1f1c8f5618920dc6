//! What a run of the pipeline leaves in the database, in a form that two databases fed the same
//! feeds can be compared by: no identity columns, no sequence numbers, no times of processing.
//! Enrolments are named by school and UPN, feeds by their id, codes by their letter. The chaos
//! program (`rollcall-chaos`) compares a run under faults with a clean run this way; nothing in
//! the pipeline calls it.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use uuid::Uuid;

use crate::codebook::CodeBook;
use crate::register::{self, MonthRegister};
use crate::{Pool, Result};

/// One session of one enrolment: (school URN, UPN, date, session 0 AM / 1 PM).
pub type SessionKey = (i32, String, NaiveDate, i16);

/// One count of the year totals: (school URN, UPN, academic year, code).
pub type CountKey = (i32, String, i16, String);

/// Everything the pipeline wrote, canonically.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Canonical {
    /// Every stored session: its code, the feed whose version it holds, the feed that first
    /// recorded the code, and minutes late.
    pub sessions: BTreeMap<SessionKey, String>,
    /// Sessions per code in each enrolment's year totals.
    pub counted: BTreeMap<CountKey, i64>,
    /// The other tables (corrections, enrolments and their history, totals and their history,
    /// receipts, parked feeds), each as sorted text rows.
    pub tables: BTreeMap<&'static str, Vec<String>>,
}

/// Reads the whole database. Meant for a test-sized LA: it holds every session in memory.
pub async fn dump(pool: &Pool) -> Result<Canonical> {
    let mut conn = pool.pg().acquire().await?;
    let book = CodeBook::load(&mut conn).await?;
    let code = |id: u8| book.code(id).map(|c| c.code().to_owned());

    let enrolments: HashMap<i64, (i32, String)> =
        sqlx::query_as::<_, (i64, i32, String)>("select id, school_urn, upn from enrolments")
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|(id, urn, upn)| (id, (urn, upn)))
            .collect();
    let feeds: HashMap<i32, Uuid> =
        sqlx::query_as::<_, (i32, Uuid)>("select seq, feed_id from feeds")
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect();
    let feed = |seq: i32| {
        feeds
            .get(&seq)
            .map_or_else(|| format!("seq {seq}?"), Uuid::to_string)
    };
    let enrolment = |id: i64| {
        enrolments
            .get(&id)
            .cloned()
            .unwrap_or_else(|| (-1, format!("enrolment {id}?")))
    };

    let mut canonical = Canonical::default();
    let rows: Vec<register::StoredRow> =
        sqlx::query_as(concat!("select ", register::columns!(), " from register r"))
            .fetch_all(&mut *conn)
            .await?;
    let mut corrections = Vec::new();
    for row in rows {
        let (id, month, decoded): (i64, NaiveDate, MonthRegister) = register::decode_stored(row)?;
        let (urn, upn) = enrolment(id);
        for (slot, mark) in decoded.marks() {
            let (date, session) = register::session_of(month, slot);
            let minutes = mark
                .minutes_late
                .map_or_else(String::new, |m| m.to_string());
            canonical.sessions.insert(
                (urn, upn.clone(), date, session),
                format!(
                    "{} {} {} {minutes}",
                    code(mark.code_id)?,
                    feed(mark.feed_seq),
                    feed(mark.since_seq)
                ),
            );
        }
        for earlier in decoded.history() {
            let (date, session) = register::session_of(month, earlier.slot as usize);
            corrections.push(format!(
                "{urn} {upn} {date} {session} {} {}",
                code(earlier.code_id)?,
                feed(earlier.since_seq)
            ));
        }
    }
    corrections.sort();
    canonical.tables.insert("corrections", corrections);

    let totals: Vec<(i64, i16, Vec<i32>, String)> = sqlx::query_as(
        "select enrolment_id, academic_year, sessions,
                (risk, absence_rate, to_persistent, school_urn)::text
         from enrolment_totals",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut standings = Vec::new();
    for (id, year, sessions, rest) in totals {
        let (urn, upn) = enrolment(id);
        for (index, &n) in sessions.iter().enumerate() {
            if n != 0 {
                let key = (urn, upn.clone(), year, code(index as u8 + 1)?);
                canonical.counted.insert(key, i64::from(n));
            }
        }
        standings.push(format!("{urn} {upn} {year} {rest}"));
    }
    standings.sort();
    canonical.tables.insert("enrolment standings", standings);

    let school_totals: Vec<(String, Vec<i64>)> = sqlx::query_as(
        "select (school_urn, academic_year, marks, enrolments, persistent, severe, last_date)::text,
                sessions
         from school_totals",
    )
    .fetch_all(&mut *conn)
    .await?;
    canonical
        .tables
        .insert("school totals", with_counts(school_totals, &code)?);
    let history: Vec<(String, Vec<i64>)> = sqlx::query_as(
        "select (h.school_urn, h.academic_year, h.recorded_at, f.feed_id, h.marks, h.enrolments,
                 h.persistent, h.severe, h.last_date)::text,
                h.sessions
         from school_totals_history h left join feeds f on f.seq = h.feed_seq",
    )
    .fetch_all(&mut *conn)
    .await?;
    canonical
        .tables
        .insert("school totals history", with_counts(history, &code)?);

    for (name, sql) in TABLES {
        let mut rows: Vec<String> = sqlx::query_scalar(sql).fetch_all(&mut *conn).await?;
        rows.sort();
        canonical.tables.insert(name, rows);
    }
    Ok(canonical)
}

/// Rows whose `sessions` array (indexed by code id) is written out as `code=count` pairs.
fn with_counts(
    rows: Vec<(String, Vec<i64>)>,
    code: &impl Fn(u8) -> Result<String>,
) -> Result<Vec<String>> {
    let mut lines = Vec::with_capacity(rows.len());
    for (row, sessions) in rows {
        let mut line = row;
        for (index, &n) in sessions.iter().enumerate() {
            if n != 0 {
                line.push_str(&format!(" {}={n}", code(index as u8 + 1)?));
            }
        }
        lines.push(line);
    }
    lines.sort();
    Ok(lines)
}

/// The tables read as they are, less identities and times of processing.
const TABLES: [(&str, &str); 5] = [
    (
        "enrolments",
        "select (school_urn, upn, forename, surname, date_of_birth, sex, year_group,
                 admission_date, leaving_date, fsm, sen_provision, ethnicity, looked_after,
                 household_key, recorded_at, feed_id)::text
         from enrolments",
    ),
    (
        "enrolment history",
        "select (e.school_urn, e.upn, h.recorded_at, h.feed_id, h.forename, h.surname,
                 h.date_of_birth, h.sex, h.year_group, h.admission_date, h.leaving_date, h.fsm,
                 h.sen_provision, h.ethnicity, h.looked_after, h.household_key, h.replaced_at)::text
         from enrolment_history h join enrolments e on e.id = h.enrolment_id",
    ),
    (
        "receipts",
        "select (feed_id, school_urn, idempotency_key, encode(payload_sha256, 'hex'),
                 extracted_at, code_set, status, roll_records, mark_records, recorded_at,
                 roll_accepted, roll_rejected, marks_accepted, marks_rejected, records_warned,
                 marks_written, marks_superseded, findings, findings_omitted, sender)::text
         from feeds",
    ),
    (
        "feed findings",
        "select (f.feed_id, x.ordinal, x.code, x.severity, x.record_kind, x.record_index,
                 x.field, x.message)::text
         from feed_findings x join feeds f on f.seq = x.feed_seq",
    ),
    (
        "parked feeds",
        "select (feed_id, school_urn, sqlstate, reason, table_name, column_name)::text
         from parked_feeds",
    ),
];
