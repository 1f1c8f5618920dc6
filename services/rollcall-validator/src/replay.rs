//! School replays (`rollcall replay`): once what rejected a school's records is fixed (the
//! registry, a code set, a date that was in the future), operations ask for its feeds to be
//! validated again. Every few seconds the validator takes a replay asked for (one validator
//! each), reads the school's feeds back from the feeds topic where the gateway wrote them,
//! runs each through the catalogue as now, and works out what would change in the tables by
//! applying them in a transaction it rolls back (`rollcall_db::Preview`). A dry run stops
//! there. A replay proper then writes the feeds to the validated topic, marked with the replay,
//! and the aggregator applies them as it applies every feed: it stays the one writer of marks.
//!
//! Memory is bounded by the school's feeds in the window, held as their compact validated
//! messages; the school's lock is held only while the preview applies them.

use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use rollcall_db::{Pool, Preview, ReplayTask};
use rollcall_domain::validation::Context;
use rollcall_kafka::{KafkaConfig, Position, Producer, Reader};
use tokio_util::sync::{CancellationToken, DropGuard};
use tracing::Instrument as _;

/// How often the replays asked for are looked for.
const EVERY: Duration = Duration::from_secs(2);

/// What a replay needs: the database, the broker to read from and write to.
pub(crate) struct Replays {
    pub pool: Pool,
    pub producer: Producer,
    pub reader: Reader,
    pub kafka: KafkaConfig,
}

impl Replays {
    /// Runs the replays in a task of their own until `shutdown` or the guard is dropped.
    pub fn spawn(self, shutdown: &CancellationToken) -> DropGuard {
        let stop = shutdown.child_token();
        let running = stop.clone();
        tokio::spawn(async move {
            loop {
                if let Err(err) = self.round().await {
                    tracing::warn!(error = %format!("{err:#}"), "cannot take the school replays asked for");
                }
                tokio::select! {
                    () = running.cancelled() => return,
                    () = tokio::time::sleep(EVERY) => {}
                }
            }
        });
        stop.drop_guard()
    }

    async fn round(&self) -> anyhow::Result<()> {
        while let Some(task) = rollcall_db::take_school_replay(&self.pool).await? {
            let span = tracing::info_span!(
                "validator.replay",
                replay = task.id,
                school = task.school_urn,
                dry_run = task.dry_run
            );
            if let Err(err) = self.run(&task).instrument(span).await {
                let error = format!("{err:#}");
                tracing::warn!(replay = task.id, school = task.school_urn, error = %error, "school replay failed");
                rollcall_db::fail_school_replay(&self.pool, task.id, &error).await?;
            }
        }
        Ok(())
    }

    async fn run(&self, task: &ReplayTask) -> anyhow::Result<()> {
        let urn = task.school_urn;
        let feeds = rollcall_db::replay_feeds(&self.pool, urn, task.from_date)
            .await
            .context("cannot list the school's feeds")?;
        let ctx = Context {
            today: rollcall_domain::calendar::london_date(Utc::now()),
            school_registered: rollcall_db::get_school(&self.pool, urn)
                .await
                .context("cannot read the school registry")?
                .is_some(),
        };

        // Read and validate every feed first, so the school's lock is held only for the preview.
        let mut checked = Vec::with_capacity(feeds.len());
        for feed in &feeds {
            let Some((partition, offset)) = feed.position else {
                continue;
            };
            let Some(message) = self
                .reader
                .read(&self.kafka.topics.feeds, Position { partition, offset })
                .await
                .context("cannot read the feed back from the broker")?
            else {
                continue;
            };
            // The record there is this feed's, unless the topic was recreated since.
            let Ok(received) = rollcall_pipeline::decode_received(&message.payload) else {
                continue;
            };
            if received.feed_id != feed.feed_id {
                continue;
            }
            let mut validated = crate::check(&received, &ctx).feed;
            validated.replay = Some(task.id);
            let payload = rollcall_pipeline::encode_validated(&validated)
                .context("the validated feed cannot be written")?;
            checked.push((feed, message.key, payload));
        }

        let mut preview = Preview::begin(&self.pool, urn).await?;
        for (feed, _, payload) in &checked {
            let validated = rollcall_pipeline::decode_validated(payload)
                .context("the validated feed cannot be read back")?;
            preview.apply(&self.pool, feed, &validated).await?;
        }
        let changes = preview.finish(&self.pool).await?;

        if !task.dry_run {
            for (feed, key, payload) in &checked {
                self.producer
                    .send_payload(
                        &self.kafka.topics.validated,
                        key,
                        feed.feed_id.to_string().as_bytes(),
                        payload,
                        &[],
                    )
                    .await
                    .context("cannot write the validated feed")?;
            }
        }
        rollcall_db::finish_school_replay(
            &self.pool,
            task.id,
            feeds.len(),
            checked.len(),
            &changes,
        )
        .await?;
        tracing::info!(
            replay = task.id,
            school = urn,
            dry_run = task.dry_run,
            feeds_found = feeds.len(),
            feeds_read = checked.len(),
            marks_written = changes.marks_written,
            "school replay done"
        );
        Ok(())
    }
}
