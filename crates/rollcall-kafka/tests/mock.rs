//! The consume-handle-commit loop and the producer against librdkafka's mock cluster: a failed
//! handler retries the same message, a crash before commit redelivers, and a send the broker never
//! acknowledged is an error.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::mocking::MockCluster;
use rollcall_kafka::{
    Batching, Groups, KafkaConfig, Topics, committed_offsets, consume, consume_batches, consumer,
    producer,
};
use tokio_util::sync::CancellationToken;

const TOPIC: &str = "feeds";

fn config(
    cluster: &MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
) -> KafkaConfig {
    KafkaConfig {
        brokers: cluster.bootstrap_servers(),
        partitions: 1,
        replication_factor: 1,
        create_topics: false,
        max_message_bytes: 921_600,
        compression: "zstd".into(),
        retention_hours: 168,
        assembly_timeout_secs: 600,
        topics: Topics {
            feeds: TOPIC.into(),
            validated: "validated".into(),
            rejected: "rejected".into(),
        },
        groups: Groups {
            validator: "validator".into(),
            aggregator: "aggregator".into(),
        },
        instance_id: None,
        properties: BTreeMap::new(),
    }
}

fn cluster() -> MockCluster<'static, rdkafka::producer::DefaultProducerContext> {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic(TOPIC, 1, 1).unwrap();
    cluster
}

