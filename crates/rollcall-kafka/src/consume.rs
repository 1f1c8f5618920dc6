//! The consume-handle-commit loop. A message's offset is committed only after its handler returned
//! `Ok`, so a crash at any point means redelivery, never loss; handlers make redelivery harmless
//! (Rollcall's writes are idempotent). A handler error is treated as transient: the same message is
//! retried with backoff until it succeeds or shutdown is requested. [`consume_batches`] hands the
//! handler several messages at once and commits their offsets together. Messages are whole
//! payloads: a payload written as several frames is put together first ([`crate::assemble`]),
//! and no offset is committed past the first frame of one still missing some.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer as _, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::message::Message as _;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::assemble::{Assembler, Pushed, Record};
use crate::{Error, ErrorKind, KafkaConfig, Message, Result};

/// A consumer in a group, never committing on its own, that knows when partitions are taken
/// from it.
pub struct Consumer {
    inner: StreamConsumer<Rebalances>,
    /// How long a payload may wait for its missing frames before it is given up.
    assembly_timeout: Duration,
}

/// Partitions revoked since the loop last looked, noted by librdkafka's rebalance callback.
#[derive(Default)]
pub struct Rebalances {
    revoked: Arc<Mutex<Vec<i32>>>,
}

impl ClientContext for Rebalances {}

impl ConsumerContext for Rebalances {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(partitions) = rebalance {
            let mut revoked = self.revoked.lock().unwrap_or_else(|p| p.into_inner());
            revoked.extend(partitions.elements().iter().map(|e| e.partition()));
        }
    }
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
            config.max_message_bytes.max(1 << 20).to_string(),
        )
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "1000");
    if let Some(instance) = &config.instance_id {
        client.set("group.instance.id", instance);
    }
    for (key, value) in &config.properties {
        if key != "enable.auto.commit" {
            client.set(key, value);
        }
    }
    Ok(Consumer {
        inner: client.create_with_context(Rebalances::default())?,
        assembly_timeout: Duration::from_secs(config.assembly_timeout_secs),
    })
}

impl Consumer {
    /// Partitions revoked since the last call.
    fn take_revoked(&self) -> Vec<i32> {
        let mut revoked = self
            .inner
            .context()
            .revoked
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut *revoked)
    }
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
/// order they were completed, until `shutdown` is cancelled. The handler answers one result per
/// message, in the batch's order.
///
/// Offsets are committed once per batch, after the handler returned: for each partition, up to
/// the first frame of its first failed message or of a payload still missing frames. The failed
/// messages, with every later message of their partitions (a partition's messages are done in
/// order), are handed over again as a batch of their own after a backoff, until they succeed or
/// shutdown is requested; no other message is fetched meanwhile. Handlers must make a second
/// handling of a message harmless. Returns an error only when the client itself fails.
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
    consumer.inner.subscribe(&[topic])?;
    tracing::info!(
        topic,
        max_messages = batching.max_messages,
        linger_ms = batching.linger.as_millis() as u64,
        "consuming"
    );
    let max_messages = batching.max_messages.max(1);
    let mut reading = Reading::new(consumer);
    'batches: loop {
        let first = loop {
            let record = tokio::select! {
                _ = shutdown.cancelled() => break 'batches,
                received = consumer.inner.recv() => match usable(received)? {
                    Some(record) => record,
                    None => {
                        tokio::time::sleep(TRANSIENT_PAUSE).await;
                        continue;
                    }
                },
            };
            if let Some(message) = reading.take(record) {
                break message;
            }
            // Frames done without a message to handle (tails, or payloads given up) still move
            // the committed offset on.
            reading.commit(consumer, &[], &BTreeMap::new())?;
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
                received = consumer.inner.recv() => {
                    if let Some(message) = usable(received)?.and_then(|r| reading.take(r)) {
                        batch.push(message);
                    }
                }
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
            // Left to do: each failed message and what follows it in its partition.
            batch.retain(|m| {
                failed
                    .get(&m.partition)
                    .is_some_and(|&first| m.last_offset >= first)
            });
            reading.commit(consumer, &batch, &failed)?;
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
    tracing::info!(
        topic,
        peak_assembly_bytes = reading.peak_assembly_bytes,
        "consumer stopped"
    );
    Ok(())
}

/// What the loop knows of each partition it reads: how far it has read, what is being put
/// together, and what it committed.
struct Reading {
    assembler: Assembler,
    /// Per (topic, partition): one past the highest offset read.
    read: BTreeMap<(String, i32), i64>,
    /// Per (topic, partition): the offset last committed.
    committed: BTreeMap<(String, i32), i64>,
    /// The most bytes of frames held at once for payloads still pending.
    peak_assembly_bytes: usize,
}

impl Reading {
    fn new(consumer: &Consumer) -> Reading {
        Reading {
            assembler: Assembler::new(consumer.assembly_timeout),
            read: BTreeMap::new(),
            committed: BTreeMap::new(),
            peak_assembly_bytes: 0,
        }
    }

