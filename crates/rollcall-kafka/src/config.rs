//! The `[kafka]` configuration section, its embedded defaults and the librdkafka properties
//! derived from it; and a worker's batches (`[validator]`, `[aggregator]`), as it takes them off
//! its topic.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::ClientConfig;
use serde::Deserialize;

use crate::Batching;

/// The `[kafka]` section's embedded defaults (TOML), layered by the services that read it.
pub const DEFAULTS: &str = include_str!("defaults.toml");

#[derive(Clone, Debug, Deserialize)]
pub struct KafkaConfig {
    /// Bootstrap servers, comma separated.
    pub brokers: String,
    pub partitions: i32,
    pub replication_factor: i32,
    /// Create missing topics at start-up (off where a platform team owns topics).
    pub create_topics: bool,
    /// The largest record Rollcall writes (a frame of a payload, header included); larger
    /// payloads travel as several frames. Under Kafka's default limit of about 1 MB.
    pub max_message_bytes: usize,
    /// Producer compression of every topic: `zstd`, `lz4`, `gzip`, `snappy` or `none`.
    pub compression: String,
    /// How long topics Rollcall creates keep their records, in hours.
    pub retention_hours: u64,
    /// How long a consumer waits for the missing frames of a payload before giving it up.
    pub assembly_timeout_secs: u64,
    pub topics: Topics,
    pub groups: Groups,
    /// This instance's stable name in its consumer group (Kafka's static membership,
    /// `group.instance.id`), e.g. a Kubernetes StatefulSet pod's name: an instance restarted
    /// under the same name takes back its partitions at once, without a rebalance of the group.
    /// Unset: a new member at every start.
    #[serde(default)]
    pub instance_id: Option<String>,
    /// Extra librdkafka properties applied to every client (security, SASL, tuning).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

/// The smallest record limit accepted: room for a frame's header and a useful slice.
const MIN_MESSAGE_BYTES: usize = 16 * 1024;

/// Producer compressions librdkafka and every Kafka broker take.
const COMPRESSIONS: &[&str] = &["zstd", "lz4", "gzip", "snappy", "none"];

#[derive(Clone, Debug, Deserialize)]
pub struct Topics {
    /// Feeds as received by the gateway.
    pub feeds: String,
    /// Accepted, normalised records and each feed's validation outcome.
    pub validated: String,
    /// Dead letters: rejected records as they arrived, with their findings.
    pub rejected: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Groups {
    pub validator: String,
    pub aggregator: String,
}

impl KafkaConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.brokers.trim().is_empty() {
            return Err("brokers must not be empty".into());
        }
        if self.partitions < 1 || self.replication_factor < 1 {
            return Err("partitions and replication_factor must be at least 1".into());
        }
        let topics = [
            &self.topics.feeds,
            &self.topics.validated,
            &self.topics.rejected,
        ];
        if topics.iter().any(|t| t.is_empty()) {
            return Err("topic names must not be empty".into());
        }
        if topics[0] == topics[1] || topics[1] == topics[2] || topics[0] == topics[2] {
            return Err("the feeds, validated and rejected topics must differ".into());
        }
        if self.max_message_bytes < MIN_MESSAGE_BYTES {
            return Err(format!(
                "max_message_bytes must be at least {MIN_MESSAGE_BYTES}"
            ));
        }
        if !COMPRESSIONS.contains(&self.compression.as_str()) {
            return Err(format!(
                "compression must be one of {}",
                COMPRESSIONS.join(", ")
            ));
        }
        if self
            .instance_id
            .as_deref()
            .is_some_and(|id| id.trim().is_empty() || id.len() > 249)
        {
            return Err("instance_id must be 1 to 249 characters when set".into());
        }
        if self.retention_hours == 0 || self.assembly_timeout_secs == 0 {
            return Err("retention_hours and assembly_timeout_secs must be at least 1".into());
        }
        Ok(())
    }

    /// Properties shared by every client.
    pub(crate) fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }
}

/// How a worker takes feeds off its topic in batches: the validator writes a batch's outputs
/// all in flight at once, the aggregator applies a batch in one transaction, and each commits
/// the batch's offsets once, after that.
#[derive(Clone, Debug, Deserialize)]
pub struct BatchConfig {
    /// The most feeds in a batch (1: one at a time).
    pub batch_max_feeds: usize,
    /// How long a batch waits for more feeds after its first arrived, in milliseconds.
    pub batch_linger_ms: u64,
}

/// The largest batch and the longest linger [`BatchConfig::validate`] accepts.
pub const MAX_BATCH_FEEDS: usize = 1000;
const MAX_BATCH_LINGER_MS: u64 = 10_000;

impl BatchConfig {
    pub fn batching(&self) -> Batching {
        Batching {
            max_messages: self.batch_max_feeds,
            linger: Duration::from_millis(self.batch_linger_ms),
        }
    }

    /// Checks the bounds; an error names the setting out of bounds (`fields`: the names of
    /// `batch_max_feeds` and `batch_linger_ms` in the worker's section) and the rule.
    pub fn validate(
        &self,
        [max_feeds, linger]: [&'static str; 2],
    ) -> Result<(), (&'static str, String)> {
        if self.batch_max_feeds == 0 || self.batch_max_feeds > MAX_BATCH_FEEDS {
            return Err((
                max_feeds,
                format!("must be between 1 and {MAX_BATCH_FEEDS}"),
            ));
        }
        if self.batch_linger_ms > MAX_BATCH_LINGER_MS {
            return Err((linger, format!("must be at most {MAX_BATCH_LINGER_MS}")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_bounded_and_the_error_names_the_setting() {
        let fields = ["w.batch_max_feeds", "w.batch_linger_ms"];
        for (feeds, linger, field) in [
            (0, 20, fields[0]),
            (MAX_BATCH_FEEDS + 1, 20, fields[0]),
            (16, MAX_BATCH_LINGER_MS + 1, fields[1]),
        ] {
            let config = BatchConfig {
                batch_max_feeds: feeds,
                batch_linger_ms: linger,
            };
            assert_eq!(config.validate(fields).unwrap_err().0, field);
        }
        let one_at_a_time = BatchConfig {
            batch_max_feeds: 1,
            batch_linger_ms: 0,
        };
        one_at_a_time.validate(fields).unwrap();
        let largest = BatchConfig {
            batch_max_feeds: MAX_BATCH_FEEDS,
            batch_linger_ms: MAX_BATCH_LINGER_MS,
        };
        largest.validate(fields).unwrap();
    }
}
