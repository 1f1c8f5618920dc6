//! What every worker's batches record, under the same names in each worker (the scrape's job
//! tells them apart): how many feeds a batch held and how long its handler took.

use std::time::Duration;

use rollcall_telemetry::metrics::{self, Histogram, IntCounter, Metrics};

#[derive(Clone)]
pub struct BatchMetrics {
    feeds: Histogram,
    seconds: Histogram,
    handed_back: IntCounter,
}

impl BatchMetrics {
    pub fn new(metrics: &Metrics) -> BatchMetrics {
        BatchMetrics {
            feeds: metrics.histogram(
                "rollcall_worker_batch_feeds",
                "messages (feeds) in each batch the worker handled",
                metrics::BATCH_BUCKETS,
            ),
            seconds: metrics.histogram(
                "rollcall_worker_batch_seconds",
                "seconds the worker took over each batch, until its outputs were acknowledged or its transaction committed",
                metrics::SECONDS_BUCKETS,
            ),
            handed_back: metrics.counter(
                "rollcall_worker_feeds_retried_total",
                "feeds handed back to be tried again (a transient failure, or an earlier feed of their partition failed)",
            ),
        }
    }

    /// Records one batch of `feeds` messages that took `took`, `retried` of them handed back.
    pub fn batch(&self, feeds: usize, retried: usize, took: Duration) {
        self.feeds.observe(feeds as f64);
        self.seconds.observe(took.as_secs_f64());
        self.handed_back.inc_by(retried as u64);
    }
}
