//! SQL for the benchmark program only: feed timings per stage, the bare-`COPY` floor, and the
//! bytes on disk per stored mark. Nothing in the pipeline calls these.

use chrono::{DateTime, Utc};

use crate::queries::{Page, Scope};
use crate::{Access, Pool, Result};

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
    .fetch_one(pool.pg())
    .await?)
}

/// Where the server's write-ahead log is, and how many checkpoints it has run: taken before and
/// after a phase, the difference is what the phase wrote to the log (every change, plus a full
/// page image for the first change of each page after a checkpoint) and how many checkpoints
/// fell within it. Server-wide: anything else writing at the time is counted too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalMark {
    pub lsn_bytes: i64,
    pub checkpoints: i64,
}

pub async fn wal_mark(pool: &Pool) -> Result<WalMark> {
    let (lsn_bytes, checkpoints): (i64, i64) = sqlx::query_as(
        "select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::int8,
                (select checkpoints_timed + checkpoints_req from pg_stat_bgwriter)",
    )
    .fetch_one(pool.pg())
    .await?;
    Ok(WalMark {
        lsn_bytes,
        checkpoints,
    })
}

/// The server settings that change what a write or a plan costs, as `(name, value)`: whether
/// autovacuum (and with it autoanalyze) runs, durability, memory and checkpoint spacing.
pub async fn server_settings(pool: &Pool) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "select name, current_setting(name) from pg_settings
         where name in ('server_version', 'autovacuum', 'fsync', 'synchronous_commit',
                        'shared_buffers', 'max_wal_size', 'checkpoint_timeout', 'work_mem')
         order by name",
    )
    .fetch_all(pool.pg())
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

/// The stored marks: the `register` table's size with its index and TOAST, and how many marks
/// it holds (from the school totals).
pub async fn marks_size(pool: &Pool) -> Result<TableSize> {
    let (bytes, rows): (i64, i64) = sqlx::query_as(
        "select pg_total_relation_size('register'),
                (select coalesce(sum(marks), 0)::int8 from school_totals)",
    )
    .fetch_one(pool.pg())
    .await?;
    Ok(TableSize { bytes, rows })
}

/// The materialised totals (`enrolment_totals` and `school_totals`, with indexes), over the same
/// number of marks: what the year views cost on top of the marks.
pub async fn totals_size(pool: &Pool) -> Result<TableSize> {
    let (bytes, rows): (i64, i64) = sqlx::query_as(
        "select pg_total_relation_size('enrolment_totals') + pg_total_relation_size('school_totals'),
                (select coalesce(sum(marks), 0)::int8 from school_totals)",
    )
    .fetch_one(pool.pg())
    .await?;
    Ok(TableSize { bytes, rows })
}

/// The COPY floor's table: its size and row count.
pub async fn copy_floor_size(pool: &Pool) -> Result<TableSize> {
    let (bytes, rows): (i64, i64) = sqlx::query_as(
        "select pg_total_relation_size('bench_copy_floor'), (select count(*) from bench_copy_floor)",
    )
    .fetch_one(pool.pg())
    .await?;
    Ok(TableSize { bytes, rows })
}

/// `VACUUM (ANALYZE)` of the registers and totals, so dead versions left by re-sent weeks no
/// longer count.
pub async fn vacuum_marks(pool: &Pool) -> Result<()> {
    sqlx::query("vacuum (analyze) register, enrolment_totals, school_totals")
        .execute(pool.pg())
        .await?;
    Ok(())
}

/// `VACUUM FULL` of the registers and totals: rewrites the tables and indexes compactly, so the
/// size is what the live rows take with no free space left by rewritten rows.
pub async fn vacuum_full_marks(pool: &Pool) -> Result<()> {
    sqlx::query("vacuum full register, enrolment_totals, school_totals")
        .execute(pool.pg())
        .await?;
    Ok(())
}

/// A fresh, empty table with the marks' key and a code: what the COPY floor loads.
pub async fn prepare_copy_floor(pool: &Pool) -> Result<()> {
    sqlx::query("drop table if exists bench_copy_floor")
        .execute(pool.pg())
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
    .execute(pool.pg())
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

/// The plan PostgreSQL chooses for a page of the at-risk list over an academic year
/// (`EXPLAIN`, without running it), one line per plan node: whether the page is read from the
/// index in order, or every at-risk enrolment is read and sorted.
pub async fn at_risk_year_plan(
    pool: &Pool,
    access: &Access,
    scope: Scope,
    year: i16,
    severe_only: bool,
    page: Page,
) -> Result<String> {
    crate::queries::at_risk_year_plan(pool, access, scope, year, severe_only, page).await
}
