//! Kafka for Rollcall, and the only crate that imports rdkafka. Producers are idempotent with
//! `acks=all`; consumers never auto-commit: `consume` commits a message's offset only after its
//! handler has returned `Ok`, so whatever the handler wrote downstream was acknowledged first.
//! Nothing here is specific to one broker: any Kafka-API cluster works.

mod assemble;
mod config;
mod consume;
pub mod frame;
#[cfg(feature = "mock")]
pub mod mock;
mod produce;

pub use assemble::Message;
pub use config::{Groups, KafkaConfig, Topics};
pub use consume::{Batching, Consumer, consume, consume_batches, consumer};
pub use produce::{Producer, producer};

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kafka client error: {0}")]
    Client(#[from] rdkafka::error::KafkaError),
    #[error("cannot create topic {topic}: {code}")]
    CreateTopic {
        topic: String,
        code: RDKafkaErrorCode,
    },
    #[error("delivery to topic {topic} failed: {source}")]
    Delivery {
        topic: String,
        source: rdkafka::error::KafkaError,
    },
    #[error(transparent)]
    Frame(#[from] frame::FrameError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Creates each topic that does not exist yet, with the configured partitions, a record limit
/// that takes Rollcall's largest record (`max.message.bytes`) and the configured retention.
pub async fn ensure_topics(config: &KafkaConfig, topics: &[&str]) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = config.client_config().create()?;
    let (max_bytes, retention_ms) = topic_settings(config);
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|name| {
            NewTopic::new(
                name,
                config.partitions,
                TopicReplication::Fixed(config.replication_factor),
            )
            .set("max.message.bytes", &max_bytes)
            .set("retention.ms", &retention_ms)
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in admin.create_topics(&new_topics, &options).await? {
        match result {
            Ok(topic) => tracing::info!(topic, partitions = config.partitions, "created topic"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(Error::CreateTopic { topic, code }),
        }
    }
    Ok(())
}

/// The topic settings Rollcall needs: `max.message.bytes` (its largest record, with room for
/// the broker's framing) and `retention.ms`, as the values to set.
pub fn topic_settings(config: &KafkaConfig) -> (String, String) {
    (
        (config.max_message_bytes + frame::RECORD_OVERHEAD).to_string(),
        (config.retention_hours * 3_600_000).to_string(),
    )
}

/// Messages currently held in `topic`, summed over partitions (high minus low watermark). For
/// operations and tests: "did anything reach the topic?"
pub async fn message_count(config: &KafkaConfig, topic: &str) -> Result<i64> {
    use rdkafka::consumer::{BaseConsumer, Consumer as _};
    let client: BaseConsumer = config.client_config().create()?;
    let topic = topic.to_owned();
    let count = tokio::task::spawn_blocking(move || -> Result<i64> {
        let timeout = Duration::from_secs(10);
        let metadata = client.fetch_metadata(Some(&topic), timeout)?;
        let mut total = 0;
        for t in metadata.topics() {
            for p in t.partitions() {
                let (low, high) = client.fetch_watermarks(&topic, p.id(), timeout)?;
                total += high - low;
            }
        }
        Ok(total)
    })
    .await
    .expect("watermark task panicked")?;
    Ok(count)
}

/// The offset `group` has committed on each partition of `topic`: the next it will read.
/// Partitions the group has committed nothing on are left out. For operations and tests: "how
/// far has the aggregator got?"
pub async fn committed_offsets(
    config: &KafkaConfig,
    group: &str,
    topic: &str,
) -> Result<BTreeMap<i32, i64>> {
    use rdkafka::consumer::{BaseConsumer, Consumer as _};
    let mut client = config.client_config();
    client
        .set("group.id", group)
        .set("enable.auto.commit", "false");
    let client: BaseConsumer = client.create()?;
    let topic = topic.to_owned();
    let offsets = tokio::task::spawn_blocking(move || -> Result<BTreeMap<i32, i64>> {
        let timeout = Duration::from_secs(10);
        let metadata = client.fetch_metadata(Some(&topic), timeout)?;
        let mut partitions = rdkafka::TopicPartitionList::new();
        for t in metadata.topics() {
            for p in t.partitions() {
                partitions.add_partition(&topic, p.id());
            }
        }
        let committed = client.committed_offsets(partitions, timeout)?;
        Ok(committed
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                rdkafka::Offset::Offset(n) => Some((e.partition(), n)),
                _ => None,
            })
            .collect())
    })
    .await
    .expect("committed offsets task panicked")?;
    Ok(offsets)
}
