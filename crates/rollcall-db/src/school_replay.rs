//! A school's feeds run through validation again (`rollcall replay`), once what rejected their
//! records is fixed. Operations ask for a replay (`request_school_replay`); the validator takes
//! it (`take_school_replay`), reads the school's feeds back from the broker where the gateway
//! wrote them (`replay_feeds`), validates them anew, and works out what would change by
//! applying them in a transaction it then rolls back ([`Preview`]). A dry run stops there; a
//! replay proper sends the feeds on to the aggregator, which applies them again though they
//! were processed (`ValidatedFeed::replay`) and counts each once (`applied`). Counts only: no
//! value a record held is kept here.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rollcall_domain::feed::ValidatedFeed;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::apply::Tx;
use crate::{ApplyStats, Pool, Result, codebook, locks};

/// A replay operations asked for, as the validator takes it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ReplayTask {
    pub id: i64,
    pub school_urn: i32,
    /// The first London date of receipt of the feeds it takes; none: every feed the broker holds.
    pub from_date: Option<NaiveDate>,
    pub dry_run: bool,
}

/// A replay and what it found, for operations.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct SchoolReplayRow {
    pub id: i64,
    pub school_urn: i32,
    pub from_date: Option<NaiveDate>,
    pub dry_run: bool,
    pub requested_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// `requested`, `running`, `done` or `failed`.
    pub status: String,
    pub feeds_found: i32,
    pub feeds_read: i32,
    pub feeds_gone: i32,
    /// Feeds the aggregator has applied again (a replay proper, once done).
    pub feeds_applied: i64,
    pub changes: Option<sqlx::types::Json<ReplayChanges>>,
    pub error: Option<String>,
}

/// What a replay changes (a dry run: would change) in the tables.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayChanges {
    /// Each feed read back, in the order it was received.
    pub feeds: Vec<FeedChange>,
    /// Sessions written: new, or replacing an older version.
    pub marks_written: u64,
    pub enrolments_added: u64,
    /// Enrolments whose attributes change (a version kept in their history).
    pub enrolments_changed: u64,
    /// The school's year totals per code (every academic year): sessions after less before,
    /// codes that do not change left out.
    pub sessions_by_code: BTreeMap<String, i64>,
}

/// One feed's first validation beside its new one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedChange {
    pub feed_id: Uuid,
    pub received_at: DateTime<Utc>,
    pub before: Counts,
    pub after: Counts,
    pub marks_written: u64,
    /// Why the database would refuse it (SQLSTATE's meaning, never a value); none when it
    /// applies.
    pub refused: Option<String>,
}

/// A validation's accepted and rejected records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub roll_accepted: u64,
    pub roll_rejected: u64,
    pub marks_accepted: u64,
    pub marks_rejected: u64,
}

/// A processed feed of the school, as a replay reads it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayFeed {
    pub feed_id: Uuid,
    pub received_at: DateTime<Utc>,
    /// Where its first record is on the feeds topic; none for a feed enqueued before positions
    /// were recorded.
    pub position: Option<(i32, i64)>,
    /// Its first validation's counts.
    pub before: Counts,
}

/// Asks for school `urn`'s feeds received from `from` (London dates) to be validated again.
/// Returns the replay's id, for [`get_school_replay`].
pub async fn request_school_replay(
    pool: &Pool,
    urn: i32,
    from: Option<NaiveDate>,
    dry_run: bool,
) -> Result<i64> {
    let id = sqlx::query_scalar(
        "insert into school_replays (school_urn, from_date, dry_run) values ($1, $2, $3)
         returning id",
    )
    .bind(urn)
    .bind(from)
    .bind(dry_run)
    .fetch_one(pool.pg())
    .await?;
    Ok(id)
}

/// Takes the oldest replay asked for, marking it running; none when there is none. Several
/// validators may call this at once: each takes a different replay. A replay running for more
/// than ten minutes is taken again (its validator stopped half-way; running it again changes
/// nothing it had done).
pub async fn take_school_replay(pool: &Pool) -> Result<Option<ReplayTask>> {
    let task = sqlx::query_as(
        "update school_replays set status = 'running', started_at = now()
         where id = (select id from school_replays
                     where status = 'requested'
                        or (status = 'running' and started_at < now() - interval '10 minutes')
                     order by id limit 1 for update skip locked)
         returning id, school_urn, from_date, dry_run",
    )
    .fetch_optional(pool.pg())
    .await?;
    Ok(task)
}

