//! The producer: idempotent, `acks=all`, compressed, and a send resolves only once the broker
//! acknowledged every record of it. [`Producer::send_payload`] writes a payload of any size as
//! frames of at most `kafka.max_message_bytes` ([`crate::frame`]). Each record's time from send
//! to acknowledgement is a sample of `rollcall_kafka_produce_seconds{topic}` once the service
//! gave the producer its metrics ([`Producer::with_metrics`]).

use std::time::{Duration, Instant};

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rollcall_telemetry::metrics::{self, HistogramVec, Metrics};

use crate::{Error, KafkaConfig, Result, frame};

/// Where a record was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub partition: i32,
    pub offset: i64,
}

/// A payload written: how many records it took, and where the first is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sent {
    pub records: usize,
    pub first: Position,
}

/// An idempotent producer. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Producer {
    inner: FutureProducer,
    max_message_bytes: usize,
    latency: Option<HistogramVec>,
}

pub fn producer(config: &KafkaConfig) -> Result<Producer> {
    let mut client = config.client_config();
    // A request holds one record of the largest size with room for its framing.
    let request_bytes = (config.max_message_bytes + frame::RECORD_OVERHEAD).to_string();
    client
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("message.max.bytes", &request_bytes)
        .set("batch.size", &request_bytes)
        .set("compression.type", &config.compression)
        .set("linger.ms", "5")
        .set("message.timeout.ms", "30000");
    // Properties from config win over ours, except the two that make delivery safe.
    for (key, value) in &config.properties {
        if key != "enable.idempotence" && key != "acks" {
            client.set(key, value);
        }
    }
    Ok(Producer {
        inner: client.create()?,
        max_message_bytes: config.max_message_bytes,
        latency: None,
    })
}

impl Producer {
    /// The same producer, recording each acknowledged record's latency into `metrics`.
    pub fn with_metrics(mut self, metrics: &Metrics) -> Producer {
        self.latency = Some(metrics.histogram_vec(
            "rollcall_kafka_produce_seconds",
            "seconds from sending a record to the broker's acknowledgement (acks=all), by topic",
            &["topic"],
            metrics::SECONDS_BUCKETS,
        ));
        self
    }

    /// Sends one message and waits for the broker's acknowledgement.
    pub async fn send(&self, topic: &str, key: &[u8], payload: &[u8]) -> Result<()> {
        self.send_traced(topic, key, payload, &[]).await.map(drop)
    }

    /// Sends one message carrying the trace context `trace` in its headers.
    async fn send_traced(
        &self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
        trace: &[(String, String)],
    ) -> Result<Position> {
        let started = Instant::now();
        let mut record = FutureRecord::to(topic).key(key).payload(payload);
        if !trace.is_empty() {
            let mut headers = OwnedHeaders::new_with_capacity(trace.len());
            for (name, value) in trace {
                headers = headers.insert(Header {
                    key: name,
                    value: Some(value.as_bytes()),
                });
            }
            record = record.headers(headers);
        }
        let delivery = self
            .inner
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(source, _message)| Error::Delivery {
                topic: topic.to_owned(),
                source,
            })?;
        if let Some(latency) = &self.latency {
            latency
                .with_label_values(&[topic])
                .observe(started.elapsed().as_secs_f64());
        }
        Ok(Position {
            partition: delivery.partition,
            offset: delivery.offset,
        })
    }

    /// Sends `payload` as frames under `key`, all in flight at once and queued in order (so they
    /// land in order on the key's partition), and waits until each is acknowledged. `id` names
    /// the payload among those on its partition (a feed id); every frame carries the trace
    /// context `trace` (`rollcall_telemetry::context::headers_of`, empty for none). Returns how
    /// many records it took and where the first is, from where [`crate::Reader`] reads it back.
    pub async fn send_payload(
        &self,
        topic: &str,
        key: &[u8],
        id: &[u8],
        payload: &[u8],
        trace: &[(String, String)],
    ) -> Result<Sent> {
        let frames = frame::split(id, payload, self.max_message_bytes)?;
        let sends = frames
            .iter()
            .map(|record| self.send_traced(topic, key, record, trace));
        let mut first = None;
        for result in futures::future::join_all(sends).await {
            let position = result?;
            first.get_or_insert(position);
        }
        Ok(Sent {
            records: frames.len(),
            first: first.expect("a payload is at least one frame"),
        })
    }

    /// Sends every message, all in flight at once, and waits until each is acknowledged.
    pub async fn send_all(&self, topic: &str, messages: &[(Vec<u8>, Vec<u8>)]) -> Result<()> {
        let sends = messages
            .iter()
            .map(|(key, payload)| self.send(topic, key, payload));
        for result in futures::future::join_all(sends).await {
            result?;
        }
        Ok(())
    }
}
