//! The consume-handle-commit loop. A message's offset is committed only after its handler returned
//! `Ok`, so a crash at any point means redelivery, never loss; handlers make redelivery harmless
//! (Rollcall's writes are idempotent). A handler error is treated as transient: the same message is
//! retried with backoff until it succeeds or shutdown is requested.

use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::message::Message as _;
use tokio_util::sync::CancellationToken;

use crate::{KafkaConfig, Result};

pub type Consumer = StreamConsumer;

/// One record, copied out of the client's buffer so handlers own it.
#[derive(Clone, Debug)]
pub struct Message {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
}

/// A consumer in `group` that never commits on its own.
pub fn consumer(config: &KafkaConfig, group: &str) -> Result<Consumer> {
    let mut client = config.client_config();
    client
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set(
            "fetch.message.max.bytes",
            config.message_max_bytes.to_string(),
        )
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "1000");
    for (key, value) in &config.properties {
        if key != "enable.auto.commit" {
            client.set(key, value);
        }
    }
    Ok(client.create()?)
}

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Subscribes to `topic` and feeds each message to `handler` in order, committing after each
/// success, until `shutdown` is cancelled. Returns an error only when the client itself fails.
pub async fn consume<H, F, E>(
    consumer: &Consumer,
    topic: &str,
    shutdown: CancellationToken,
    mut handler: H,
) -> Result<()>
where
    H: FnMut(Message) -> F,
    F: Future<Output = std::result::Result<(), E>>,
    E: std::fmt::Display,
{
    consumer.subscribe(&[topic])?;
    tracing::info!(topic, "consuming");
    loop {
        let borrowed = tokio::select! {
            _ = shutdown.cancelled() => break,
            received = consumer.recv() => received?,
        };
        let message = Message {
            topic: borrowed.topic().to_owned(),
            partition: borrowed.partition(),
            offset: borrowed.offset(),
            key: borrowed.key().map(<[u8]>::to_vec).unwrap_or_default(),
            payload: borrowed.payload().map(<[u8]>::to_vec).unwrap_or_default(),
        };
        let mut backoff = FIRST_BACKOFF;
        loop {
            match handler(message.clone()).await {
                Ok(()) => break,
                Err(err) => {
                    tracing::warn!(
                        error = %err,
                        topic,
                        partition = message.partition,
                        offset = message.offset,
                        retry_in_ms = backoff.as_millis() as u64,
                        "handler failed; retrying the same message"
                    );
                    tokio::select! {
                        _ = shutdown.cancelled() => {
                            tracing::info!(topic, "stopping with an unhandled message; it will be redelivered");
                            return Ok(());
                        }
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        consumer.commit_message(&borrowed, CommitMode::Sync)?;
    }
    tracing::info!(topic, "consumer stopped");
    Ok(())
}
