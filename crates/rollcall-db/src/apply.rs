//! The aggregator's write: one validated feed applied in one transaction, latest version wins.
//!
//! A version is `(recorded_at, feed_id)`. An enrolment's attributes and each session's mark are
//! replaced only by a strictly newer version, so applying feeds in any order, or the same feed
//! again, ends in the same tables. Whole columns are bound as arrays and `UNNEST`ed: a feed
//! costs five statements however many marks it carries.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::{Error, Pool, Result};

/// Advisory lock classes (the first key of `pg_advisory_xact_lock(int, int)`): "Roll" and "Code".
pub(crate) const LOCK_CLASS_SCHOOL: i32 = 0x526f_6c6c;
pub(crate) const LOCK_CLASS_CODES: i32 = 0x436f_6465;

/// A pupil on the feed's roll, with the attributes as the school recorded them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnrolmentInput {
    pub upn: String,
    pub forename: String,
    pub surname: String,
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

/// One session's mark for a pupil on the same feed's roll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkInput {
    pub upn: String,
    pub date: NaiveDate,
    /// 0 = AM, 1 = PM.
    pub session: i16,
    pub code: String,
    pub minutes_late: Option<i16>,
}

/// The validator's verdict on a feed, stored on its receipt.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedOutcome {
    pub roll_accepted: i32,
    pub roll_rejected: i32,
    pub marks_accepted: i32,
    pub marks_rejected: i32,
    pub records_warned: i32,
    pub findings: serde_json::Value,
}

/// A feed's accepted records, ready to store.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidatedFeed {
    pub feed_id: Uuid,
    pub school_urn: i32,
    /// The version of every record in the feed (normally the extract time).
    pub recorded_at: DateTime<Utc>,
    pub pupils: Vec<EnrolmentInput>,
    pub marks: Vec<MarkInput>,
    pub outcome: FeedOutcome,
}

/// What one application of a feed did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApplyStats {
    /// Marks inserted, or replacing an older version.
    pub marks_written: u64,
    /// Marks skipped because a version at least as new is stored: a newer feed's mark, this
    /// feed's own mark on a replay, or a later duplicate of the same session in this feed.
    pub marks_superseded: u64,
}

/// Stores a validated feed in one transaction: upserts its enrolments and marks (latest version
/// wins) and marks the feed processed with its outcome. The first processed outcome is kept on
/// a replay, so applying a feed again leaves every table as it was.
///
/// A feed already processed is not applied again: its rows committed with its receipt, so the
/// call returns at once with every mark counted as superseded.
///
/// Fails, storing nothing, when the feed has records for a school not in the registry, the feed was registered for
/// another school, or a mark names a pupil who is not on the school's roll.
pub async fn apply_validated_feed(pool: &Pool, feed: &ValidatedFeed) -> Result<ApplyStats> {
    let mut tx = pool.begin().await?;

    // One school's feeds are applied one at a time (feeds of other schools run in parallel):
    // no deadlocks between two instances replaying the same school's partition.
    sqlx::query("select pg_advisory_xact_lock($1, $2)")
        .bind(LOCK_CLASS_SCHOOL)
        .bind(feed.school_urn)
        .execute(&mut *tx)
        .await?;
    let (known_school, stored_school, stored_status): (bool, Option<i32>, Option<String>) =
        sqlx::query_as(
            "select exists (select 1 from schools where urn = $1),
                    (select school_urn from feeds where feed_id = $2),
                    (select status from feeds where feed_id = $2)",
        )
        .bind(feed.school_urn)
        .bind(feed.feed_id)
        .fetch_one(&mut *tx)
        .await?;
    // A feed refused as a whole (its school is not in the registry) carries no records, only the
    // outcome its receipt needs: record that; records for an unknown school are an error.
    let has_records = !feed.pupils.is_empty() || !feed.marks.is_empty();
    if !known_school && has_records {
        return Err(Error::UnknownSchool {
            urn: feed.school_urn,
        });
    }
    match (stored_school, stored_status.as_deref()) {
        (Some(stored), _) if stored != feed.school_urn => {
            return Err(Error::FeedSchoolMismatch {
                feed_id: feed.feed_id,
                stored,
                given: feed.school_urn,
            });
        }
        // Processed is set in the same transaction as the feed's rows, so they are all stored
        // already: a replay after a crash, with nothing to write.
        (_, Some(crate::FeedRow::PROCESSED)) => {
            tracing::debug!(feed = %feed.feed_id, school = feed.school_urn, "feed already applied");
            return Ok(ApplyStats {
                marks_written: 0,
                marks_superseded: feed.marks.len() as u64,
            });
        }
        _ => {}
    }

    upsert_enrolments(&mut tx, feed).await?;
    let stats = upsert_marks(&mut tx, feed).await?;
    finish_feed(&mut tx, feed, stats).await?;

    tx.commit().await?;
    tracing::debug!(
        feed = %feed.feed_id,
        school = feed.school_urn,
        marks_written = stats.marks_written,
        marks_superseded = stats.marks_superseded,
        "feed applied"
    );
    Ok(stats)
}

