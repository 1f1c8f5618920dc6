//! How far a consumer group is behind: for each partition of its topic, the high watermark (the
//! offset the next record will get) less the group's committed offset, or less the low watermark
//! where the group has committed nothing. Read by a [`Probe`] that holds one client for the life
//! of the worker, for its `/metrics` (`rollcall_kafka_consumer_lag`) and its `/readyz`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rollcall_telemetry::metrics::{IntGaugeVec, Metrics};
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::{KafkaConfig, Result};

/// How long one read of metadata or offsets may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Reads a group's position on a topic without joining the group.
#[derive(Clone)]
pub struct Probe {
    client: Arc<BaseConsumer>,
    topic: String,
}

impl Probe {
    pub fn new(config: &KafkaConfig, group: &str, topic: &str) -> Result<Probe> {
        let mut client = config.client_config();
        client
            .set("group.id", group)
            .set("enable.auto.commit", "false");
        Ok(Probe {
            client: Arc::new(client.create()?),
            topic: topic.to_owned(),
        })
    }

    pub(crate) fn client(&self) -> Arc<BaseConsumer> {
        self.client.clone()
    }

    /// Whether the cluster answers for the topic: the readiness check.
    pub async fn reachable(&self) -> Result<()> {
        let (client, topic) = (self.client.clone(), self.topic.clone());
        tokio::task::spawn_blocking(move || {
            client
                .fetch_metadata(Some(&topic), Duration::from_secs(2))
                .map(|_| ())
        })
        .await
        .expect("metadata task panicked")?;
        Ok(())
    }

    /// [`Probe::reachable`] as a readiness check (`rollcall_server::ops::Readiness::check`):
    /// the reason names the kind of failure only.
    pub fn readiness(
        &self,
    ) -> impl Fn() -> futures::future::BoxFuture<'static, Result<(), String>> + Send + Sync + 'static
    {
        let probe = self.clone();
        move || {
            let probe = probe.clone();
            Box::pin(async move {
                probe
                    .reachable()
                    .await
                    .map_err(|err| format!("{:?}", err.kind()).to_lowercase())
            })
        }
    }

    /// Records waiting for the group on each partition.
    pub async fn lag(&self) -> Result<BTreeMap<i32, i64>> {
        let (client, topic) = (self.client.clone(), self.topic.clone());
        tokio::task::spawn_blocking(move || -> Result<BTreeMap<i32, i64>> {
            let committed = committed_blocking(&client, &topic)?;
            let mut lag = BTreeMap::new();
            for (partition, committed) in committed {
                let (low, high) = client.fetch_watermarks(&topic, partition, TIMEOUT)?;
                lag.insert(partition, (high - committed.unwrap_or(low)).max(0));
            }
            Ok(lag)
        })
        .await
        .expect("lag task panicked")
    }

    /// Keeps the gauge `rollcall_kafka_consumer_lag{topic, partition}` in `metrics` up to date
    /// in a task of its own, reading every `every` until `shutdown` fires or the guard is
    /// dropped. A read that fails leaves the last figures and is logged.
    pub fn spawn_watch(
        self,
        metrics: &Metrics,
        every: Duration,
        shutdown: &CancellationToken,
    ) -> DropGuard {
        let gauge: IntGaugeVec = metrics.gauge_vec(
            "rollcall_kafka_consumer_lag",
            "records on each partition of the worker's input topic its group has not committed",
            &["topic", "partition"],
        );
        let stop = shutdown.child_token();
        tokio::spawn(self.watch(gauge, every, stop.clone()));
        stop.drop_guard()
    }

    async fn watch(self, gauge: IntGaugeVec, every: Duration, shutdown: CancellationToken) {
        loop {
            match self.lag().await {
                Ok(lag) => {
                    for (partition, records) in lag {
                        gauge
                            .with_label_values(&[self.topic.as_str(), &partition.to_string()])
                            .set(records);
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, topic = %self.topic, "cannot read consumer lag")
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    }
}

/// The group's committed offset on every partition of `topic` (`None`: nothing committed).
pub(crate) fn committed_blocking(
    client: &BaseConsumer,
    topic: &str,
) -> Result<BTreeMap<i32, Option<i64>>> {
    let metadata = client.fetch_metadata(Some(topic), TIMEOUT)?;
    let mut partitions = rdkafka::TopicPartitionList::new();
    for t in metadata.topics() {
        for p in t.partitions() {
            partitions.add_partition(topic, p.id());
        }
    }
    let committed = client.committed_offsets(partitions, TIMEOUT)?;
    Ok(committed
        .elements()
        .iter()
        .map(|e| match e.offset() {
            rdkafka::Offset::Offset(n) => (e.partition(), Some(n)),
            _ => (e.partition(), None),
        })
        .collect())
}
