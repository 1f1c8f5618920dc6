//! What operations read of the records the pipeline rejected and the feeds it parked: findings
//! grouped by code, sender and school, each group's records by position, and parked feeds with
//! their refusal and replay. Positions, fields and rules only: never a value a record carried.

use chrono::{DateTime, Utc};
use rollcall_domain::validation::Finding;

use crate::{Pool, Refusal, Result};

/// Keeps a processed feed's findings (`feed_findings`), in the order the feed carried them.
/// Storing them again (a replay) changes nothing.
pub(crate) async fn store_findings(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    feed_seq: i32,
    findings: &[Finding],
) -> Result<()> {
    let mut codes = Vec::with_capacity(findings.len());
    let mut severities = Vec::with_capacity(findings.len());
    let mut kinds = Vec::with_capacity(findings.len());
    let mut indexes = Vec::with_capacity(findings.len());
    let mut fields = Vec::with_capacity(findings.len());
    let mut messages = Vec::with_capacity(findings.len());
    for finding in findings {
        let (kind, index) = finding.record.kind_and_index();
        codes.push(finding.code.as_str());
        severities.push(finding.severity.as_str());
        kinds.push(kind);
        indexes.push(i32::try_from(index).unwrap_or(i32::MAX));
        fields.push(finding.field);
        messages.push(finding.message.as_str());
    }
    sqlx::query(
        "insert into feed_findings (feed_seq, ordinal, code, severity, record_kind, record_index,
                                    field, message)
         select $1, f.ordinal - 1, f.code, f.severity, f.kind, f.index, f.field, f.message
         from unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[])
              with ordinality as f(code, severity, kind, index, field, message, ordinal)
         on conflict do nothing",
    )
    .bind(feed_seq)
    .bind(&codes)
    .bind(&severities)
    .bind(&kinds)
    .bind(&indexes)
    .bind(&fields)
    .bind(&messages)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Rejected records of one finding code, from one sender, for one school.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct DeadLetterGroup {
    pub code: String,
    /// A vendor's registered name, `school`, or empty for feeds recorded before senders were.
    pub sender: String,
    pub school_urn: i32,
    /// Records (roll, mark or the whole feed) with this finding.
    pub records: i64,
    pub feeds: i64,
    /// When the first and the last feed with it were received.
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// Every group of error findings (the ones that rejected their record) of feeds received at or
/// after `since`, most records first.
pub async fn dead_letter_groups(pool: &Pool, since: DateTime<Utc>) -> Result<Vec<DeadLetterGroup>> {
    let groups = sqlx::query_as(
        "select x.code, coalesce(f.sender, '') as sender, f.school_urn,
                count(*) as records, count(distinct f.seq) as feeds,
                min(f.received_at) as first_seen, max(f.received_at) as last_seen
         from feed_findings x
         join feeds f on f.seq = x.feed_seq
         where x.severity = 'error' and f.received_at >= $1
         group by x.code, coalesce(f.sender, ''), f.school_urn
         order by records desc, x.code, sender, f.school_urn",
    )
    .bind(since)
    .fetch_all(pool.pg())
    .await?;
    Ok(groups)
}

/// One rejected record of a group: where it was, and what rule it broke.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct DeadLetter {
    pub feed_id: uuid::Uuid,
    pub received_at: DateTime<Utc>,
    pub record_kind: String,
    pub record_index: i32,
    pub field: String,
    pub message: String,
}

/// The key of a group, as [`dead_letter_groups`] names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupKey {
    pub code: String,
    pub sender: String,
    pub school_urn: i32,
}

