//! Feed receipts: the gateway's idempotency record, completed by the aggregator's outcome.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{Access, Error, Pool, Result};

/// A feed as the gateway received it, before it is enqueued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewFeed {
    pub feed_id: Uuid,
    pub school_urn: i32,
    /// Chosen by the sender; unique per school.
    pub idempotency_key: String,
    pub payload_sha256: Vec<u8>,
    pub extracted_at: DateTime<Utc>,
    pub code_set: String,
    pub roll_records: i32,
    pub mark_records: i32,
    /// A vendor's registered name, or `school` for a school sending its own files.
    pub sender: String,
}

/// A row of `feeds`. `status` is `received`, `enqueued`, `processed` or `parked`; the outcome
/// columns are set once the aggregator has processed the feed.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct FeedRow {
    pub feed_id: Uuid,
    pub school_urn: i32,
    pub idempotency_key: String,
    pub payload_sha256: Vec<u8>,
    pub extracted_at: DateTime<Utc>,
    pub code_set: String,
    pub received_at: DateTime<Utc>,
    pub status: String,
    pub roll_records: Option<i32>,
    pub mark_records: Option<i32>,
    pub processed_at: Option<DateTime<Utc>>,
    pub roll_accepted: Option<i32>,
    pub roll_rejected: Option<i32>,
    pub marks_accepted: Option<i32>,
    pub marks_rejected: Option<i32>,
    pub records_warned: Option<i32>,
    pub marks_written: Option<i32>,
    pub marks_superseded: Option<i32>,
    pub findings: Option<serde_json::Value>,
    pub findings_omitted: Option<i32>,
    /// Every finding counted by code (`summary_json`); none before it was kept.
    pub finding_summary: Option<serde_json::Value>,
}

impl FeedRow {
    pub const RECEIVED: &'static str = "received";
    pub const ENQUEUED: &'static str = "enqueued";
    pub const PROCESSED: &'static str = "processed";
    /// Refused by the database for good and set aside (`parked_feeds`); replayable.
    pub const PARKED: &'static str = "parked";

    pub fn is_processed(&self) -> bool {
        self.status == Self::PROCESSED
    }
}

/// What `register_feed` found.
#[derive(Clone, Debug, PartialEq)]
pub enum Registered {
    /// The feed was new and is now recorded as received.
    New(FeedRow),
    /// The school already sent this idempotency key: the first feed's row, unchanged.
    Existing(FeedRow),
}

impl Registered {
    pub fn row(&self) -> &FeedRow {
        match self {
            Registered::New(row) | Registered::Existing(row) => row,
        }
    }

    pub fn into_row(self) -> FeedRow {
        match self {
            Registered::New(row) | Registered::Existing(row) => row,
        }
    }
}

/// Records a received feed, or returns the row already held for the same school and
/// idempotency key (or the same feed id) without changing it.
pub async fn register_feed(pool: &Pool, feed: &NewFeed) -> Result<Registered> {
    let inserted: Option<FeedRow> = sqlx::query_as(
        "insert into feeds (feed_id, school_urn, idempotency_key, payload_sha256, extracted_at,
                            code_set, received_at, status, roll_records, mark_records, sender)
         values ($1, $2, $3, $4, $5, $6, now(), 'received', $7, $8, $9)
         on conflict do nothing
         returning *",
    )
    .bind(feed.feed_id)
    .bind(feed.school_urn)
    .bind(&feed.idempotency_key)
    .bind(&feed.payload_sha256)
    .bind(feed.extracted_at)
    .bind(&feed.code_set)
    .bind(feed.roll_records)
    .bind(feed.mark_records)
    .bind(&feed.sender)
    .fetch_optional(pool.pg())
    .await?;
    if let Some(row) = inserted {
        return Ok(Registered::New(row));
    }
    // The conflicting row was committed before the insert gave up, so this statement sees it.
    let existing: Option<FeedRow> = sqlx::query_as(
        "select * from feeds
         where (school_urn = $1 and idempotency_key = $2) or feed_id = $3
         order by (school_urn = $1 and idempotency_key = $2) desc
         limit 1",
    )
    .bind(feed.school_urn)
    .bind(&feed.idempotency_key)
    .bind(feed.feed_id)
    .fetch_optional(pool.pg())
    .await?;
    // Only a concurrent delete could take the row away; feeds are never deleted.
    existing
        .map(Registered::Existing)
        .ok_or(Error::FeedNotFound {
            feed_id: feed.feed_id,
        })
}