/// The school's processed feeds received on or after `from` (London dates), in the order they
/// were received. Parked feeds are not among them: they have their own replay.
pub async fn replay_feeds(
    pool: &Pool,
    urn: i32,
    from: Option<NaiveDate>,
) -> Result<Vec<ReplayFeed>> {
    type Row = (
        Uuid,
        DateTime<Utc>,
        Option<i32>,
        Option<i64>,
        Option<i32>,
        Option<i32>,
        Option<i32>,
        Option<i32>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "select feed_id, received_at, topic_partition, topic_offset,
                    roll_accepted, roll_rejected, marks_accepted, marks_rejected
             from feeds
             where school_urn = $1 and status = 'processed'
               and ($2::date is null or (received_at at time zone 'Europe/London')::date >= $2)
             order by seq",
    )
    .bind(urn)
    .bind(from)
    .fetch_all(pool.pg())
    .await?;
    let n = |v: Option<i32>| v.unwrap_or(0).max(0) as u64;
    Ok(rows
        .into_iter()
        .map(
            |(feed_id, received_at, partition, offset, ra, rr, ma, mr)| ReplayFeed {
                feed_id,
                received_at,
                position: partition.zip(offset),
                before: Counts {
                    roll_accepted: n(ra),
                    roll_rejected: n(rr),
                    marks_accepted: n(ma),
                    marks_rejected: n(mr),
                },
            },
        )
        .collect())
}

/// Records what replay `id` found: the feeds in its window, those read back, those gone.
pub async fn finish_school_replay(
    pool: &Pool,
    id: i64,
    found: usize,
    read: usize,
    changes: &ReplayChanges,
) -> Result<()> {
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    sqlx::query(
        "update school_replays
         set status = 'done', finished_at = now(), feeds_found = $2, feeds_read = $3,
             feeds_gone = $2 - $3, changes = $4, error = null
         where id = $1",
    )
    .bind(id)
    .bind(count(found))
    .bind(count(read))
    .bind(sqlx::types::Json(changes))
    .execute(pool.pg())
    .await?;
    Ok(())
}

/// Records that replay `id` could not be done, and why (no value a record held).
pub async fn fail_school_replay(pool: &Pool, id: i64, error: &str) -> Result<()> {
    sqlx::query(
        "update school_replays set status = 'failed', finished_at = now(), error = $2
         where id = $1",
    )
    .bind(id)
    .bind(error)
    .execute(pool.pg())
    .await?;
    Ok(())
}

/// Replay `id`, with how many of its feeds the aggregator has applied again.
pub async fn get_school_replay(pool: &Pool, id: i64) -> Result<Option<SchoolReplayRow>> {
    let row = sqlx::query_as(
        "select r.id, r.school_urn, r.from_date, r.dry_run, r.requested_at, r.started_at,
                r.finished_at, r.status, r.feeds_found, r.feeds_read, r.feeds_gone,
                (select count(*) from school_replay_feeds f where f.replay_id = r.id)
                    as feeds_applied,
                r.changes, r.error
         from school_replays r where r.id = $1",
    )
    .bind(id)
    .fetch_optional(pool.pg())
    .await?;
    Ok(row)
}

