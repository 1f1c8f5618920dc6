//! librdkafka's in-process mock cluster, for tests of the services that consume and produce
//! (feature `mock`): no broker process, real client behaviour, consumer groups and commits.

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

use crate::Result;

/// A one-broker mock cluster, alive as long as this value.
pub struct MockBroker {
    cluster: MockCluster<'static, DefaultProducerContext>,
}

impl MockBroker {
    pub fn new() -> Result<MockBroker> {
        Ok(MockBroker {
            cluster: MockCluster::new(1)?,
        })
    }

    /// Creates `topic` with `partitions` partitions.
    pub fn create_topic(&self, topic: &str, partitions: i32) -> Result<()> {
        self.cluster.create_topic(topic, partitions, 1)?;
        Ok(())
    }

    /// What `kafka.brokers` should say to reach it.
    pub fn bootstrap_servers(&self) -> String {
        self.cluster.bootstrap_servers()
    }
}