type Tx = sqlx::Transaction<'static, sqlx::Postgres>;

/// Existing enrolments whose stored version is older take the feed's attributes; new ones are
/// inserted. New rows only are offered to the insert so that replays consume no identity values.
async fn upsert_enrolments(tx: &mut Tx, feed: &ValidatedFeed) -> Result<()> {
    let n = feed.pupils.len();
    let mut upn = Vec::with_capacity(n);
    let mut forename = Vec::with_capacity(n);
    let mut surname = Vec::with_capacity(n);
    let mut date_of_birth = Vec::with_capacity(n);
    let mut sex = Vec::with_capacity(n);
    let mut year_group = Vec::with_capacity(n);
    let mut admission_date = Vec::with_capacity(n);
    let mut leaving_date = Vec::with_capacity(n);
    let mut fsm = Vec::with_capacity(n);
    let mut sen_provision = Vec::with_capacity(n);
    let mut ethnicity = Vec::with_capacity(n);
    let mut looked_after = Vec::with_capacity(n);
    for p in &feed.pupils {
        upn.push(p.upn.as_str());
        forename.push(p.forename.as_str());
        surname.push(p.surname.as_str());
        date_of_birth.push(p.date_of_birth);
        sex.push(p.sex.as_deref());
        year_group.push(p.year_group.as_deref());
        admission_date.push(p.admission_date);
        leaving_date.push(p.leaving_date);
        fsm.push(p.fsm);
        sen_provision.push(p.sen_provision.as_deref());
        ethnicity.push(p.ethnicity.as_deref());
        looked_after.push(p.looked_after);
    }
    sqlx::query(
        "with input as (
             select distinct on (upn) *
             from unnest($4::text[], $5::text[], $6::text[], $7::date[], $8::text[], $9::text[],
                         $10::date[], $11::date[], $12::bool[], $13::text[], $14::text[],
                         $15::bool[])
                  with ordinality as i(upn, forename, surname, date_of_birth, sex, year_group,
                                       admission_date, leaving_date, fsm, sen_provision,
                                       ethnicity, looked_after, ord)
             order by upn, ord desc
         ),
         updated as (
             update enrolments e
             set forename = i.forename, surname = i.surname, date_of_birth = i.date_of_birth,
                 sex = i.sex, year_group = i.year_group, admission_date = i.admission_date,
                 leaving_date = i.leaving_date, fsm = i.fsm, sen_provision = i.sen_provision,
                 ethnicity = i.ethnicity, looked_after = i.looked_after,
                 recorded_at = $2, feed_id = $3
             from input i
             where e.school_urn = $1 and e.upn = i.upn
               and (e.recorded_at, e.feed_id) < ($2::timestamptz, $3::uuid)
         )
         insert into enrolments as e (school_urn, upn, forename, surname, date_of_birth, sex,
                                      year_group, admission_date, leaving_date, fsm,
                                      sen_provision, ethnicity, looked_after, recorded_at,
                                      feed_id)
         select $1, upn, forename, surname, date_of_birth, sex, year_group, admission_date,
                leaving_date, fsm, sen_provision, ethnicity, looked_after, $2, $3
         from input i
         where not exists (select 1 from enrolments e where e.school_urn = $1 and e.upn = i.upn)
         order by upn
         on conflict (school_urn, upn) do update
         set forename = excluded.forename, surname = excluded.surname,
             date_of_birth = excluded.date_of_birth, sex = excluded.sex,
             year_group = excluded.year_group, admission_date = excluded.admission_date,
             leaving_date = excluded.leaving_date, fsm = excluded.fsm,
             sen_provision = excluded.sen_provision, ethnicity = excluded.ethnicity,
             looked_after = excluded.looked_after, recorded_at = excluded.recorded_at,
             feed_id = excluded.feed_id
         where (e.recorded_at, e.feed_id) < (excluded.recorded_at, excluded.feed_id)",
    )
    .bind(feed.school_urn)
    .bind(feed.recorded_at)
    .bind(feed.feed_id)
    .bind(upn)
    .bind(forename)
    .bind(surname)
    .bind(date_of_birth)
    .bind(sex)
    .bind(year_group)
    .bind(admission_date)
    .bind(leaving_date)
    .bind(fsm)
    .bind(sen_provision)
    .bind(ethnicity)
    .bind(looked_after)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Resolves each mark's UPN to the school's enrolment and upserts the marks, keeping the newer
