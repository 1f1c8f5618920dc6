//! Kafka for Rollcall, and the only crate that imports rdkafka. Producers are idempotent with
//! `acks=all`; consumers never auto-commit: `consume` commits a message's offset only after its
//! handler has returned `Ok`, so whatever the handler wrote downstream was acknowledged first.
//! Nothing here is specific to one broker: any Kafka-API cluster works.

mod assemble;
mod config;
mod consume;
pub mod frame;
mod lag;
mod metrics;
#[cfg(feature = "mock")]
pub mod mock;
mod produce;
mod reread;

pub use assemble::Message;
pub use config::{BatchConfig, DEFAULTS, Groups, KafkaConfig, MAX_BATCH_FEEDS, Topics};
pub use consume::{Batching, Consumer, consume, consume_batches, consumer};
pub use lag::Probe;
pub use metrics::BatchMetrics;
pub use produce::{Position, Producer, Sent, producer};
pub use reread::{Reader, reader};

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
pub use rollcall_domain::failure::ErrorKind;

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
    #[error("reading back from topic {topic} timed out")]
    ReadTimeout { topic: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// What kind of failure this is: transient while the broker is unreachable, slow or
    /// electing leaders (the same call works later); internal when the client's configuration,
    /// the cluster's authorisation or limits, or Rollcall's own framing is at fault, which no
    /// retry fixes.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Client(source) | Error::Delivery { source, .. } => client_kind(source),
            Error::CreateTopic { .. } | Error::Frame(_) => ErrorKind::Internal,
            Error::ReadTimeout { .. } => ErrorKind::Transient,
        }
    }
}

fn client_kind(err: &rdkafka::error::KafkaError) -> ErrorKind {
    use rdkafka::error::KafkaError;
    match err {
        KafkaError::ClientConfig(..) | KafkaError::ClientCreation(_) | KafkaError::Nul(_) => {
            ErrorKind::Internal
        }
        _ => match err.rdkafka_error_code() {
            Some(
                RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::ClusterAuthorizationFailed
                | RDKafkaErrorCode::GroupAuthorizationFailed
                | RDKafkaErrorCode::SaslAuthenticationFailed
                | RDKafkaErrorCode::Authentication
                | RDKafkaErrorCode::InvalidArgument
                | RDKafkaErrorCode::UnsupportedCompressionType,
            ) => ErrorKind::Internal,
            _ => ErrorKind::Transient,
        },
    }
}

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
    let probe = Probe::new(config, group, topic)?;
    let client = probe.client();
    let topic = topic.to_owned();
    let offsets = tokio::task::spawn_blocking(move || lag::committed_blocking(&client, &topic))
        .await
        .expect("committed offsets task panicked")?;
    Ok(offsets
        .into_iter()
        .filter_map(|(partition, offset)| Some((partition, offset?)))
        .collect())
}

#[cfg(test)]
mod tests {
    use rdkafka::error::KafkaError;

    use super::*;

    #[test]
    fn a_broker_in_trouble_is_transient_and_a_misconfiguration_is_not() {
        let delivery = |code| Error::Delivery {
            topic: "feeds".into(),
            source: KafkaError::MessageProduction(code),
        };
        for code in [
            RDKafkaErrorCode::BrokerTransportFailure,
            RDKafkaErrorCode::AllBrokersDown,
            RDKafkaErrorCode::MessageTimedOut,
            RDKafkaErrorCode::NotLeaderForPartition,
            RDKafkaErrorCode::QueueFull,
        ] {
            assert_eq!(delivery(code).kind(), ErrorKind::Transient, "{code:?}");
        }
        for code in [
            RDKafkaErrorCode::MessageSizeTooLarge,
            RDKafkaErrorCode::TopicAuthorizationFailed,
        ] {
            assert_eq!(delivery(code).kind(), ErrorKind::Internal, "{code:?}");
        }
        let creation = Error::Client(KafkaError::ClientCreation("bad property".into()));
        assert_eq!(creation.kind(), ErrorKind::Internal);
        assert_eq!(
            Error::Frame(frame::FrameError::IdTooLong).kind(),
            ErrorKind::Internal
        );
    }
}
