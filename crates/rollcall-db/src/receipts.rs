//! Receipts pushed to senders as their feeds are answered (`FeedService.WatchReceipts`): the
//! answered feeds a watcher may see, in the order their transactions committed as far as any
//! reader can tell, and the signal that wakes watchers when there are more.
//!
//! A feed is answered by the transaction that gives it its outcome (`answered_xid`). A watcher's
//! position is an (answered_xid, feed_id) pair, and it reads only the feeds answered below the
//! oldest transaction still running (`pg_snapshot_xmin` of the current snapshot): every
//! transaction below that has committed or rolled back, so no feed can later appear behind a
//! position already passed. Resuming from a position misses nothing after it and repeats
//! nothing before it. Transaction ids are the server's: a long transaction anywhere on the
//! PostgreSQL server (another database's too) holds answers back until it ends.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgListener;
use uuid::Uuid;

use crate::{Access, FeedRow, Pool, Result};

/// The channel every answer notifies (delivered when its transaction commits).
const CHANNEL: &str = "rollcall_receipts";

/// Where a watcher is: the last answered feed it was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiptPosition {
    pub answered_xid: i64,
    pub feed_id: Uuid,
}

/// Wakes watchers once `tx` commits.
pub(crate) async fn notify(tx: &mut sqlx::Transaction<'static, sqlx::Postgres>) -> Result<()> {
    sqlx::query("select pg_notify($1, '')")
        .bind(CHANNEL)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The feeds within `access` answered after `after` (none: those answered at or after `since`),
/// in answer order, at most `limit`; each with its position. Only feeds whose answer no running
/// transaction can still precede.
pub async fn answered_feeds(
    pool: &Pool,
    access: &Access,
    after: Option<ReceiptPosition>,
    since: Option<DateTime<Utc>>,
    limit: i64,
) -> Result<Vec<(FeedRow, ReceiptPosition)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        feed: FeedRow,
        answered_xid: i64,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "select f.feed_id, f.school_urn, f.idempotency_key, f.payload_sha256, f.extracted_at,
                f.code_set, f.received_at, f.status, f.roll_records, f.mark_records,
                f.processed_at, f.roll_accepted, f.roll_rejected, f.marks_accepted,
                f.marks_rejected, f.records_warned, f.marks_written, f.marks_superseded,
                f.findings, f.findings_omitted, f.finding_summary, f.answered_xid
         from feeds f
         left join schools s on s.urn = f.school_urn
         where f.answered_xid is not null
           and f.answered_xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
           and ($1 or f.school_urn = any($2) or s.la_code = any($3))
           and ($4::bigint is null or (f.answered_xid, f.feed_id) > ($4, $5))
           and ($6::timestamptz is null or f.answered_at >= $6)
         order by f.answered_xid, f.feed_id
         limit $7",
    )
    .bind(access.everything)
    .bind(&access.urns)
    .bind(&access.la_codes)
    .bind(after.map(|p| p.answered_xid))
    .bind(after.map(|p| p.feed_id))
    .bind(since)
    .bind(limit)
    .fetch_all(pool.pg())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let position = ReceiptPosition {
                answered_xid: r.answered_xid,
                feed_id: r.feed.feed_id,
            };
            (r.feed, position)
        })
        .collect())
}

/// The notifications of answers, on a connection of its own.
pub struct ReceiptSignal {
    listener: PgListener,
}

impl ReceiptSignal {
    pub async fn listen(pool: &Pool) -> Result<ReceiptSignal> {
        let mut listener = PgListener::connect_with(pool.pg()).await?;
        listener.listen(CHANNEL).await?;
        Ok(ReceiptSignal { listener })
    }

    /// Waits for the next answer's notification. After a lost connection it reconnects by
    /// itself (notifications meanwhile are lost: watchers also read on a timer).
    pub async fn next(&mut self) -> Result<()> {
        self.listener.recv().await?;
        Ok(())
    }
}
