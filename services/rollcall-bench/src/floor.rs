//! The broker floor: what the pipeline put on its topics, captured, produced again to a fresh
//! topic and consumed with the same client settings and no processing, so the pipeline's
//! throughput can be set against what the broker alone carries. Also the capture's own figures
//! (bytes and records per topic, compressed sizes, the largest record).

use std::convert::Infallible;
use std::time::{Duration, Instant};

use rollcall_kafka::{Batching, KafkaConfig};
use tokio_util::sync::CancellationToken;

use crate::{FEEDS_TOPIC, Figures, VALIDATED_TOPIC};

const FLOOR_TOPIC: &str = "rollcall.bench.floor.v1";

/// The broker floor's consumer takes batches as the validator does by default
/// (`validator.batch_max_feeds`, `validator.batch_linger_ms`). The benchmark is a service and
/// does not depend on the validator; an end-to-end test checks the two agree.
pub const FLOOR_BATCHING: Batching = Batching {
    max_messages: 16,
    linger: Duration::from_millis(5),
};

/// Keys and payloads forwarded by a consumer.
type Received = tokio::sync::mpsc::UnboundedReceiver<(Vec<u8>, Vec<u8>)>;

/// A consumer in `group` on `topic` that forwards every message (key, payload) until
/// `shutdown` is cancelled, taking them in `batching`'s batches and committing once per batch.
fn forward(
    config: &KafkaConfig,
    topic: &'static str,
    group: &str,
    batching: Batching,
    shutdown: CancellationToken,
) -> anyhow::Result<(Received, tokio::task::JoinHandle<anyhow::Result<()>>)> {
    let consumer = rollcall_kafka::consumer(config, group)?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        rollcall_kafka::consume_batches(&consumer, topic, batching, shutdown, |batch| {
            let done: Vec<Result<(), Infallible>> = batch
                .into_iter()
                .map(|m| {
                    let _ = tx.send((m.key, m.payload));
                    Ok(())
                })
                .collect();
            std::future::ready(done)
        })
        .await?;
        anyhow::Ok(())
    });
    Ok((rx, task))
}

/// Receives `count` messages, or fails after `timeout`.
async fn receive(
    rx: &mut Received,
    count: usize,
    timeout: Duration,
) -> anyhow::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut messages = Vec::with_capacity(count);
    let deadline = tokio::time::Instant::now() + timeout;
    while messages.len() < count {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(m)) => messages.push(m),
            Ok(None) => anyhow::bail!(
                "consumer stopped after {} of {count} messages",
                messages.len()
            ),
            Err(_) => anyhow::bail!(
                "only {} of {count} messages within {}s",
                messages.len(),
                timeout.as_secs()
            ),
        }
    }
    Ok(messages)
}

/// The broker floor: the messages the pipeline put on the feeds and validated topics, produced
/// again to a fresh topic and consumed with the same client settings and no processing. The
/// consumer has joined its group (a warm-up message came through) before the clock starts.
pub(crate) async fn broker_floor(
    config: &KafkaConfig,
    feeds: usize,
    batching: Batching,
    figures: &mut Figures,
) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(600);
    let mut captured = Vec::new();
    for topic in [FEEDS_TOPIC, VALIDATED_TOPIC] {
        // Every acknowledged feed is one message on each topic. The broker's watermarks are not
        // used for the count: on Tansu they came out a few percent short of the messages a
        // topic held (623 on a validated topic that carried all 640 processed feeds).
        let watermarks = rollcall_kafka::message_count(config, topic).await?;
        eprintln!("bench: capturing {feeds} messages of {topic} (its watermarks say {watermarks})");
        let count = feeds;
        let shutdown = CancellationToken::new();
        let (mut rx, task) = forward(
            config,
            topic,
            "rollcall-bench-capture",
            Batching::ONE,
            shutdown.clone(),
        )?;
        let messages = receive(&mut rx, count, timeout).await;
        shutdown.cancel();
        task.await??;
        let messages = messages?;
        let bytes: u64 = messages
            .iter()
            .map(|(k, p)| (k.len() + p.len()) as u64)
            .sum();
        if topic == FEEDS_TOPIC {
            figures.feed_bytes = bytes;
        } else {
            figures.validated_bytes = bytes;
        }
        // The records each message took on the topic: its frames under the record limit.
        for (i, (_, payload)) in messages.iter().enumerate() {
            let frames = rollcall_kafka::frame::split(
                i.to_string().as_bytes(),
                payload,
                config.max_message_bytes,
            )?;
            figures.records += frames.len();
            // Each record compressed alone, as a ceiling on what the broker stores: the
            // producer compresses whole batches of records, which packs at least as well.
            let zstd: u64 = frames
                .iter()
                .map(|frame| zstd::bulk::compress(frame, 3).map(|c| c.len() as u64))
                .sum::<std::io::Result<u64>>()?;
            if topic == FEEDS_TOPIC {
                figures.feed_zstd_bytes += zstd;
            } else {
                figures.validated_zstd_bytes += zstd;
            }
            let largest = frames.iter().map(Vec::len).max().unwrap_or_default();
            figures.largest_record_bytes = figures.largest_record_bytes.max(largest);
        }
        captured.extend(messages);
    }
    figures.broker_messages = captured.len();
    figures.broker_bytes = captured
        .iter()
        .map(|(k, p)| (k.len() + p.len()) as u64)
        .sum();

    rollcall_kafka::ensure_topics(config, &[FLOOR_TOPIC]).await?;
    let producer = rollcall_kafka::producer(config)?;
    let shutdown = CancellationToken::new();
    let (mut rx, task) = forward(
        config,
        FLOOR_TOPIC,
        "rollcall-bench-floor",
        batching,
        shutdown.clone(),
    )?;
    producer.send(FLOOR_TOPIC, b"warm-up", b"").await?;
    receive(&mut rx, 1, timeout).await?;
    let started = Instant::now();
    let count = captured.len();
    // Each message as the services wrote it: its frames, all in flight at once.
    let send = tokio::spawn(async move {
        let sends = captured.iter().enumerate().map(|(i, (key, payload))| {
            let id = i.to_string();
            let producer = &producer;
            async move {
                producer
                    .send_payload(FLOOR_TOPIC, key, id.as_bytes(), payload, &[])
                    .await
            }
        });
        for sent in futures::future::join_all(sends).await {
            sent?;
        }
        anyhow::Ok(())
    });
    let received = receive(&mut rx, count, timeout).await;
    figures.broker_seconds = started.elapsed().as_secs_f64();
    shutdown.cancel();
    send.await??;
    task.await??;
    received?;
    Ok(())
}