/// Counts feed `feed_id` of replay `replay` applied, once however often it is delivered.
pub(crate) async fn applied(tx: &mut Tx, replay: i64, feed_id: Uuid) -> Result<()> {
    sqlx::query(
        "insert into school_replay_feeds (replay_id, feed_id)
         select $1, $2 where exists (select 1 from school_replays where id = $1)
         on conflict do nothing",
    )
    .bind(replay)
    .bind(feed_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A school's feeds applied again in a transaction that is never committed: what a replay
/// would change. It holds the school's lock from [`Preview::begin`] to [`Preview::finish`], so
/// the aggregator's writes for that school wait; keep it short. Every row is as it was after;
/// only the enrolment identity may have moved on (a sequence is never rolled back), which leaves
/// gaps in ids and changes nothing else.
pub struct Preview {
    tx: Tx,
    urn: i32,
    before: Standing,
    changes: ReplayChanges,
}

/// What a replay's changes are measured by.
struct Standing {
    enrolments: i64,
    history: i64,
    /// Sessions per code id (index `id - 1`), summed over the school's academic years.
    sessions: Vec<i64>,
}

impl Preview {
    pub async fn begin(pool: &Pool, urn: i32) -> Result<Preview> {
        let mut tx = pool.begin().await?;
        locks::lock_schools(&mut tx, &[urn]).await?;
        let before = standing(&mut tx, urn).await?;
        Ok(Preview {
            tx,
            urn,
            before,
            changes: ReplayChanges::default(),
        })
    }

    /// Applies `feed` (read back as `read`) as the aggregator would. A feed the database would
    /// refuse is recorded as refused and leaves nothing behind; the next feed goes on.
    pub async fn apply(
        &mut self,
        pool: &Pool,
        read: &ReplayFeed,
        feed: &ValidatedFeed,
    ) -> Result<()> {
        let s = &feed.outcome.summary;
        let mut change = FeedChange {
            feed_id: read.feed_id,
            received_at: read.received_at,
            before: read.before,
            after: Counts {
                roll_accepted: s.roll_accepted,
                roll_rejected: s.roll_rejected,
                marks_accepted: s.marks_accepted,
                marks_rejected: s.marks_rejected,
            },
            ..FeedChange::default()
        };
        sqlx::query("savepoint replay_feed")
            .execute(&mut *self.tx)
            .await?;
        match crate::apply::apply_feed(&mut self.tx, pool, feed).await {
            Ok(ApplyStats { marks_written, .. }) => {
                change.marks_written = marks_written;
                self.changes.marks_written += marks_written;
            }
            Err(err) if err.is_transient() => return Err(err),
            Err(err) => {
                sqlx::query("rollback to savepoint replay_feed")
                    .execute(&mut *self.tx)
                    .await?;
                change.refused = Some(err.refusal().reason);
            }
        }
        self.changes.feeds.push(change);
        Ok(())
    }

    /// What the feeds applied would change; nothing is kept.
    pub async fn finish(mut self, pool: &Pool) -> Result<ReplayChanges> {
        let after = standing(&mut self.tx, self.urn).await?;
        self.tx.rollback().await?;
        let book = codebook::cached(pool).await?;
        let mut changes = self.changes;
        changes.enrolments_added = (after.enrolments - self.before.enrolments).max(0) as u64;
        changes.enrolments_changed = (after.history - self.before.history).max(0) as u64;
        let len = after.sessions.len().max(self.before.sessions.len());
        for i in 0..len {
            let at = |v: &[i64]| v.get(i).copied().unwrap_or(0);
            let delta = at(&after.sessions) - at(&self.before.sessions);
            if delta != 0 {
                let id = u8::try_from(i + 1).unwrap_or(u8::MAX);
                changes
                    .sessions_by_code
                    .insert(book.code(id)?.code().to_owned(), delta);
            }
        }
        Ok(changes)
    }
}

async fn standing(tx: &mut Tx, urn: i32) -> Result<Standing> {
    let (enrolments, history): (i64, i64) = sqlx::query_as(
        "select (select count(*) from enrolments where school_urn = $1),
                (select count(*) from enrolment_history h
                 join enrolments e on e.id = h.enrolment_id where e.school_urn = $1)",
    )
    .bind(urn)
    .fetch_one(&mut **tx)
    .await?;
    let years: Vec<Vec<i64>> =
        sqlx::query_scalar("select sessions from school_totals where school_urn = $1")
            .bind(urn)
            .fetch_all(&mut **tx)
            .await?;
    let mut sessions: Vec<i64> = Vec::new();
    for year in years {
        if sessions.len() < year.len() {
            sessions.resize(year.len(), 0);
        }
        for (sum, n) in sessions.iter_mut().zip(year) {
            *sum += n;
        }
    }
    Ok(Standing {
        enrolments,
        history,
        sessions,
    })
}