/// Runs `consume` in group `group` until `want` successful handlings, recording every attempt;
/// the handler fails the first attempt at each payload listed in `fail_once`.
async fn consume_until(
    config: &KafkaConfig,
    group: &str,
    want: usize,
    fail_once: &[&str],
) -> Vec<String> {
    let attempts = Arc::new(Mutex::new(Vec::<String>::new()));
    let succeeded = Arc::new(Mutex::new(0usize));
    let stop = CancellationToken::new();
    let task = {
        let (attempts, succeeded, stop) = (attempts.clone(), succeeded.clone(), stop.clone());
        let fail_once: Vec<String> = fail_once.iter().map(|s| (*s).to_owned()).collect();
        let consumer = consumer(config, group).unwrap();
        tokio::spawn(async move {
            consume(&consumer, TOPIC, stop, |message| {
                let payload = String::from_utf8(message.payload).unwrap();
                let mut attempts = attempts.lock().unwrap();
                let first_attempt = !attempts.contains(&payload);
                attempts.push(payload.clone());
                let result = if first_attempt && fail_once.contains(&payload) {
                    Err("transient failure")
                } else {
                    *succeeded.lock().unwrap() += 1;
                    Ok(())
                };
                std::future::ready(result)
            })
            .await
            .unwrap();
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while *succeeded.lock().unwrap() < want {
        assert!(
            Instant::now() < deadline,
            "handled {} of {want}",
            succeeded.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    task.await.unwrap();
    attempts.lock().unwrap().clone()
}

#[tokio::test]
async fn a_failed_handler_retries_the_same_message_and_offsets_follow_success() {
    let cluster = cluster();
    let config = config(&cluster);
    let producer = producer(&config).unwrap();
    for payload in ["m0", "m1", "m2"] {
        producer
            .send(TOPIC, b"100001", payload.as_bytes())
            .await
            .unwrap();
    }

    let attempts = consume_until(&config, "g", 3, &["m1"]).await;
    assert_eq!(
        attempts,
        ["m0", "m1", "m1", "m2"],
        "m1 retried in place; m2 waited for it"
    );

    // Everything handled was committed: the group resumes after m2.
    producer.send(TOPIC, b"100001", b"m3").await.unwrap();
    assert_eq!(consume_until(&config, "g", 1, &[]).await, ["m3"]);
}

#[tokio::test]
async fn a_crash_before_the_commit_redelivers_the_message() {
    let cluster = cluster();
    let config = config(&cluster);
    let producer = producer(&config).unwrap();
    for payload in ["m0", "m1"] {
        producer
            .send(TOPIC, b"100001", payload.as_bytes())
            .await
            .unwrap();
    }
    // A worker that handles m0 and then hangs inside m1's handler until it is killed.
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let consumer_ = consumer(&config, "g").unwrap();
    let worker = {
        let seen = seen.clone();
        tokio::spawn(async move {
            let _ = consume(&consumer_, TOPIC, CancellationToken::new(), |message| {
                let payload = String::from_utf8(message.payload).unwrap();
                seen.lock().unwrap().push(payload.clone());
                async move {
                    if payload == "m1" {
                        std::future::pending::<()>().await;
                    }
                    Ok::<(), String>(())
                }
            })
            .await;
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.lock().unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "worker did not reach m1");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worker.abort();
    let _ = worker.await;

    // The next worker in the group starts again at m1: committed m0 stays done, m1 is not lost.
    assert_eq!(consume_until(&config, "g", 1, &[]).await, ["m1"]);
}

#[tokio::test]
async fn a_send_the_broker_never_acknowledges_is_an_error() {
    let cluster = cluster();
    let mut config = config(&cluster);
    config
        .properties
        .insert("message.timeout.ms".into(), "1500".into());
    let producer = producer(&config).unwrap();
    producer.send(TOPIC, b"100001", b"before").await.unwrap();
    cluster.broker_down(1).unwrap();
    let err = producer.send(TOPIC, b"100001", b"lost?").await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("delivery to topic feeds failed"),
        "{err}"
    );
}

/// Runs `consume_batches` in group `group` until every payload in `want` was handled with
/// success, recording each batch handed over and the group's committed offset on partition 0 at
/// the moment the handler got it; the handler fails the first attempt at each of `fail_once`.
async fn consume_batches_until(
    config: &KafkaConfig,
    group: &str,
    batching: Batching,
    want: usize,
    fail_once: &[&str],
) -> Vec<(Vec<String>, Option<i64>)> {
    let batches = Arc::new(Mutex::new(Vec::<(Vec<String>, Option<i64>)>::new()));
    let succeeded = Arc::new(Mutex::new(0usize));
    let stop = CancellationToken::new();
    let task = {
        let (batches, succeeded, stop) = (batches.clone(), succeeded.clone(), stop.clone());
        let fail_once: Vec<String> = fail_once.iter().map(|s| (*s).to_owned()).collect();
        let config = config.clone();
        let group = group.to_owned();
        let consumer = consumer(&config, &group).unwrap();
        tokio::spawn(async move {
            consume_batches(&consumer, TOPIC, batching, stop, |batch| {
                let (batches, succeeded, fail_once) =
                    (batches.clone(), succeeded.clone(), fail_once.clone());
                let (config, group) = (config.clone(), group.clone());
                async move {
                    let committed = committed_offsets(&config, &group, TOPIC)
                        .await
                        .unwrap()
                        .get(&0)
                        .copied();
                    let payloads: Vec<String> = batch
                        .into_iter()
                        .map(|m| String::from_utf8(m.payload).unwrap())
                        .collect();
                    let mut seen = batches.lock().unwrap();
                    let results = payloads
                        .iter()
                        .map(|p| {
                            let tried = seen.iter().any(|(b, _)| b.contains(p));
                            if !tried && fail_once.contains(p) {
                                Err("transient failure")
                            } else {
                                *succeeded.lock().unwrap() += 1;
                                Ok(())
                            }
                        })
                        .collect::<Vec<_>>();
                    seen.push((payloads, committed));
                    results
                }
            })
            .await
            .unwrap();
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while *succeeded.lock().unwrap() < want {
        assert!(
            Instant::now() < deadline,
            "handled {} of {want}",
            succeeded.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    task.await.unwrap();
    batches.lock().unwrap().clone()
}

#[tokio::test]
async fn batches_commit_their_offsets_once_after_the_handler_and_retry_from_a_failure() {
    let cluster = cluster();
    let config = config(&cluster);
    let producer = producer(&config).unwrap();
    for payload in ["m0", "m1", "m2", "m3", "m4", "m5"] {
        producer
            .send(TOPIC, b"100001", payload.as_bytes())
            .await
            .unwrap();
    }
    let batching = Batching {
        max_messages: 3,
        linger: Duration::from_millis(500),
    };
    // m4 fails once: m3 stays done and committed, m4 and m5 come back together.
    let batches = consume_batches_until(&config, "g", batching, 7, &["m4"]).await;
    let handed: Vec<Vec<&str>> = batches
        .iter()
        .map(|(b, _)| b.iter().map(String::as_str).collect())
        .collect();
    assert_eq!(
        handed,
        [
            vec!["m0", "m1", "m2"],
            vec!["m3", "m4", "m5"],
            vec!["m4", "m5"]
        ]
    );
    // While a batch was being handled, nothing of it was committed yet.
    let committed: Vec<Option<i64>> = batches.iter().map(|(_, c)| *c).collect();
    assert_eq!(committed, [None, Some(3), Some(4)]);
    assert_eq!(
        committed_offsets(&config, "g", TOPIC)
            .await
            .unwrap()
            .get(&0),
        Some(&6)
    );

    // A short linger hands over what has arrived rather than waiting for a full batch.
    producer.send(TOPIC, b"100001", b"m6").await.unwrap();
    let batches = consume_batches_until(&config, "g", batching, 1, &[]).await;
    assert_eq!(batches, [(vec!["m6".to_owned()], Some(6))]);
}

/// A payload of `len` bytes that says which it is.
fn big(name: &str, len: usize) -> Vec<u8> {
    let mut payload = name.as_bytes().to_vec();
    payload.extend((0..len).map(|i| (i % 251) as u8));
    payload
}

/// The name a `big` payload starts with.
fn name_of(payload: &[u8]) -> String {
    String::from_utf8_lossy(&payload[..2]).into_owned()
}

#[tokio::test]
async fn a_payload_larger_than_a_record_travels_as_frames_and_arrives_whole() {
    let cluster = cluster();
    let mut config = config(&cluster);
    config.max_message_bytes = 64 * 1024;
    let producer = producer(&config).unwrap();
    let payload = big("p1", 1_000_000);
    let records = producer
        .send_payload(TOPIC, b"100001", b"feed-1", &payload, &[])
        .await
        .unwrap()
        .records;
    assert!(records >= 16, "{records} records");
    // No record on the topic is larger than the limit.
    let raw = consume_raw(&config, records).await;
    assert!(
        raw.iter().all(|r| r.len() <= config.max_message_bytes),
        "a record over the limit"
    );
    let got = consume_payloads(&config, "g", 1).await;
    assert_eq!(got, [payload]);
}

#[tokio::test]
async fn a_consumer_killed_between_frames_loses_nothing_and_commits_no_further() {
    let cluster = cluster();
    let mut config = config(&cluster);
    config.max_message_bytes = 32 * 1024;
    let producer = producer(&config).unwrap();
    // Feed a's first frames, then a whole small feed b, then (after the crash) a's rest.
    let a = big("aa", 200_000);
    let frames = rollcall_kafka::frame::split(b"a", &a, config.max_message_bytes).unwrap();
    let (head, tail) = frames.split_at(frames.len() / 2);
    for record in head {
        producer.send(TOPIC, b"100001", record).await.unwrap();
    }
    producer
        .send_payload(TOPIC, b"100002", b"b", &big("bb", 10), &[])
        .await
        .unwrap();
    let first = consume_payloads(&config, "g", 1).await;
    assert_eq!(first.iter().map(|p| name_of(p)).collect::<Vec<_>>(), ["bb"]);
    // b was handled, but the offset stays at a's first frame: a is still being put together.
    assert_eq!(
        committed_offsets(&config, "g", TOPIC)
            .await
            .unwrap()
            .get(&0),
        Some(&0)
    );
    // The first consumer is gone; the rest of a arrives, with one frame sent twice (a producer
    // retry), and a new consumer of the group puts a together from its first frame.
    for record in tail.iter().chain(tail.last()) {
        producer.send(TOPIC, b"100001", record).await.unwrap();
    }
    let second = consume_payloads(&config, "g", 2).await;
    let names: Vec<String> = second.iter().map(|p| name_of(p)).collect();
    assert_eq!(names, ["bb", "aa"], "b again (harmless), then a, whole");
    assert_eq!(second[1], a);
    let end = (frames.len() + 2) as i64;
    assert_eq!(
        committed_offsets(&config, "g", TOPIC)
            .await
            .unwrap()
            .get(&0),
        Some(&end)
    );
}

#[tokio::test]
async fn two_payloads_whose_frames_interleave_are_put_together_apart() {
    let cluster = cluster();
    let mut config = config(&cluster);
    config.max_message_bytes = 32 * 1024;
    let producer = producer(&config).unwrap();
    let (x, y) = (big("xx", 150_000), big("yy", 90_000));
    let fx = rollcall_kafka::frame::split(b"x", &x, config.max_message_bytes).unwrap();
    let fy = rollcall_kafka::frame::split(b"y", &y, config.max_message_bytes).unwrap();
    send_interleaved(&producer, &fx, &fy).await;
    let got = consume_payloads(&config, "g", 2).await;
    assert_eq!(got, [y, x], "each whole, in the order they were completed");
}

#[tokio::test]
async fn a_payload_is_read_back_from_where_it_was_written_past_others_frames() {
    let cluster = cluster();
    let mut config = config(&cluster);
    config.max_message_bytes = 32 * 1024;
    let producer = producer(&config).unwrap();
    let first = producer
        .send_payload(TOPIC, b"100001", b"a", &big("aa", 10), &[])
        .await
        .unwrap();
    // x's frames with y's between them, as two feeds of one school sent at once.
    let (x, y) = (big("xx", 150_000), big("yy", 90_000));
    let fx = rollcall_kafka::frame::split(b"x", &x, config.max_message_bytes).unwrap();
    let fy = rollcall_kafka::frame::split(b"y", &y, config.max_message_bytes).unwrap();
    send_interleaved(&producer, &fx, &fy).await;
    let reader = rollcall_kafka::reader(&config).unwrap();
    let at = |offset| rollcall_kafka::Position {
        partition: 0,
        offset,
    };
    let read = |offset| reader.read(TOPIC, at(offset));
    let a = read(first.first.offset).await.unwrap().unwrap();
    assert_eq!(a.payload, big("aa", 10));
    // x's first frame is the record after a; y's is the one after that.
    let x_back = read(first.first.offset + 1).await.unwrap().unwrap();
    assert_eq!(x_back.payload, x);
    assert_eq!(x_back.offset, first.first.offset + 1);
    let y_back = read(first.first.offset + 2).await.unwrap().unwrap();
    assert_eq!(y_back.payload, y);
    // Back again, and forward again: what the client fetched for the last read comes first
    // and is passed over.
    assert_eq!(
        read(first.first.offset).await.unwrap().unwrap().payload,
        big("aa", 10)
    );
    assert_eq!(
        read(first.first.offset + 2).await.unwrap().unwrap().payload,
        y
    );
    assert_eq!(
        read(first.first.offset + 1).await.unwrap().unwrap().payload,
        x
    );
    // A tail frame begins no payload; past the end the broker holds nothing.
    assert!(read(first.first.offset + 3).await.unwrap().is_none());
    assert!(read(first.first.offset + 1000).await.unwrap().is_none());
}

/// Sends two payloads' frames one of each in turn, as two feeds of one school sent at once.
async fn send_interleaved(producer: &rollcall_kafka::Producer, fx: &[Vec<u8>], fy: &[Vec<u8>]) {
    for i in 0..fx.len().max(fy.len()) {
        for frames in [fx, fy] {
            if let Some(record) = frames.get(i) {
                producer.send(TOPIC, b"100001", record).await.unwrap();
            }
        }
    }
}

/// Every record's bytes on partition 0, as the broker holds them.
async fn consume_raw(config: &KafkaConfig, want: usize) -> Vec<Vec<u8>> {
    use rdkafka::consumer::{BaseConsumer, Consumer as _};
    use rdkafka::message::Message as _;
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &config.brokers)
        .set("group.id", "raw-reader")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[TOPIC]).unwrap();
    let mut records = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while records.len() < want {
        assert!(
            Instant::now() < deadline,
            "read {} of {want}",
            records.len()
        );
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            records.push(m.payload().unwrap_or_default().to_vec());
        }
    }
    records
}

/// Runs `consume` in `group` until `want` payloads were handled, and returns them in order.
async fn consume_payloads(config: &KafkaConfig, group: &str, want: usize) -> Vec<Vec<u8>> {
    let got = Arc::new(Mutex::new(Vec::new()));
    let stop = CancellationToken::new();
    let consumer = consumer(config, group).unwrap();
    let task = {
        let (got, stop) = (got.clone(), stop.clone());
        tokio::spawn(async move {
            consume(&consumer, TOPIC, stop, |message| {
                got.lock().unwrap().push(message.payload);
                std::future::ready(Ok::<(), String>(()))
            })
            .await
            .unwrap();
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.lock().unwrap().len() < want {
        assert!(
            Instant::now() < deadline,
            "handled {} of {want}",
            got.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A moment for anything that should not come.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.cancel();
    task.await.unwrap();
    std::mem::take(&mut *got.lock().unwrap())
}
