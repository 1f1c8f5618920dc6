//! The gateway's own figures, beside the calls' (`rollcall_server::calls`) and the producer's:
//! feeds answered by sender and outcome, and the records they carried. The sender is a vendor's
//! registered name, or `school` for a school sending its own files (`Principal::sender`): never a
//! school's URN.

use rollcall_telemetry::metrics::{IntCounterVec, IntGauge, Metrics};
use tonic::Status;

#[derive(Clone)]
pub struct FeedMetrics {
    feeds: IntCounterVec,
    records: IntCounterVec,
    in_progress: IntGauge,
}

impl FeedMetrics {
    pub fn new(metrics: &Metrics) -> FeedMetrics {
        FeedMetrics {
            feeds: metrics.counter_vec(
                "rollcall_gateway_feeds_total",
                "feeds answered, by sender (a vendor's name, or school) and outcome (enqueued, duplicate, or the error code in lowercase)",
                &["sender", "outcome"],
            ),
            records: metrics.counter_vec(
                "rollcall_gateway_records_total",
                "records of the feeds enqueued, by sender and kind (roll, mark)",
                &["sender", "kind"],
            ),
            in_progress: metrics.gauge(
                "rollcall_gateway_feeds_in_progress",
                "feeds being read or enqueued now (each holds a place, gateway.max_concurrent_feeds)",
            ),
        }
    }

    /// Counts a feed in progress until the guard is dropped.
    pub fn in_progress(&self) -> InProgress {
        self.in_progress.inc();
        InProgress(self.in_progress.clone())
    }

    /// Counts one `SubmitFeed` answer.
    pub fn answered(&self, sender: &str, outcome: Outcome<'_>) {
        let outcome = match outcome {
            Outcome::Enqueued { roll, marks } => {
                self.records
                    .with_label_values(&[sender, "roll"])
                    .inc_by(roll as u64);
                self.records
                    .with_label_values(&[sender, "mark"])
                    .inc_by(marks as u64);
                "enqueued".to_owned()
            }
            Outcome::Duplicate => "duplicate".to_owned(),
            Outcome::Failed(status) => error_label(status),
        };
        self.feeds.with_label_values(&[sender, &outcome]).inc();
    }
}

pub enum Outcome<'a> {
    Enqueued { roll: usize, marks: usize },
    Duplicate,
    Failed(&'a Status),
}

pub struct InProgress(IntGauge);

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// A refusal's stable error code in lowercase (`feed_too_large`, `overloaded`), or the gRPC
/// code's number when the status carries none.
fn error_label(status: &Status) -> String {
    status
        .metadata()
        .get(rollcall_server::error::ERROR_CODE_METADATA)
        .and_then(|code| code.to_str().ok())
        .map(str::to_lowercase)
        .unwrap_or_else(|| format!("grpc_{}", status.code() as i32))
}
