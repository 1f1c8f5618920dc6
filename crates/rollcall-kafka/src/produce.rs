//! The producer: idempotent, `acks=all`, and `send` resolves only once the broker acknowledged.

use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::{Error, KafkaConfig, Result};

/// An idempotent producer. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Producer {
    inner: FutureProducer,
}

pub fn producer(config: &KafkaConfig) -> Result<Producer> {
    let mut client = config.client_config();
    client
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("message.max.bytes", config.message_max_bytes.to_string())
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
    })
}

impl Producer {
    /// Sends one message and waits for the broker's acknowledgement.
    pub async fn send(&self, topic: &str, key: &[u8], payload: &[u8]) -> Result<()> {
        let record = FutureRecord::to(topic).key(key).payload(payload);
        self.inner
            .send(record, Duration::from_secs(30))
            .await
            .map(|_delivery| ())
            .map_err(|(source, _message)| Error::Delivery {
                topic: topic.to_owned(),
                source,
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
