//! The aggregator's write: validated feeds applied in one transaction (one feed, or a batch of
//! several schools' feeds), latest version wins.
//!
//! A version is `(recorded_at, feed_id)`. An enrolment's attributes and each session's mark are
//! replaced only by a strictly newer version, so applying feeds in any order, or the same feed
//! again, ends in the same tables. Whole columns are bound as arrays and `UNNEST`ed: a feed
//! costs five statements however many marks it carries.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use rollcall_domain::Session;
use rollcall_domain::feed::ValidatedFeed;
use rollcall_domain::validation::{self, Finding};
use uuid::Uuid;

use crate::register::{self, EncodedRow, MonthRegister};
use crate::{Error, Pool, Result, totals};
use crate::{codebook, locks};

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
    let stats = apply_validated_feeds(pool, std::slice::from_ref(feed)).await?;
    Ok(stats[0])
}

/// Stores several validated feeds in one transaction, in the order given: each exactly as
/// [`apply_validated_feed`] would, so a school's later feed sees its earlier one, and the tables
/// end as they would after applying the feeds one by one. Returns each feed's stats, in order.
///
/// All or nothing: if any feed fails, nothing of the batch is stored and the error is the first
/// failure's (the caller can then apply the feeds one by one to find it). The schools' locks are
/// all taken first, in URN order, so two writers whose batches share schools wait for each other
/// instead of deadlocking.
pub async fn apply_validated_feeds(
    pool: &Pool,
    feeds: &[ValidatedFeed],
) -> Result<Vec<ApplyStats>> {
    match apply_in_one_transaction(pool, feeds).await {
        // A stored code id the cached book does not hold yet (another process numbered a code
        // since): read the book again and retry once.
        Err(Error::UnknownCode { .. }) => {
            codebook::forget(pool);
            apply_in_one_transaction(pool, feeds).await
        }
        done => done,
    }
}

async fn apply_in_one_transaction(pool: &Pool, feeds: &[ValidatedFeed]) -> Result<Vec<ApplyStats>> {
    if feeds.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = pool.begin().await?;

    // One school's feeds are applied one at a time (feeds of other schools run in parallel):
    // no deadlocks between two instances replaying the same school's partition.
    let mut urns: Vec<i32> = feeds.iter().map(school_of).collect();
    urns.sort_unstable();
    urns.dedup();
    locks::lock_schools(&mut tx, &urns).await?;

    let mut stats = Vec::with_capacity(feeds.len());
    for feed in feeds {
        stats.push(apply_feed(&mut tx, pool, feed).await?);
    }
    // One notification for the batch wakes the receipt watchers once it commits.
    crate::receipts::notify(&mut tx).await?;
    tx.commit().await?;
    for (feed, stats) in feeds.iter().zip(&stats) {
        tracing::debug!(
            feed = %feed.feed_id,
            school = school_of(feed),
            marks_written = stats.marks_written,
            marks_superseded = stats.marks_superseded,
            "feed applied"
        );
    }
    Ok(stats)
}

/// One feed's part of a transaction that holds its school's lock (the batch's, or a replay's
/// preview, rolled back).
pub(crate) async fn apply_feed(
    tx: &mut Tx,
    pool: &Pool,
    feed: &ValidatedFeed,
) -> Result<ApplyStats> {
    let (known_school, stored_school, stored_status): (bool, Option<i32>, Option<String>) =
        sqlx::query_as(
            "select exists (select 1 from schools where urn = $1),
                    (select school_urn from feeds where feed_id = $2),
                    (select status from feeds where feed_id = $2)",
        )
        .bind(school_of(feed))
        .bind(feed.feed_id)
        .fetch_one(&mut **tx)
        .await?;
    // A feed refused as a whole (its school is not in the registry) carries no records, only the
    // outcome its receipt needs: record that; records for an unknown school are an error.
    let has_records = !feed.pupils.is_empty() || !feed.marks.is_empty();
    if !known_school && has_records {
        return Err(Error::UnknownSchool {
            urn: school_of(feed),
        });
    }
    match (stored_school, stored_status.as_deref()) {
        (Some(stored), _) if stored != school_of(feed) => {
            return Err(Error::FeedSchoolMismatch {
                feed_id: feed.feed_id,
                stored,
                given: school_of(feed),
            });
        }
        // Processed is set in the same transaction as the feed's rows, so they are all stored
        // already: a redelivery after a crash, with nothing to write. A school replay
        // (`rollcall replay`) is applied again: validated anew, it may carry records the first
        // validation rejected; what it carries unchanged is superseded by its own stored version.
        (_, Some(crate::FeedRow::PROCESSED)) if feed.replay.is_none() => {
            tracing::debug!(feed = %feed.feed_id, school = school_of(feed), "feed already applied");
            return Ok(ApplyStats {
                marks_written: 0,
                marks_superseded: feed.marks.len() as u64,
            });
        }
        _ => {}
    }

    let seq = register_version(tx, feed).await?;
    upsert_enrolments(tx, feed).await?;
    let stats = upsert_marks(tx, pool, feed, seq).await?;
    finish_feed(tx, feed, stats).await?;
    if let Some(replay) = feed.replay {
        crate::school_replay::applied(tx, replay, feed.feed_id).await?;
    }
    Ok(stats)
}