/// version of each session. Errors, before anything commits, if any UPN is not on the roll.
async fn upsert_marks(tx: &mut Tx, feed: &ValidatedFeed) -> Result<ApplyStats> {
    let n = feed.marks.len();
    let mut upn = Vec::with_capacity(n);
    let mut date = Vec::with_capacity(n);
    let mut session = Vec::with_capacity(n);
    let mut code = Vec::with_capacity(n);
    let mut minutes_late = Vec::with_capacity(n);
    for m in &feed.marks {
        upn.push(m.upn.as_str());
        date.push(m.date);
        session.push(m.session);
        code.push(m.code.as_str());
        minutes_late.push(m.minutes_late);
    }
    let (known, written): (i64, i64) = sqlx::query_as(
        "with input as (
             select *
             from unnest($4::text[], $5::date[], $6::int2[], $7::text[], $8::int2[])
                  with ordinality as i(upn, date, session, code, minutes_late, ord)
         ),
         known as (
             select e.id as enrolment_id, i.date, i.session, i.code, i.minutes_late, i.ord
             from input i
             join enrolments e on e.school_urn = $1 and e.upn = i.upn
         ),
         latest as (
             select distinct on (enrolment_id, date, session) *
             from known
             order by enrolment_id, date, session, ord desc
         ),
         written as (
             insert into marks as m (enrolment_id, recorded_at, feed_id, date, session,
                                     minutes_late, code)
             select enrolment_id, $2, $3, date, session, minutes_late, code from latest
             on conflict (enrolment_id, date, session) do update
             set recorded_at = excluded.recorded_at, feed_id = excluded.feed_id,
                 minutes_late = excluded.minutes_late, code = excluded.code
             where (m.recorded_at, m.feed_id) < (excluded.recorded_at, excluded.feed_id)
             returning 1
         )
         select (select count(*) from known), (select count(*) from written)",
    )
    .bind(feed.school_urn)
    .bind(feed.recorded_at)
    .bind(feed.feed_id)
    .bind(upn)
    .bind(date)
    .bind(session)
    .bind(code)
    .bind(minutes_late)
    .fetch_one(&mut **tx)
    .await?;

    let known = usize::try_from(known).unwrap_or(0);
    if known < n {
        return Err(Error::UnknownPupil {
            feed_id: feed.feed_id,
            marks: n - known,
        });
    }
    let written = u64::try_from(written).unwrap_or(0);
    Ok(ApplyStats {
        marks_written: written,
        marks_superseded: n as u64 - written,
    })
}

/// Marks the feed processed with its outcome, inserting its row if the gateway's is missing.
/// A feed already processed keeps its first outcome and time.
async fn finish_feed(tx: &mut Tx, feed: &ValidatedFeed, stats: ApplyStats) -> Result<()> {
    let o = &feed.outcome;
    sqlx::query(
        "insert into feeds as f (feed_id, school_urn, idempotency_key, payload_sha256,
                                 extracted_at, code_set, received_at, status, processed_at,
                                 roll_accepted, roll_rejected, marks_accepted, marks_rejected,
                                 records_warned, marks_written, marks_superseded, findings)
         values ($1, $2, 'feed:' || $1::text, '', $3, '', now(), 'processed', now(),
                 $4, $5, $6, $7, $8, $9, $10, $11)
         on conflict (feed_id) do update
         set status = 'processed', processed_at = excluded.processed_at,
             roll_accepted = excluded.roll_accepted, roll_rejected = excluded.roll_rejected,
             marks_accepted = excluded.marks_accepted, marks_rejected = excluded.marks_rejected,
             records_warned = excluded.records_warned, marks_written = excluded.marks_written,
             marks_superseded = excluded.marks_superseded, findings = excluded.findings
         where f.status <> 'processed'",
    )
    .bind(feed.feed_id)
    .bind(feed.school_urn)
    .bind(feed.recorded_at)
    .bind(o.roll_accepted)
    .bind(o.roll_rejected)
    .bind(o.marks_accepted)
    .bind(o.marks_rejected)
    .bind(o.records_warned)
    .bind(saturating_i32(stats.marks_written))
    .bind(saturating_i32(stats.marks_superseded))
    .bind(&o.findings)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn saturating_i32(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