/// A page of a group's rejected records since `since`, newest feed first and in record order
/// within a feed, after the position `after` (the last of the previous page: the feed's `seq`
/// and the finding's ordinal).
pub async fn dead_letters(
    pool: &Pool,
    group: &GroupKey,
    since: DateTime<Utc>,
    after: Option<(i32, i32)>,
    limit: i64,
) -> Result<Vec<(DeadLetter, (i32, i32))>> {
    let rows: Vec<DeadLetterRow> = sqlx::query_as(
        "select f.feed_id, f.received_at, x.record_kind, x.record_index, x.field, x.message,
                f.seq, x.ordinal
         from feed_findings x
         join feeds f on f.seq = x.feed_seq
         where x.severity = 'error' and x.code = $1 and coalesce(f.sender, '') = $2
           and f.school_urn = $3 and f.received_at >= $4
           and ($5::int is null or (f.seq, x.ordinal) < ($5, $6))
         order by f.seq desc, x.ordinal desc
         limit $7",
    )
    .bind(&group.code)
    .bind(&group.sender)
    .bind(group.school_urn)
    .bind(since)
    .bind(after.map(|(seq, _)| seq))
    .bind(after.map(|(_, ordinal)| ordinal))
    .bind(limit)
    .fetch_all(pool.pg())
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.letter, (row.seq, row.ordinal)))
        .collect())
}

/// A dead letter with where it stands in the order pages follow.
#[derive(sqlx::FromRow)]
struct DeadLetterRow {
    #[sqlx(flatten)]
    letter: DeadLetter,
    seq: i32,
    ordinal: i32,
}

/// Every parked feed, newest first: the refusal, and where its replay is.
pub async fn parked_feeds(pool: &Pool) -> Result<Vec<crate::ParkedFeedRow>> {
    let rows = sqlx::query_as(
        "select id, feed_id, school_urn, topic, partition, \"offset\", parked_at, attempts,
                sqlstate, reason, table_name, column_name, constraint_name, field, replayed_at,
                replay_requested_at
         from parked_feeds order by parked_at desc, id desc",
    )
    .fetch_all(pool.pg())
    .await?;
    Ok(rows)
}

/// What asking for a parked feed's replay found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayRequest {
    /// Asked: the aggregator applies it again shortly.
    Requested,
    /// It was replayed and stored already.
    AlreadyReplayed,
    NotFound,
}

/// Asks the aggregator to apply parked feed `id` again (`replays_due`).
pub async fn request_replay(pool: &Pool, id: i64) -> Result<ReplayRequest> {
    let row: Option<(Option<DateTime<Utc>>,)> = sqlx::query_as(
        "update parked_feeds set replay_requested_at = coalesce(replay_requested_at, now())
         where id = $1
         returning replayed_at",
    )
    .bind(id)
    .fetch_optional(pool.pg())
    .await?;
    Ok(match row {
        None => ReplayRequest::NotFound,
        Some((Some(_),)) => ReplayRequest::AlreadyReplayed,
        Some((None,)) => ReplayRequest::Requested,
    })
}

/// A parked message whose replay was asked for: its id and the message byte for byte.
pub struct DueReplay {
    pub id: i64,
    pub payload: Vec<u8>,
}

/// The parked feeds whose replay was asked for and not yet done, oldest request first.
pub async fn replays_due(pool: &Pool, limit: i64) -> Result<Vec<DueReplay>> {
    let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        "select id, payload from parked_feeds
         where replay_requested_at is not null and replayed_at is null
         order by replay_requested_at, id
         limit $1",
    )
    .bind(limit)
    .fetch_all(pool.pg())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, payload)| DueReplay { id, payload })
        .collect())
}

/// Records that parked feed `id` was applied again and stored.
pub async fn replay_stored(pool: &Pool, id: i64) -> Result<()> {
    sqlx::query("update parked_feeds set replayed_at = now() where id = $1")
        .bind(id)
        .execute(pool.pg())
        .await?;
    Ok(())
}

/// Records that replaying parked feed `id` was refused again, with the new refusal; the request
/// is cleared, so it waits for the next one.
pub async fn replay_refused(pool: &Pool, id: i64, refusal: &Refusal) -> Result<()> {
    sqlx::query(
        "update parked_feeds
         set replay_requested_at = null, attempts = attempts + 1, sqlstate = $2, reason = $3,
             table_name = $4, column_name = $5, constraint_name = $6
         where id = $1",
    )
    .bind(id)
    .bind(&refusal.sqlstate)
    .bind(&refusal.reason)
    .bind(&refusal.table)
    .bind(&refusal.column)
    .bind(&refusal.constraint)
    .execute(pool.pg())
    .await?;
    Ok(())
}