pub(crate) type Tx = sqlx::Transaction<'static, sqlx::Postgres>;

/// Existing enrolments whose stored version is older take the feed's attributes; new ones are
/// inserted. New rows only are offered to the insert so that replays consume no identity values.
/// An enrolment whose attributes change keeps the row it had in `enrolment_history`.
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
    let mut household_key = Vec::with_capacity(n);
    for p in &feed.pupils {
        upn.push(p.upn.as_str());
        forename.push(p.forename.as_str());
        surname.push(p.surname.as_str());
        date_of_birth.push(p.date_of_birth);
        sex.push(p.sex.map(|s| s.as_str()));
        year_group.push(p.year_group.map(|y| y.as_str()));
        admission_date.push(p.admission_date);
        leaving_date.push(p.leaving_date);
        fsm.push(p.fsm);
        sen_provision.push(p.sen_provision.map(|s| s.as_str()));
        ethnicity.push(p.ethnicity.as_deref());
        looked_after.push(p.looked_after);
        household_key.push(p.household_key.as_deref());
    }
    sqlx::query(
        "with input as (
             select distinct on (upn) *
             from unnest($4::text[], $5::text[], $6::text[], $7::date[], $8::text[], $9::text[],
                         $10::date[], $11::date[], $12::bool[], $13::text[], $14::text[],
                         $15::bool[], $16::text[])
                  with ordinality as i(upn, forename, surname, date_of_birth, sex, year_group,
                                       admission_date, leaving_date, fsm, sen_provision,
                                       ethnicity, looked_after, household_key, ord)
             order by upn, ord desc
         ),
         replaced as (
             insert into enrolment_history (enrolment_id, recorded_at, feed_id, forename,
                                            surname, date_of_birth, sex, year_group,
                                            admission_date, leaving_date, fsm, sen_provision,
                                            ethnicity, looked_after, household_key,
                                            replaced_at)
             select e.id, e.recorded_at, e.feed_id, e.forename, e.surname, e.date_of_birth,
                    e.sex, e.year_group, e.admission_date, e.leaving_date, e.fsm,
                    e.sen_provision, e.ethnicity, e.looked_after, e.household_key, $2
             from enrolments e join input i on e.upn = i.upn
             where e.school_urn = $1
               and (e.recorded_at, e.feed_id) < ($2::timestamptz, $3::uuid)
               and (e.forename, e.surname, e.date_of_birth, e.sex, e.year_group,
                    e.admission_date, e.leaving_date, e.fsm, e.sen_provision, e.ethnicity,
                    e.looked_after, e.household_key)
                   is distinct from
                   (i.forename, i.surname, i.date_of_birth, i.sex, i.year_group,
                    i.admission_date, i.leaving_date, i.fsm, i.sen_provision, i.ethnicity,
                    i.looked_after, i.household_key)
             on conflict do nothing
         ),
         updated as (
             update enrolments e
             set forename = i.forename, surname = i.surname, date_of_birth = i.date_of_birth,
                 sex = i.sex, year_group = i.year_group, admission_date = i.admission_date,
                 leaving_date = i.leaving_date, fsm = i.fsm, sen_provision = i.sen_provision,
                 ethnicity = i.ethnicity, looked_after = i.looked_after,
                 household_key = i.household_key, recorded_at = $2, feed_id = $3
             from input i
             where e.school_urn = $1 and e.upn = i.upn
               and (e.recorded_at, e.feed_id) < ($2::timestamptz, $3::uuid)
         )
         insert into enrolments as e (school_urn, upn, forename, surname, date_of_birth, sex,
                                      year_group, admission_date, leaving_date, fsm,
                                      sen_provision, ethnicity, looked_after, household_key,
                                      recorded_at, feed_id)
         select $1, upn, forename, surname, date_of_birth, sex, year_group, admission_date,
                leaving_date, fsm, sen_provision, ethnicity, looked_after, household_key, $2, $3
         from input i
         where not exists (select 1 from enrolments e where e.school_urn = $1 and e.upn = i.upn)
         order by upn
         on conflict (school_urn, upn) do update
         set forename = excluded.forename, surname = excluded.surname,
             date_of_birth = excluded.date_of_birth, sex = excluded.sex,
             year_group = excluded.year_group, admission_date = excluded.admission_date,
             leaving_date = excluded.leaving_date, fsm = excluded.fsm,
             sen_provision = excluded.sen_provision, ethnicity = excluded.ethnicity,
             looked_after = excluded.looked_after, household_key = excluded.household_key,
             recorded_at = excluded.recorded_at, feed_id = excluded.feed_id
         where (e.recorded_at, e.feed_id) < (excluded.recorded_at, excluded.feed_id)",
    )
    .bind(school_of(feed))
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
    .bind(household_key)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A feed's version: the order in which two feeds' marks for one session replace each other.
