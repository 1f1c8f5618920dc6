//! SQL for the benchmark program only: feed timings per stage, the bare-`COPY` floor, and the
//! bytes on disk per stored mark. Nothing in the pipeline calls these.

use chrono::{DateTime, Utc};

use crate::{Pool, Result};

/// When the feeds were received by the gateway and processed by the aggregator.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct FeedTimes {
    pub feeds: i64,
    pub processed: i64,
    pub marks: i64,
    pub first_received: Option<DateTime<Utc>>,
    pub last_received: Option<DateTime<Utc>>,
    pub first_processed: Option<DateTime<Utc>>,
    pub last_processed: Option<DateTime<Utc>>,
}

/// Receipt timestamps over every feed in the database.
pub async fn feed_times(pool: &Pool) -> Result<FeedTimes> {
    Ok(sqlx::query_as(
        "select count(*) as feeds,
                count(*) filter (where status = 'processed') as processed,
                coalesce(sum(mark_records), 0)::bigint as marks,
                min(received_at) as first_received,
                max(received_at) as last_received,
                min(processed_at) as first_processed,
                max(processed_at) as last_processed
           from feeds",
    )
    .fetch_one(pool)
    .await?)
}

/// The size of a table with its indexes and TOAST, and its rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableSize {
    pub bytes: i64,
    pub rows: i64,
}

impl TableSize {
    pub fn bytes_per_row(&self) -> f64 {
        if self.rows == 0 {
            0.0
        } else {
            self.bytes as f64 / self.rows as f64
        }
    }
}

/// The stored marks: `pg_total_relation_size('marks')` and the row count.
pub async fn marks_size(pool: &Pool) -> Result<TableSize> {
    let (bytes, rows): (i64, i64) =
        sqlx::query_as("select pg_total_relation_size('marks'), (select count(*) from marks)")
            .fetch_one(pool)
            .await?;
    Ok(TableSize { bytes, rows })
}

/// The COPY floor's table: its size and row count.
pub async fn copy_floor_size(pool: &Pool) -> Result<TableSize> {
    let (bytes, rows): (i64, i64) = sqlx::query_as(
        "select pg_total_relation_size('bench_copy_floor'), (select count(*) from bench_copy_floor)",
    )
    .fetch_one(pool)
    .await?;
    Ok(TableSize { bytes, rows })
}

/// `VACUUM (ANALYZE)` of `marks`, so dead versions left by re-sent marks no longer count.
pub async fn vacuum_marks(pool: &Pool) -> Result<()> {
    sqlx::query("vacuum (analyze) marks").execute(pool).await?;
    Ok(())
}

/// `VACUUM FULL` of `marks`: rewrites the table and its index compactly, so the size is what
/// the live marks take with no free space left by re-sent marks.
pub async fn vacuum_full_marks(pool: &Pool) -> Result<()> {
    sqlx::query("vacuum full marks").execute(pool).await?;
    Ok(())
}

/// A fresh, empty table with the marks' key and a code: what the COPY floor loads.
pub async fn prepare_copy_floor(pool: &Pool) -> Result<()> {
    sqlx::query("drop table if exists bench_copy_floor")
        .execute(pool)
        .await?;
    sqlx::query(
        "create table bench_copy_floor (
             enrolment_id bigint not null,
             date         date not null,
             session      smallint not null,
             code         text not null,
             primary key (enrolment_id, date, session)
         )",
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Loads `data` (COPY text format: `enrolment_id`, `date`, `session`, `code`, tab separated,
/// one row a line) into `bench_copy_floor` with one bare `COPY`, sent in chunks of
/// `chunk_bytes`. Returns the rows copied.
pub async fn copy_floor(pool: &Pool, data: &[u8], chunk_bytes: usize) -> Result<u64> {
    let mut conn = pool.acquire().await?;
    let mut copy = conn
        .copy_in_raw("copy bench_copy_floor (enrolment_id, date, session, code) from stdin")
        .await?;
    for chunk in data.chunks(chunk_bytes.max(1)) {
        copy.send(chunk).await?;
    }
    Ok(copy.finish().await?)
}
