//! The validator's own figures, beside its batches' (`rollcall_kafka::BatchMetrics`), its
//! producer's and its consumer lag: feeds by result, records by kind and result, findings by code
//! and severity. Counted once a feed's writes were acknowledged, so a feed handed back and
//! written again is counted once per time it was written.

use rollcall_domain::validation::{FindingCode, Severity, Summary};
use rollcall_telemetry::metrics::{IntCounterVec, Metrics};

#[derive(Clone)]
pub struct ValidationMetrics {
    feeds: IntCounterVec,
    records: IntCounterVec,
    findings: IntCounterVec,
}

impl ValidationMetrics {
    pub fn new(metrics: &Metrics) -> ValidationMetrics {
        ValidationMetrics {
            feeds: metrics.counter_vec(
                "rollcall_validator_feeds_total",
                "feeds validated and written on (validated), or dead-lettered whole because they could not be read (refused)",
                &["result"],
            ),
            records: metrics.counter_vec(
                "rollcall_validator_records_total",
                "records of the validated feeds, by kind (roll, mark) and result (accepted, rejected)",
                &["kind", "result"],
            ),
            findings: metrics.counter_vec(
                "rollcall_validator_findings_total",
                "findings of the validated feeds, by finding code and severity",
                &["code", "severity"],
            ),
        }
    }

    pub fn validated(&self, summary: &Summary, findings: &[(FindingCode, Severity)]) {
        self.feeds.with_label_values(&["validated"]).inc();
        for (kind, result, count) in [
            ("roll", "accepted", summary.roll_accepted),
            ("roll", "rejected", summary.roll_rejected),
            ("mark", "accepted", summary.marks_accepted),
            ("mark", "rejected", summary.marks_rejected),
        ] {
            self.records
                .with_label_values(&[kind, result])
                .inc_by(count);
        }
        for (code, severity) in findings {
            self.findings
                .with_label_values(&[code.as_str(), severity.as_str()])
                .inc();
        }
    }

    pub fn refused(&self) {
        self.feeds.with_label_values(&["refused"]).inc();
    }
}