type Version = (DateTime<Utc>, Uuid);

/// Records the feed's version on its row (inserting the row if the gateway's is missing) and
/// returns the feed's sequence number, which register rows store for each mark it writes.
async fn register_version(tx: &mut Tx, feed: &ValidatedFeed) -> Result<i32> {
    let seq = sqlx::query_scalar(
        "insert into feeds as f (feed_id, school_urn, idempotency_key, payload_sha256,
                                 extracted_at, code_set, received_at, status, recorded_at)
         values ($1, $2, 'feed:' || $1::text, '', $3, '', now(), 'received', $3)
         on conflict (feed_id) do update set recorded_at = excluded.recorded_at
         returning seq",
    )
    .bind(feed.feed_id)
    .bind(school_of(feed))
    .bind(feed.recorded_at)
    .fetch_one(&mut **tx)
    .await?;
    Ok(seq)
}

/// One session a feed wants stored.
struct Incoming {
    slot: usize,
    code_id: u8,
    minutes_late: Option<i16>,
}

/// Writes the feed's marks into the school's register rows, keeping the newer version of each
/// session, and moves the year totals by the difference. Errors, before anything commits, if a
/// UPN is not on the roll or a code has no stored id.
async fn upsert_marks(
    tx: &mut Tx,
    pool: &Pool,
    feed: &ValidatedFeed,
    seq: i32,
) -> Result<ApplyStats> {
    let book = codebook::refresh(pool, tx, feed.marks.iter().map(|m| m.code.code())).await?;
    let enrolment_ids = enrolment_ids(tx, feed).await?;

    // The feed's marks per row, in feed order: a later duplicate of a session replaces an
    // earlier one.
    let mut incoming: BTreeMap<(i64, NaiveDate), Vec<Incoming>> = BTreeMap::new();
    let mut unknown = 0;
    for m in &feed.marks {
        let Some(&enrolment_id) = enrolment_ids.get(m.upn.as_str()) else {
            unknown += 1;
            continue;
        };
        let code_id = book.id(m.code.code()).ok_or_else(|| Error::UnknownCode {
            code: m.code.code().to_owned(),
        })?;
        incoming
            .entry((enrolment_id, register::month_of(m.date)))
            .or_default()
            .push(Incoming {
                slot: register::slot_of(m.date, session_number(m.session)),
                code_id,
                minutes_late: m.minutes_late.map(|v| v as i16),
            });
    }
    if unknown > 0 {
        return Err(Error::UnknownPupil {
            feed_id: feed.feed_id,
            marks: unknown,
        });
    }

    let mut rows = stored_rows(tx, incoming.keys()).await?;
    let versions = feed_versions(tx, rows.values().flat_map(|r| r.feed_seqs())).await?;
    let ours: Version = (feed.recorded_at, feed.feed_id);

    let mut changes: BTreeMap<i16, totals::YearChange> = BTreeMap::new();
    let mut written = 0u64;
    let mut changed_rows = Vec::new();
    for ((enrolment_id, month), marks) in incoming {
        let before = rows.remove(&(enrolment_id, month)).unwrap_or_default();
        let mut after = before.clone();
        for m in marks {
            let newer = match after.get(m.slot) {
                None => true,
                Some(stored) if stored.feed_seq == seq => before.get(m.slot) != Some(stored),
                Some(stored) => {
                    let theirs = versions
                        .get(&stored.feed_seq)
                        .ok_or(Error::UnknownFeedSeq {
                            seq: stored.feed_seq,
                        })?;
                    *theirs < ours
                }
            };
            if newer {
                after.write(m.slot, m.code_id, seq, m.minutes_late);
            }
        }
        if after == before {
            continue;
        }
        let change = changes.entry(totals::academic_year(month)).or_default();
        for (slot, mark) in after.marks() {
            let old = before.get(slot);
            if old == Some(mark) {
                continue;
            }
            if old.is_none_or(|old| old.feed_seq != seq) {
                written += 1;
            }
            let (date, _) = register::session_of(month, slot);
            change.record(
                enrolment_id,
                date,
                old.map_or(0, |o| o.code_id),
                mark.code_id,
            );
        }
        changed_rows.push((enrolment_id, month, after.encode()));
    }
    write_rows(tx, &changed_rows).await?;
    totals::apply_changes(
        tx,
        &book,
        school_of(feed),
        Some((feed.recorded_at, seq)),
        &changes,
    )
    .await?;

    let n = feed.marks.len() as u64;
    Ok(ApplyStats {
        marks_written: written,
        marks_superseded: n - written,
    })
}

