//! The `[kafka]` configuration section and the librdkafka properties derived from it.

use std::collections::BTreeMap;

use rdkafka::ClientConfig;
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct KafkaConfig {
    /// Bootstrap servers, comma separated.
    pub brokers: String,
    pub partitions: i32,
    pub replication_factor: i32,
    /// Create missing topics at start-up (off where a platform team owns topics).
    pub create_topics: bool,
    pub message_max_bytes: usize,
    pub topics: Topics,
    pub groups: Groups,
    /// Extra librdkafka properties applied to every client (security, SASL, tuning).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

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