    /// Takes a record in; returns the message it completed, if any.
    fn take(&mut self, record: Record) -> Option<Message> {
        let slot = (record.topic.clone(), record.partition);
        let next = self.read.entry(slot).or_insert(0);
        *next = (*next).max(record.offset + 1);
        for lost in self.assembler.abandon_stale() {
            tracing::error!(
                topic = %record.topic,
                partition = lost.partition,
                offset = lost.offset,
                id = %lost.id,
                frames_received = lost.frames_received,
                frames = lost.frames,
                "payload given up: its frames never all arrived (its sender was never told it was received)"
            );
        }
        let pushed = self.assembler.push(record);
        self.peak_assembly_bytes = self.peak_assembly_bytes.max(self.assembler.held_bytes());
        match pushed {
            Pushed::Complete(message) => Some(message),
            Pushed::Pending | Pushed::Orphan => None,
        }
    }

    /// Commits, synchronously, each partition's offset up to the first frame of what is not
    /// done: a payload still being put together, or a message of `left` (failed, or after a
    /// failure: `failed` gives each partition's first failure).
    fn commit(
        &mut self,
        consumer: &Consumer,
        left: &[Message],
        failed: &BTreeMap<i32, i64>,
    ) -> Result<()> {
        let revoked = consumer.take_revoked();
        if !revoked.is_empty() {
            self.assembler.forget_partitions(&revoked);
            self.read.retain(|(_, p), _| !revoked.contains(p));
            self.committed.retain(|(_, p), _| !revoked.contains(p));
        }
        let mut offsets = TopicPartitionList::new();
        let mut committing = Vec::new();
        for ((topic, partition), &read) in &self.read {
            let mut upto = read;
            if let Some(pending) = self.assembler.pending_from(*partition) {
                upto = upto.min(pending);
            }
            if failed.contains_key(partition) {
                for m in left.iter().filter(|m| m.partition == *partition) {
                    upto = upto.min(m.offset);
                }
            }
            let slot = (topic.clone(), *partition);
            if self.committed.get(&slot).is_some_and(|&done| done >= upto) {
                continue;
            }
            offsets.add_partition_offset(topic, *partition, Offset::Offset(upto))?;
            committing.push((slot, upto));
        }
        if offsets.count() == 0 {
            return Ok(());
        }
        match consumer.inner.commit(&offsets, CommitMode::Sync) {
            Ok(()) => self.committed.extend(committing),
            // The broker unreachable or the group rebalancing: the same offsets (or later ones)
            // are committed after the next batch; until then a restart redelivers a little more,
            // which handlers make harmless.
            Err(err) if Error::from(err.clone()).kind() == ErrorKind::Transient => {
                tracing::warn!(error = %err, "cannot commit offsets now; committing after the next batch");
            }
            Err(err) => return Err(err.into()),
        }
        Ok(())
    }
}

/// The record received, copied out of the client's buffer; `None` after a transient error (the
/// broker unreachable or restarting: the client reconnects by itself and the loop reads on).
/// Anything else fails the loop.
fn usable(
    received: std::result::Result<
        rdkafka::message::BorrowedMessage<'_>,
        rdkafka::error::KafkaError,
    >,
) -> Result<Option<Record>> {
    match received {
        Ok(message) => Ok(Some(copy(&message))),
        Err(err) => {
            let err = Error::from(err);
            if err.kind() != ErrorKind::Transient {
                return Err(err);
            }
            tracing::warn!(error = %err, "cannot consume now; reading on when the broker answers");
            Ok(None)
        }
    }
}

/// The pause after a transient consumer error while waiting for a batch's first message, so
/// that a broker that stays down is not polled in a tight loop.
const TRANSIENT_PAUSE: Duration = Duration::from_millis(100);

/// Copies a record out of the client's buffer.
pub(crate) fn copy(borrowed: &rdkafka::message::BorrowedMessage<'_>) -> Record {
    use rdkafka::message::Headers as _;
    let trace = borrowed
        .headers()
        .map(|headers| {
            headers
                .iter()
                .filter(|h| rollcall_telemetry::context::is_trace_header(h.key))
                .filter_map(|h| {
                    let value = std::str::from_utf8(h.value?).ok()?;
                    Some((h.key.to_owned(), value.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default();
    Record {
        trace,
        topic: borrowed.topic().to_owned(),
        partition: borrowed.partition(),
        offset: borrowed.offset(),
        key: borrowed.key().map(<[u8]>::to_vec).unwrap_or_default(),
        value: borrowed.payload().map(<[u8]>::to_vec).unwrap_or_default(),
    }
}

/// Per partition, where the batch's first failed message ends: it and every message completed
/// after it are left to do.
fn first_failures<E>(
    batch: &[Message],
    results: &[std::result::Result<(), E>],
) -> BTreeMap<i32, i64> {
    let mut failed = BTreeMap::new();
    for (message, result) in batch.iter().zip(results) {
        if result.is_err() {
            failed
                .entry(message.partition)
                .or_insert(message.last_offset);
        }
    }
    failed
}
