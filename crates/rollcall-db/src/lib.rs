//! PostgreSQL access for Rollcall: the only crate that contains SQL.
//!
//! Plain row structs in and out (URN `i32`, LA code `i16`, UPN `String`, session `i16` with
//! 0 = AM and 1 = PM); the services convert to and from domain types. The exception is the
//! materialised measures (`totals`), which this crate keeps with the domain's `Counters` so that
//! persistent and severe absence are judged by the domain's rule when the marks change. Every query is a literal
//! SQL string with bind parameters; bulk writes bind whole columns as arrays and `UNNEST` them,
//! so a feed costs a handful of round trips however many marks it carries.

pub mod access;
mod apply;
mod approaching;
mod as_at;
mod audit;
pub mod bench;
pub mod canonical;
mod codebook;
mod dead_letters;
mod error;
pub mod export;
mod feeds;
mod keys;
mod locks;
mod parked;
mod pupils;
mod queries;
mod receipts;
mod reconcile;
pub mod register;
mod registry;
mod school_replay;
mod school_status;
mod totals;

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

pub use access::{Access, Principal, PrincipalKind, PupilAccess};
pub use apply::{
    ApplyStats, apply_validated_feed, apply_validated_feeds, findings_json, summary_json,
};
pub use approaching::{ApproachingPage, approaching_year};
pub use as_at::school_year_totals_as_at;
pub use audit::{
    AuditEventRow, NewAuditEvent, append_audit_enrolments, list_audit_events, record_audit_event,
};
pub use dead_letters::{
    DeadLetter, DeadLetterGroup, DueReplay, GroupKey, ReplayRequest, dead_letter_groups,
    dead_letters, parked_feeds, replay_refused, replay_stored, replays_due, request_replay,
};
pub use error::{Error, ErrorKind, Refusal, describe_sqlstate, sqlstate_kind};
pub use feeds::{
    FeedCursor, FeedRow, FindingRow, NewFeed, Registered, feed_findings_page, get_feed, list_feeds,
    mark_feed_enqueued, register_feed,
};
pub use keys::{
    ApiKeyRow, NewApiKey, create_api_key, find_api_key, list_api_keys, revoke_api_key,
    set_vendor_schools, vendor_schools,
};
pub use parked::{NewParkedFeed, ParkedFeedRow, feed_parking, park_feed};
pub use pupils::{
    AttributeVersion, MAX_FOUND, PupilRecord, PupilSearch, PupilSession, SessionCorrection,
    enrolment_sessions, find_pupils, household, pupil_record,
};
pub use queries::{
    Enrolment, EnrolmentCodeCount, EnrolmentCounts, Page, PageOf, PipelineCounts, SchoolYearTotals,
    Scope, at_risk_year, enrolment_code_counts, enrolments_by_id, for_each_enrolment,
    for_each_enrolment_as_at, pipeline_counts, school_enrolment_counts, school_year_totals,
};
pub use receipts::{ReceiptPosition, ReceiptSignal, answered_feeds};
pub use reconcile::{HeldDay, held_days};
pub use registry::{
    CodeRow, School, domain_codes, get_school, list_schools, sync_codes, upsert_schools,
};
pub use school_replay::{
    Counts, FeedChange, Preview, ReplayChanges, ReplayFeed, ReplayTask, SchoolReplayRow,
    fail_school_replay, finish_school_replay, get_school_replay, replay_feeds,
    request_school_replay, take_school_replay,
};
pub use school_status::{
    CalendarRow, SchoolFeeds, SenderFeeds, calendars_of_la, registry_la_codes, replace_calendars,
    school_feeds, sender_feeds, sender_rejections,
};
pub use totals::{APPROACHING_HORIZON, rebuild_pending_totals, rebuild_school_totals};

/// The connection pool every service shares, with the code book it last read
/// ([`codebook`]'s cache). Cheap to clone: clones share the connections and the book. It
/// dereferences to sqlx's pool; statements run on [`Pool::pg`].
#[derive(Clone, Debug)]
pub struct Pool {
    pg: sqlx::PgPool,
    books: codebook::Cache,
}

impl Pool {
    fn new(pg: sqlx::PgPool) -> Pool {
        Pool {
            pg,
            books: codebook::Cache::default(),
        }
    }

    /// sqlx's pool, to run statements on.
    pub fn pg(&self) -> &sqlx::PgPool {
        &self.pg
    }

    pub(crate) fn books(&self) -> &codebook::Cache {
        &self.books
    }
}