/// The school's enrolment id for each UPN the feed's marks name.
async fn enrolment_ids(tx: &mut Tx, feed: &ValidatedFeed) -> Result<HashMap<String, i64>> {
    let mut upns: Vec<&str> = feed.marks.iter().map(|m| m.upn.as_str()).collect();
    upns.sort_unstable();
    upns.dedup();
    let ids =
        sqlx::query_as("select upn, id from enrolments where school_urn = $1 and upn = any($2)")
            .bind(school_of(feed))
            .bind(&upns)
            .fetch_all(&mut **tx)
            .await?;
    Ok(ids.into_iter().collect())
}

/// The stored register rows for these keys, decoded; rows not stored yet are absent.
async fn stored_rows<'a>(
    tx: &mut Tx,
    keys: impl Iterator<Item = &'a (i64, NaiveDate)>,
) -> Result<HashMap<(i64, NaiveDate), MonthRegister>> {
    let (ids, months): (Vec<i64>, Vec<NaiveDate>) = keys.copied().unzip();
    let rows: Vec<register::StoredRow> = sqlx::query_as(concat!(
        "select ",
        register::columns!(),
        "
         from unnest($1::int8[], $2::date[]) as k(enrolment_id, month)
         join register r on r.enrolment_id = k.enrolment_id and r.month = k.month"
    ))
    .bind(&ids)
    .bind(&months)
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter()
        .map(|row| {
            let (enrolment_id, month, decoded) = register::decode_stored(row)?;
            Ok(((enrolment_id, month), decoded))
        })
        .collect()
}

/// The version of each feed sequence number.
async fn feed_versions(
    tx: &mut Tx,
    seqs: impl Iterator<Item = i32>,
) -> Result<HashMap<i32, Version>> {
    let mut seqs: Vec<i32> = seqs.collect();
    seqs.sort_unstable();
    seqs.dedup();
    let versions: Vec<(i32, DateTime<Utc>, Uuid)> = sqlx::query_as(
        "select seq, recorded_at, feed_id from feeds
         where seq = any($1) and recorded_at is not null",
    )
    .bind(&seqs)
    .fetch_all(&mut **tx)
    .await?;
    Ok(versions
        .into_iter()
        .map(|(seq, at, id)| (seq, (at, id)))
        .collect())
}

/// Inserts or replaces whole register rows.
async fn write_rows(tx: &mut Tx, rows: &[(i64, NaiveDate, EncodedRow)]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let n = rows.len();
    let (mut ids, mut months) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut codes, mut slot_feeds) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut feeds, mut minutes) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut since_feeds, mut history) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for (id, month, row) in rows {
        ids.push(*id);
        months.push(*month);
        codes.push(row.codes.as_slice());
        slot_feeds.push(row.slot_feeds.as_slice());
        feeds.push(row.feeds.as_slice());
        minutes.push(row.minutes.as_deref());
        since_feeds.push(row.since_feeds.as_deref());
        history.push(row.history.as_deref());
    }
    sqlx::query(
        "insert into register as r (enrolment_id, month, codes, slot_feeds, feeds, minutes,
                                    since_feeds, history)
         select * from unnest($1::int8[], $2::date[], $3::bytea[], $4::bytea[], $5::bytea[],
                              $6::bytea[], $7::bytea[], $8::bytea[])
         on conflict (enrolment_id, month) do update
         set codes = excluded.codes, slot_feeds = excluded.slot_feeds, feeds = excluded.feeds,
             minutes = excluded.minutes, since_feeds = excluded.since_feeds,
             history = excluded.history",
    )
    .bind(&ids)
    .bind(&months)
    .bind(&codes)
    .bind(&slot_feeds)
    .bind(&feeds)
    .bind(&minutes)
    .bind(&since_feeds)
    .bind(&history)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Marks the feed processed with its outcome, inserting its row if the gateway's is missing,
