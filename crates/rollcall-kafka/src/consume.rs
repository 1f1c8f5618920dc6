//! The consume-handle-commit loop. A message's offset is committed only after its handler returned
//! `Ok`, so a crash at any point means redelivery, never loss; handlers make redelivery harmless
//! (Rollcall's writes are idempotent). A handler error is treated as transient: the same message is
//! retried with backoff until it succeeds or shutdown is requested. [`consume_batches`] hands the
//! handler several messages at once and commits their offsets together.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::message::Message as _;
use rdkafka::{Offset, TopicPartitionList};
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

/// How [`consume_batches`] groups messages for its handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Batching {
    /// The most messages in one batch (at least 1).
    pub max_messages: usize,
    /// How long a batch may wait for more messages after its first arrived. Messages already
    /// fetched join at once, so under a backlog batches fill without waiting.
    pub linger: Duration,
}

impl Batching {
    /// One message at a time, handed over as soon as it arrives.
    pub const ONE: Batching = Batching {
        max_messages: 1,
        linger: Duration::ZERO,
    };
}

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
    consume_batches(consumer, topic, Batching::ONE, shutdown, |mut batch| {
        let message = batch.pop().expect("a batch holds at least one message");
        let handled = handler(message);
        async move { vec![handled.await] }
    })
    .await
}

/// Subscribes to `topic` and hands `handler` the messages in batches (see [`Batching`]), in the
/// order received, until `shutdown` is cancelled. The handler answers one result per message,
/// in the batch's order.
///
/// Offsets are committed once per batch, after the handler returned: for each partition, up to
/// its first failed message. The failed messages, with every later message of their partitions
/// (a partition's messages are done in order), are handed over again as a batch of their own
/// after a backoff, until they succeed or shutdown is requested; no other message is fetched
/// meanwhile. Handlers must make a second handling of a message harmless. Returns an error only
/// when the client itself fails.
pub async fn consume_batches<H, F, E>(
    consumer: &Consumer,
    topic: &str,
    batching: Batching,
    shutdown: CancellationToken,
    mut handler: H,
) -> Result<()>
where
    H: FnMut(Vec<Message>) -> F,
    F: Future<Output = Vec<std::result::Result<(), E>>>,
    E: std::fmt::Display,
{
    consumer.subscribe(&[topic])?;
    tracing::info!(
        topic,
        max_messages = batching.max_messages,
        linger_ms = batching.linger.as_millis() as u64,
        "consuming"
    );
    let max_messages = batching.max_messages.max(1);
    'batches: loop {
        let first = tokio::select! {
            _ = shutdown.cancelled() => break,
            received = consumer.recv() => copy(&received?),
        };
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + batching.linger;
        while batch.len() < max_messages {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => {
                    tracing::info!(topic, messages = batch.len(), "stopping with unhandled messages; they will be redelivered");
                    break 'batches;
                }
                _ = tokio::time::sleep_until(deadline) => break,
                received = consumer.recv() => batch.push(copy(&received?)),
            }
        }

        let mut backoff = FIRST_BACKOFF;
        loop {
            let results = handler(batch.clone()).await;
            assert_eq!(
                results.len(),
                batch.len(),
                "a batch handler answers once per message"
            );
            let failed = first_failures(&batch, &results);
            for (message, result) in batch.iter().zip(&results) {
                if let Err(err) = result {
                    tracing::warn!(
                        error = %err,
                        topic,
                        partition = message.partition,
                        offset = message.offset,
                        retry_in_ms = backoff.as_millis() as u64,
                        "handler failed; retrying the same message"
                    );
                }
            }
            commit_done(consumer, &batch, &failed)?;
            // Left to do: each failed message and what follows it in its partition.
            batch.retain(|m| {
                failed
                    .get(&m.partition)
                    .is_some_and(|&first| m.offset >= first)
            });
            if batch.is_empty() {
                break;
            }
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
    tracing::info!(topic, "consumer stopped");
    Ok(())
}

/// Copies a record out of the client's buffer.
fn copy(borrowed: &rdkafka::message::BorrowedMessage<'_>) -> Message {
    Message {
        topic: borrowed.topic().to_owned(),
        partition: borrowed.partition(),
        offset: borrowed.offset(),
        key: borrowed.key().map(<[u8]>::to_vec).unwrap_or_default(),
        payload: borrowed.payload().map(<[u8]>::to_vec).unwrap_or_default(),
    }
}

/// Per partition, the offset of the batch's first failed message.
fn first_failures<E>(
    batch: &[Message],
    results: &[std::result::Result<(), E>],
) -> BTreeMap<i32, i64> {
    let mut failed = BTreeMap::new();
    for (message, result) in batch.iter().zip(results) {
        if result.is_err() {
            failed.entry(message.partition).or_insert(message.offset);
        }
    }
    failed
}

/// Commits, synchronously, each partition's offset past its last message done before its first
/// failure (`failed`); a partition whose first message failed is not committed.
fn commit_done(consumer: &Consumer, batch: &[Message], failed: &BTreeMap<i32, i64>) -> Result<()> {
    let mut next: BTreeMap<(&str, i32), i64> = BTreeMap::new();
    for m in batch {
        if failed
            .get(&m.partition)
            .is_some_and(|&first| m.offset >= first)
        {
            continue;
        }
        let entry = next.entry((m.topic.as_str(), m.partition)).or_insert(0);
        *entry = (*entry).max(m.offset + 1);
    }
    if next.is_empty() {
        return Ok(());
    }
    let mut offsets = TopicPartitionList::new();
    for ((topic, partition), offset) in next {
        offsets.add_partition_offset(topic, partition, Offset::Offset(offset))?;
    }
    consumer.commit(&offsets, CommitMode::Sync)?;
    Ok(())
}
