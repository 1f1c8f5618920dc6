//! Feeds set aside because the database refused them for good: kept byte for byte with why,
//! so their partition moves on and they can be replayed once the cause is fixed.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{Pool, Refusal, Result};

/// A message the aggregator could not store, as it is parked.
#[derive(Clone, PartialEq, Eq)]
pub struct NewParkedFeed {
    /// Null when the message could not be decoded far enough to name its feed.
    pub feed_id: Option<Uuid>,
    pub school_urn: Option<i32>,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub attempts: i32,
    pub refusal: Refusal,
    /// Where in the feed, when it could be told (e.g. `pupil 3 forename`); never a value.
    pub field: Option<String>,
    /// The message as it was read: it holds pupils' details, so it is stored, never logged.
    pub payload: Vec<u8>,
}

/// Debug leaves out the payload (it holds pupils' details).
impl std::fmt::Debug for NewParkedFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewParkedFeed")
            .field("feed_id", &self.feed_id)
            .field("school_urn", &self.school_urn)
            .field("partition", &self.partition)
            .field("offset", &self.offset)
            .field("refusal", &self.refusal)
            .field("field", &self.field)
            .finish_non_exhaustive()
    }
}

/// A parked feed as read back: everything but the payload.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ParkedFeedRow {
    pub id: i64,
    pub feed_id: Option<Uuid>,
    pub school_urn: Option<i32>,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub parked_at: DateTime<Utc>,
    pub attempts: i32,
    pub sqlstate: Option<String>,
    pub reason: String,
    pub table_name: Option<String>,
    pub column_name: Option<String>,
    pub constraint_name: Option<String>,
    pub field: Option<String>,
    pub replayed_at: Option<DateTime<Utc>>,
    /// Set while a replay is asked for and not yet done.
    pub replay_requested_at: Option<DateTime<Utc>>,
}

/// Parks a message and, when it names a feed not yet processed, marks the feed `parked` for its
/// receipt; both in one transaction. Parking the same message again (a redelivery after a crash
/// between this and the offset commit) changes nothing.
pub async fn park_feed(pool: &Pool, parked: &NewParkedFeed) -> Result<()> {
    let mut tx = pool.begin().await?;
    let r = &parked.refusal;
    sqlx::query(
        "insert into parked_feeds (feed_id, school_urn, topic, partition, \"offset\", attempts,
                                   sqlstate, reason, table_name, column_name, constraint_name,
                                   field, payload)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         on conflict (topic, partition, \"offset\") do nothing",
    )
    .bind(parked.feed_id)
    .bind(parked.school_urn)
    .bind(&parked.topic)
    .bind(parked.partition)
    .bind(parked.offset)
    .bind(parked.attempts)
    .bind(&r.sqlstate)
    .bind(&r.reason)
    .bind(&r.table)
    .bind(&r.column)
    .bind(&r.constraint)
    .bind(&parked.field)
    .bind(&parked.payload)
    .execute(&mut *tx)
    .await?;
    if let Some(feed_id) = parked.feed_id {
        let moved = sqlx::query(
            "update feeds set status = 'parked', answered_xid = pg_current_xact_id()::text::bigint,
                              answered_at = now()
             where feed_id = $1 and status not in ('processed', 'parked')",
        )
        .bind(feed_id)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() > 0 {
            crate::receipts::notify(&mut tx).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Why a feed was parked, for its receipt: the latest parking of the feed.
pub async fn feed_parking(pool: &Pool, feed_id: Uuid) -> Result<Option<ParkedFeedRow>> {
    let row = sqlx::query_as(
        "select id, feed_id, school_urn, topic, partition, \"offset\", parked_at, attempts,
                sqlstate, reason, table_name, column_name, constraint_name, field, replayed_at,
                replay_requested_at
         from parked_feeds
         where feed_id = $1
         order by id desc
         limit 1",
    )
    .bind(feed_id)
    .fetch_optional(pool.pg())
    .await?;
    Ok(row)
}
