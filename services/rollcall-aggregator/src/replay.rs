//! Parked feeds applied again when operations ask (`rollcall parked replay`, once the cause is
//! fixed): the aggregator stays the one writer of marks. Every few seconds it takes the replays
//! asked for, applies each parked message as it was read, and records that it was stored, or
//! the new refusal (the request is then cleared, to be asked again). A transient failure leaves
//! the request for the next round.

use std::time::Duration;

use rollcall_db::Pool;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::metrics::StoreMetrics;

/// How often the replays asked for are looked for.
const EVERY: Duration = Duration::from_secs(2);
/// The most replays taken in one round.
const ROUND: i64 = 16;

/// Runs the replays in a task of their own until `shutdown` or the guard is dropped.
pub fn spawn(pool: Pool, metrics: StoreMetrics, shutdown: &CancellationToken) -> DropGuard {
    let stop = shutdown.child_token();
    let running = stop.clone();
    tokio::spawn(async move {
        loop {
            if let Err(err) = round(&pool, &metrics).await {
                tracing::warn!(error = %err, "cannot read the replays asked for");
            }
            tokio::select! {
                () = running.cancelled() => return,
                () = tokio::time::sleep(EVERY) => {}
            }
        }
    });
    stop.drop_guard()
}

async fn round(pool: &Pool, metrics: &StoreMetrics) -> rollcall_db::Result<()> {
    for due in rollcall_db::replays_due(pool, ROUND).await? {
        let feed = match rollcall_pipeline::decode_validated(&due.payload) {
            Ok(feed) => feed,
            Err(err) => {
                let refusal = rollcall_db::Refusal {
                    reason: format!("undecodable validated feed: {err}"),
                    ..Default::default()
                };
                rollcall_db::replay_refused(pool, due.id, &refusal).await?;
                tracing::warn!(
                    parked = due.id,
                    "parked message replayed: still undecodable"
                );
                continue;
            }
        };
        match rollcall_db::apply_validated_feed(pool, &feed).await {
            Ok(stats) => {
                rollcall_db::replay_stored(pool, due.id).await?;
                metrics.stored(&stats);
                tracing::info!(
                    parked = due.id,
                    school = feed.school.get(),
                    feed_id = %feed.feed_id,
                    marks_written = stats.marks_written,
                    "parked feed replayed and stored"
                );
            }
            Err(err) if err.is_transient() => return Err(err),
            Err(err) => {
                let refusal = err.refusal();
                rollcall_db::replay_refused(pool, due.id, &refusal).await?;
                tracing::warn!(
                    parked = due.id,
                    school = feed.school.get(),
                    feed_id = %feed.feed_id,
                    sqlstate = refusal.sqlstate.as_deref().unwrap_or(""),
                    reason = %refusal.reason,
                    "parked feed replayed: refused again"
                );
            }
        }
    }
    Ok(())
}