/// and keeps each of its findings (`feed_findings`: every one, for `ListFeedFindings` and
/// operations' dead letters). The receipt's own list holds those that fit one answer
/// (`validation::fitting`), the rest counted as omitted, beside the summary by code of them all.
/// A feed already processed keeps its first outcome, time and findings.
async fn finish_feed(tx: &mut Tx, feed: &ValidatedFeed, stats: ApplyStats) -> Result<()> {
    let o = &feed.outcome.summary;
    let findings = &feed.outcome.findings;
    let fit = validation::fitting(findings, validation::ANSWER_FINDINGS_BYTES);
    // A validator before summaries fitted the findings itself and counted the rest.
    let omitted = (findings.len() - fit) as u64 + u64::from(feed.outcome.findings_omitted);
    let seq: Option<i32> = sqlx::query_scalar(
        "insert into feeds as f (feed_id, school_urn, idempotency_key, payload_sha256,
                                 extracted_at, code_set, received_at, status, processed_at,
                                 roll_accepted, roll_rejected, marks_accepted, marks_rejected,
                                 records_warned, marks_written, marks_superseded, findings,
                                 findings_omitted, latest_date, finding_summary, answered_xid,
                                 answered_at)
         values ($1, $2, 'feed:' || $1::text, '', $3, '', now(), 'processed', now(),
                 $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                 pg_current_xact_id()::text::bigint, now())
         on conflict (feed_id) do update
         set status = 'processed', processed_at = excluded.processed_at,
             roll_accepted = excluded.roll_accepted, roll_rejected = excluded.roll_rejected,
             marks_accepted = excluded.marks_accepted, marks_rejected = excluded.marks_rejected,
             records_warned = excluded.records_warned, marks_written = excluded.marks_written,
             marks_superseded = excluded.marks_superseded, findings = excluded.findings,
             findings_omitted = excluded.findings_omitted, latest_date = excluded.latest_date,
             finding_summary = excluded.finding_summary,
             answered_xid = excluded.answered_xid, answered_at = excluded.answered_at
         where f.status <> 'processed'
         returning f.seq",
    )
    .bind(feed.feed_id)
    .bind(school_of(feed))
    .bind(feed.recorded_at)
    .bind(saturating_i32(o.roll_accepted))
    .bind(saturating_i32(o.roll_rejected))
    .bind(saturating_i32(o.marks_accepted))
    .bind(saturating_i32(o.marks_rejected))
    .bind(saturating_i32(o.records_warned))
    .bind(saturating_i32(stats.marks_written))
    .bind(saturating_i32(stats.marks_superseded))
    .bind(findings_json(&findings[..fit]))
    .bind(saturating_i32(omitted))
    .bind(feed.marks.iter().map(|m| m.date).max())
    .bind(summary_json(&validation::summarise(findings)))
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(seq) = seq
        && !findings.is_empty()
    {
        crate::dead_letters::store_findings(tx, seq, findings).await?;
    }
    Ok(())
}

fn saturating_i32(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The school's URN as the tables hold it.
fn school_of(feed: &ValidatedFeed) -> i32 {
    feed.school.get() as i32
}

/// 0 for the morning session, 1 for the afternoon, as the register's slots count them.
fn session_number(session: Session) -> i16 {
    match session {
        Session::Am => 0,
        Session::Pm => 1,
    }
}

/// A summary by code as stored with the feed (the gateway reads it back for receipts): each
/// code's severity, count and first records.
pub fn summary_json(summary: &[validation::CodeSummary]) -> serde_json::Value {
    serde_json::Value::Array(
        summary
            .iter()
            .map(|s| {
                serde_json::json!({
                    "code": s.code.as_str(),
                    "severity": s.severity.as_str(),
                    "count": s.count,
                    "first": s.first.iter().map(|r| {
                        let (kind, index) = r.kind_and_index();
                        serde_json::json!({"record_kind": kind, "record_index": index})
                    }).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

/// Findings as the JSON array stored with the feed (the gateway reads it back for receipts):
/// each finding's code, severity, record kind and index, field and message.
pub fn findings_json(findings: &[Finding]) -> serde_json::Value {
    serde_json::Value::Array(
        findings
            .iter()
            .map(|f| {
                let (kind, index) = f.record.kind_and_index();
                serde_json::json!({
                    "code": f.code.as_str(),
                    "severity": f.severity.as_str(),
                    "record_kind": kind,
                    "record_index": index,
                    "field": f.field,
                    "message": f.message,
                })
            })
            .collect(),
    )
}
