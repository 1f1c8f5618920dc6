//! The aggregator's own figures, beside its batches' (`rollcall_kafka::BatchMetrics`) and its
//! consumer lag: feeds stored or parked, marks written or superseded, and how long each
//! PostgreSQL transaction took (a lane's batch, or one feed when a batch fell back).

use std::time::Duration;

use rollcall_db::ApplyStats;
use rollcall_telemetry::metrics::{self, HistogramVec, IntCounterVec, Metrics};

#[derive(Clone)]
pub struct StoreMetrics {
    feeds: IntCounterVec,
    marks: IntCounterVec,
    transactions: HistogramVec,
}

/// What one transaction stored.
#[derive(Clone, Copy)]
pub enum Transaction {
    /// A lane's feeds together.
    Batch,
    /// One feed, after its lane's batch failed (or alone in its lane).
    Feed,
}

impl StoreMetrics {
    pub fn new(metrics: &Metrics) -> StoreMetrics {
        StoreMetrics {
            feeds: metrics.counter_vec(
                "rollcall_aggregator_feeds_total",
                "validated feeds stored, or parked because the database refused them for good (or they could not be decoded)",
                &["result"],
            ),
            marks: metrics.counter_vec(
                "rollcall_aggregator_marks_total",
                "marks of the stored feeds: written (new, or a newer version) or superseded (a version at least as new was held)",
                &["result"],
            ),
            transactions: metrics.histogram_vec(
                "rollcall_db_transaction_seconds",
                "seconds each committed PostgreSQL transaction of the write path took, by what it stored (batch, feed)",
                &["stored"],
                metrics::SECONDS_BUCKETS,
            ),
        }
    }

    pub fn stored(&self, stats: &ApplyStats) {
        self.feeds.with_label_values(&["stored"]).inc();
        self.marks
            .with_label_values(&["written"])
            .inc_by(stats.marks_written);
        self.marks
            .with_label_values(&["superseded"])
            .inc_by(stats.marks_superseded);
    }

    pub fn parked(&self) {
        self.feeds.with_label_values(&["parked"]).inc();
    }

    pub fn committed(&self, what: Transaction, took: Duration) {
        let label = match what {
            Transaction::Batch => "batch",
            Transaction::Feed => "feed",
        };
        self.transactions
            .with_label_values(&[label])
            .observe(took.as_secs_f64());
    }
}
