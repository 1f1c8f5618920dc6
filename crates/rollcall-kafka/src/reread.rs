//! Reading back a payload already on a topic, from where [`crate::Producer::send_payload`] wrote
//! its first record: operations' school replays (`rollcall replay`) read a school's feeds again
//! from the feeds topic. The reader is assigned partitions, never joins a group and never
//! commits, so the workers' groups are untouched.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::assemble::{Assembler, Pushed};
use crate::{Error, KafkaConfig, Message, Position, Result};

/// How long one record may take to arrive before the read is given up (transient).
const RECORD_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads payloads back by position. One read at a time.
pub struct Reader {
    inner: Arc<StreamConsumer>,
}

/// A reader for `config`'s cluster.
pub fn reader(config: &KafkaConfig) -> Result<Reader> {
    let mut client = config.client_config();
    client
        // Assigned partitions only: the group is never joined, no offset is ever committed.
        .set("group.id", "rollcall-reader")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set(
            "fetch.message.max.bytes",
            config.max_message_bytes.max(1 << 20).to_string(),
        );
    for (key, value) in &config.properties {
        if key != "enable.auto.commit" && key != "group.id" {
            client.set(key, value);
        }
    }
    Ok(Reader {
        inner: Arc::new(client.create()?),
    })
}

impl Reader {
    /// The payload whose first record is at `at` on `topic`, put together from its frames
    /// (others' frames between them are skipped). None when the broker no longer holds that
    /// record (past the topic's retention) or the record there does not begin a payload.
    pub async fn read(&self, topic: &str, at: Position) -> Result<Option<Message>> {
        let (low, high) = {
            let inner = self.inner.clone();
            let topic = topic.to_owned();
            tokio::task::spawn_blocking(move || {
                inner.fetch_watermarks(&topic, at.partition, Duration::from_secs(10))
            })
            .await
            .expect("the watermark lookup does not panic")?
        };
        if at.offset < low || at.offset >= high {
            return Ok(None);
        }
        let mut assignment = TopicPartitionList::new();
        assignment.add_partition_offset(topic, at.partition, Offset::Offset(at.offset))?;
        self.inner.assign(&assignment)?;
        // Frames of one payload are never far apart; the age limit does not apply to a read.
        let mut assembler = Assembler::new(Duration::MAX);
        // Records the client fetched for an earlier read may still come first, from anywhere
        // in the partition: the read starts at the record asked for.
        let mut started = false;
        loop {
            let record = match tokio::time::timeout(RECORD_TIMEOUT, self.inner.recv()).await {
                Ok(received) => crate::consume::copy(&received?),
                Err(_) => {
                    return Err(Error::ReadTimeout {
                        topic: topic.to_owned(),
                    });
                }
            };
            let offset = record.offset;
            if record.partition != at.partition || (!started && offset != at.offset) {
                continue;
            }
            started = true;
            match assembler.push(record) {
                Pushed::Complete(message) if message.offset == at.offset => {
                    return Ok(Some(message));
                }
                // The record there is the tail of another payload.
                Pushed::Orphan if offset == at.offset => return Ok(None),
                _ => {}
            }
            if offset + 1 >= high {
                return Ok(None);
            }
        }
    }
}
