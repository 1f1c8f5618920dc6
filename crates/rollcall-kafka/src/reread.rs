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

/// Reads payloads back by position. Each read has a client of its own: nothing fetched for one
/// read can come first in the next.
pub struct Reader {
    client: rdkafka::ClientConfig,
}

/// A reader for `config`'s cluster.
pub fn reader(config: &KafkaConfig) -> Result<Reader> {
    let mut client = config.client_config();
    client
        // Assigned partitions only: the group is never joined, no offset is ever committed.
        .set("group.id", "rollcall-reader")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        // A read wants the records already there: no waiting for more to arrive.
        .set("fetch.wait.max.ms", "10")
        .set(
            "fetch.message.max.bytes",
            config.max_message_bytes.max(1 << 20).to_string(),
        );
    for (key, value) in &config.properties {
        if key != "enable.auto.commit" && key != "group.id" {
            client.set(key, value);
        }
    }
    // Created once here so that a bad configuration fails at start, not at the first replay.
    let _: StreamConsumer = client.create()?;
    Ok(Reader { client })
}

/// How far before a record a read starts again when a fetch from the record itself skipped it.
const STARTS_BEFORE: [i64; 3] = [0, 1, 64];

/// What one attempt at a read found.
enum Attempt {
    Found(Option<Message>),
    /// The broker answered the fetch from a later record than the one asked for.
    Skipped,
}

impl Reader {
    /// The payload whose first record is at `at` on `topic`, put together from its frames
    /// (others' frames between them are skipped). None when the broker no longer holds that
    /// record (past the topic's retention) or the record there does not begin a payload.
    ///
    /// A fetch is asked for at the record itself; should the broker answer from a later one
    /// (Tansu 0.6, the local broker, does so at some offsets), the read starts a little before
    /// it and passes over what comes first. A Kafka broker answers from the record asked for.
    pub async fn read(&self, topic: &str, at: Position) -> Result<Option<Message>> {
        let consumer: Arc<StreamConsumer> = Arc::new(self.client.create()?);
        let (low, high) = {
            let inner = consumer.clone();
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
        let mut client = Some(consumer);
        for before in STARTS_BEFORE {
            let start = (at.offset - before).max(low);
            let consumer = match client.take() {
                Some(consumer) => consumer,
                None => Arc::new(self.client.create()?),
            };
            match read_from(&consumer, topic, at, start, high).await? {
                Attempt::Found(message) => return Ok(message),
                Attempt::Skipped if start == low => break,
                Attempt::Skipped => {}
            }
        }
        Ok(None)
    }
}

/// Reads `topic` from `start` with a client of its own until the payload at `at` is whole.
async fn read_from(
    consumer: &StreamConsumer,
    topic: &str,
    at: Position,
    start: i64,
    high: i64,
) -> Result<Attempt> {
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, at.partition, Offset::Offset(start))?;
    consumer.assign(&assignment)?;
    // Frames of one payload are never far apart; the age limit does not apply to a read.
    let mut assembler = Assembler::new(Duration::MAX);
    let mut started = false;
    loop {
        let record = match tokio::time::timeout(RECORD_TIMEOUT, consumer.recv()).await {
            Ok(received) => crate::consume::copy(&received?),
            Err(_) => {
                return Err(Error::ReadTimeout {
                    topic: topic.to_owned(),
                });
            }
        };
        let offset = record.offset;
        if record.partition != at.partition || offset < at.offset {
            continue;
        }
        if !started && offset > at.offset {
            return Ok(Attempt::Skipped);
        }
        started = true;
        match assembler.push(record) {
            Pushed::Complete(message) if message.offset == at.offset => {
                return Ok(Attempt::Found(Some(message)));
            }
            // The record there is the tail of another payload.
            Pushed::Orphan if offset == at.offset => return Ok(Attempt::Found(None)),
            _ => {}
        }
        if offset + 1 >= high {
            return Ok(Attempt::Found(None));
        }
    }
}