/// Moves a feed from `received` to `enqueued`, with where its first record is on the feeds
/// topic (`position`: partition and offset), for a replay to read it back. A feed already
/// enqueued or processed is left as it is; an unknown feed is an error.
pub async fn mark_feed_enqueued(
    pool: &Pool,
    feed_id: Uuid,
    position: Option<(i32, i64)>,
) -> Result<()> {
    let found: Option<bool> = sqlx::query_scalar(
        "with moved as (
             update feeds set status = 'enqueued', topic_partition = $2, topic_offset = $3
             where feed_id = $1 and status = 'received'
             returning 1
         )
         select exists (select 1 from moved) from feeds where feed_id = $1",
    )
    .bind(feed_id)
    .bind(position.map(|p| p.0))
    .bind(position.map(|p| p.1))
    .fetch_optional(pool.pg())
    .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(Error::FeedNotFound { feed_id }),
    }
}

pub async fn get_feed(pool: &Pool, feed_id: Uuid) -> Result<Option<FeedRow>> {
    let row = sqlx::query_as("select * from feeds where feed_id = $1")
        .bind(feed_id)
        .fetch_optional(pool.pg())
        .await?;
    Ok(row)
}

/// Where a page of [`list_feeds`] ended: the last feed's receipt time and id. The next page
/// starts after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeedCursor {
    pub received_at: DateTime<Utc>,
    pub feed_id: Uuid,
}

/// Feeds within `access`, of one school or of every school it covers, received from `since`
/// (included) to `until` (excluded), newest first, after `after`, at most `limit` of them.
/// Rows carry their counts but not their findings (those are in each feed's receipt).
pub async fn list_feeds(
    pool: &Pool,
    access: &Access,
    school: Option<i32>,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    after: Option<FeedCursor>,
    limit: i64,
) -> Result<Vec<FeedRow>> {
    let rows = sqlx::query_as(
        "select f.feed_id, f.school_urn, f.idempotency_key, f.payload_sha256, f.extracted_at,
                f.code_set, f.received_at, f.status, f.roll_records, f.mark_records,
                f.processed_at, f.roll_accepted, f.roll_rejected, f.marks_accepted,
                f.marks_rejected, f.records_warned, f.marks_written, f.marks_superseded,
                null::jsonb as findings, f.findings_omitted, null::jsonb as finding_summary
         from feeds f
         left join schools s on s.urn = f.school_urn
         where ($1 or f.school_urn = any($2) or s.la_code = any($3))
           and ($4::int is null or f.school_urn = $4)
           and f.received_at >= $5 and f.received_at < $6
           and ($7::timestamptz is null or (f.received_at, f.feed_id) < ($7, $8))
         order by f.received_at desc, f.feed_id desc
         limit $9",
    )
    .bind(access.everything)
    .bind(&access.urns)
    .bind(&access.la_codes)
    .bind(school)
    .bind(since)
    .bind(until)
    .bind(after.map(|c| c.received_at))
    .bind(after.map(|c| c.feed_id))
    .bind(limit)
    .fetch_all(pool.pg())
    .await?;
    Ok(rows)
}

/// One finding of a feed as `feed_findings` keeps it: its place among the feed's findings (in the
/// catalogue's order), and the finding.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct FindingRow {
    pub ordinal: i32,
    pub code: String,
    pub severity: String,
    pub record_kind: String,
    pub record_index: i32,
    pub field: String,
    pub message: String,
}

/// Up to `limit` of feed `feed_id`'s findings after the one at `after` (none: from the first),
/// in order; only those of `code` when given.
pub async fn feed_findings_page(
    pool: &Pool,
    feed_id: Uuid,
    after: Option<i32>,
    code: Option<&str>,
    limit: i64,
) -> Result<Vec<FindingRow>> {
    let rows = sqlx::query_as(
        "select x.ordinal, x.code, x.severity, x.record_kind, x.record_index, x.field, x.message
         from feed_findings x join feeds f on f.seq = x.feed_seq
         where f.feed_id = $1 and x.ordinal > $2 and ($3::text is null or x.code = $3)
         order by x.ordinal
         limit $4",
    )
    .bind(feed_id)
    .bind(after.unwrap_or(-1))
    .bind(code)
    .bind(limit)
    .fetch_all(pool.pg())
    .await?;
    Ok(rows)
}