impl std::ops::Deref for Pool {
    type Target = sqlx::PgPool;

    fn deref(&self) -> &sqlx::PgPool {
        &self.pg
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// How long a statement waits for a connection before it fails (sqlx's default is 30 seconds):
/// while PostgreSQL is down, a vendor's call is answered `UNAVAILABLE` within this and the
/// vendor backs off, rather than holding its stream open; the workers retry on their own.
pub const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens a pool of at most `max_connections` connections to `url`.
///
/// Every statement is planned for the values it runs with (`plan_cache_mode =
/// force_custom_plan`), never from a generic plan cached on the connection. The write path binds
/// whole columns as arrays, and a generic plan cannot see their length: one chosen on a new,
/// still empty database scans a school's whole roll once per pupil of the feed. The runs that
/// showed it are in docs/performance.md.
///
/// A statement that cannot have a connection within [`ACQUIRE_TIMEOUT`] fails as a transient
/// error: the database down or every connection busy.
pub async fn connect(url: &str, max_connections: u32) -> Result<Pool> {
    let options =
        PgConnectOptions::from_str(url)?.options([("plan_cache_mode", "force_custom_plan")]);
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await?;
    Ok(Pool::new(pool))
}

/// Creates the database named in `url` if it does not exist, connecting to the `postgres`
/// database on the same server to do it. Safe to call concurrently.
pub async fn ensure_database(url: &str) -> Result<()> {
    let (name, mut admin) = admin_connection(url).await?;
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        let create = format!("create database {}", quote_ident(&name));
        match sqlx::query(AssertSqlSafe(create)).execute(&mut admin).await {
            Ok(_) => tracing::info!(database = %name, "database created"),
            // Another process created it between the check and the create.
            Err(sqlx::Error::Database(e))
                if matches!(e.code().as_deref(), Some("42P04" | "23505")) => {}
            Err(e) => return Err(e.into()),
        }
    }
    admin.close().await?;
    Ok(())
}

/// Drops the database named in `url` if it exists, ending its sessions first. For tests and
/// tooling that create throwaway databases.
pub async fn drop_database(url: &str) -> Result<()> {
    let (name, mut admin) = admin_connection(url).await?;
    let drop = format!(
        "drop database if exists {} with (force)",
        quote_ident(&name)
    );
    sqlx::query(AssertSqlSafe(drop)).execute(&mut admin).await?;
    admin.close().await?;
    Ok(())
}

/// Applies the embedded migrations that the database has not seen yet.
/// Connects and applies the embedded migrations: what every service does at start-up.
pub async fn open(url: &str, max_connections: u32) -> Result<Pool> {
    let pool = connect(url, max_connections).await?;
    migrate(&pool).await?;
    warn_if_autovacuum_is_off(&pool).await?;
    Ok(pool)
}

/// Whether the database answers a trivial query: the services' readiness check.
pub async fn ping(pool: &Pool) -> Result<()> {
    sqlx::query("select 1").execute(pool.pg()).await?;
    Ok(())
}

/// Rollcall rewrites the same rows all year (registers, year totals, enrolments) and relies on
/// the planner's statistics for its pages and its writes' joins: without autovacuum neither the
/// dead rows nor the statistics are looked after, and both the write path and the queries slow
/// down as the tables grow (docs/performance.md has the runs). Says so once per process, at
/// start.
async fn warn_if_autovacuum_is_off(pool: &Pool) -> Result<()> {
    let on: bool = sqlx::query_scalar("select current_setting('autovacuum')::bool")
        .fetch_one(pool.pg())
        .await?;
    if !on {
        tracing::warn!(
            setting = "autovacuum",
            "autovacuum is off on the database server: dead rows and planner statistics are not kept up to date, so writes and queries slow down as the tables grow"
        );
    }
    Ok(())
}

pub async fn migrate(pool: &Pool) -> Result<()> {
    MIGRATOR.run(pool.pg()).await?;
    Ok(())
}

/// The database named in `url` and a connection to the `postgres` database beside it.
async fn admin_connection(url: &str) -> Result<(String, PgConnection)> {
    let options = PgConnectOptions::from_str(url)?;
    let name = options
        .get_database()
        .filter(|name| !name.is_empty())
        .ok_or(Error::NoDatabaseName)?
        .to_owned();
    let admin = PgConnection::connect_with(&options.database("postgres")).await?;
    Ok((name, admin))
}

/// Quotes an SQL identifier: doubles embedded quotes, so any name is safe to splice in.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("rollcall"), "\"rollcall\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
