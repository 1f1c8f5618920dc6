//! Parking: what the aggregator does with a validated feed the database refuses for good.
//!
//! A failure is judged by its kind (`rollcall_db::ErrorKind`). A transient one (connection,
//! failover, deadlock, a full disk) is retried for as long as it lasts: the feed is fine and the
//! database will take it. Any other is counted per message; after `park_after_attempts` of them
//! the message is parked (`rollcall_db::park_feed`: the message byte for byte, where it was read,
//! and the refusal without any value) and answered done, so the consumer commits past it and its
//! partition moves on. A message that cannot be decoded is parked at once: decoding it again
//! fails the same way. What is stored never depends on the order feeds arrive in (the newest
//! version of each session wins), so the school's later feeds applied meanwhile stay right when
//! the parked one is replayed.

use std::collections::HashMap;
use std::sync::Mutex;

use rollcall_db::{NewParkedFeed, Pool, Refusal};
use rollcall_domain::feed::ValidatedFeed;
use rollcall_domain::text;
use rollcall_kafka::Message;

use crate::metrics::StoreMetrics;

/// Where a message was read: what its attempts are counted by.
type Position = (String, i32, i64);

pub struct Parking {
    park_after_attempts: u32,
    metrics: StoreMetrics,
    /// Non-transient failures so far of each message still being retried.
    attempts: Mutex<HashMap<Position, u32>>,
}

impl Parking {
    pub fn new(park_after_attempts: u32, metrics: StoreMetrics) -> Parking {
        Parking {
            park_after_attempts: park_after_attempts.max(1),
            metrics,
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// The message went through: its count starts again should it ever come back.
    pub fn forget(&self, message: &Message) {
        self.attempts
            .lock()
            .expect("attempts lock")
            .remove(&position(message));
    }

    /// What to answer for a feed the database refused with `err`: the error again (retry, and
    /// hold the school's later feeds back) while the failure is transient or has not yet
    /// happened `park_after_attempts` times; then `Ok` once the feed is parked.
    pub async fn refused(
        &self,
        pool: &Pool,
        message: &Message,
        feed: &ValidatedFeed,
        err: rollcall_db::Error,
    ) -> anyhow::Result<()> {
        if err.is_transient() {
            return Err(err.into());
        }
        let attempts = {
            let mut all = self.attempts.lock().expect("attempts lock");
            let n = all.entry(position(message)).or_default();
            *n += 1;
            *n
        };
        let refusal = err.refusal();
        if attempts < self.park_after_attempts {
            tracing::warn!(
                school = feed.school.get(),
                feed_id = %feed.feed_id,
                sqlstate = refusal.sqlstate.as_deref().unwrap_or(""),
                reason = %refusal.reason,
                attempts,
                park_after_attempts = self.park_after_attempts,
                "feed refused by the database; retrying before it is parked"
            );
            return Err(err.into());
        }
        let parked = NewParkedFeed {
            feed_id: Some(feed.feed_id),
            school_urn: Some(feed.school.get() as i32),
            topic: message.topic.clone(),
            partition: message.partition,
            offset: message.offset,
            attempts: attempts as i32,
            field: refusal.column.clone().or_else(|| unstorable_field(feed)),
            refusal,
            payload: message.payload.clone(),
        };
        self.park(pool, message, &parked).await
    }

    /// Parks a message that could not be decoded into a validated feed, at once.
    pub async fn park_undecodable(
        &self,
        pool: &Pool,
        message: &Message,
        err: anyhow::Error,
    ) -> anyhow::Result<()> {
        let parked = NewParkedFeed {
            feed_id: None,
            school_urn: std::str::from_utf8(&message.key)
                .ok()
                .and_then(|key| key.parse().ok()),
            topic: message.topic.clone(),
            partition: message.partition,
            offset: message.offset,
            attempts: 1,
            refusal: Refusal {
                // The decoder's words describe the bytes' shape, never their content.
                reason: format!("{err:#}"),
                ..Refusal::default()
            },
            field: None,
            payload: message.payload.clone(),
        };
        self.park(pool, message, &parked).await
    }

    async fn park(
        &self,
        pool: &Pool,
        message: &Message,
        parked: &NewParkedFeed,
    ) -> anyhow::Result<()> {
        rollcall_db::park_feed(pool, parked).await?;
        self.forget(message);
        self.metrics.parked();
        tracing::error!(
            school = parked.school_urn,
            feed_id = parked.feed_id.map(|id| id.to_string()),
            partition = parked.partition,
            offset = parked.offset,
            sqlstate = parked.refusal.sqlstate.as_deref().unwrap_or(""),
            reason = %parked.refusal.reason,
            field = parked.field.as_deref().unwrap_or(""),
            attempts = parked.attempts,
            "feed parked: the database refused it for good; its partition moves on"
        );
        Ok(())
    }
}

fn position(message: &Message) -> Position {
    (message.topic.clone(), message.partition, message.offset)
}

/// Where the feed holds text the database cannot store (a character the domain's text rules
/// refuse), when PostgreSQL did not name a column: `pupil 3 forename`, counting the validated
/// feed's pupils from 0. Never the value. A validated feed's other fields are typed.
fn unstorable_field(feed: &ValidatedFeed) -> Option<String> {
    let refused = |value: &str| value.chars().any(text::is_refused);
    feed.pupils.iter().enumerate().find_map(|(i, p)| {
        let field = [
            ("forename", refused(&p.forename)),
            ("surname", refused(&p.surname)),
            ("ethnicity", p.ethnicity.as_deref().is_some_and(refused)),
            (
                "household_key",
                p.household_key.as_deref().is_some_and(refused),
            ),
        ]
        .into_iter()
        .find_map(|(field, bad)| bad.then_some(field))?;
        Some(format!("pupil {i} {field}"))
    })
}
