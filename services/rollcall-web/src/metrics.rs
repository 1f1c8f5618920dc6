//! The dashboard's own figures: requests by route pattern and status, and their time. A route is
//! the router's pattern (`/schools/{urn}`), never the path asked for, so no URN or pupil
//! reference becomes a label; a path no route matches is `unmatched`.

use std::time::Duration;

use rollcall_telemetry::metrics::{self, HistogramVec, IntCounterVec, Metrics};

#[derive(Clone)]
pub struct WebMetrics {
    requests: IntCounterVec,
    seconds: HistogramVec,
}

impl WebMetrics {
    pub fn new(metrics: &Metrics) -> WebMetrics {
        WebMetrics {
            requests: metrics.counter_vec(
                "rollcall_web_requests_total",
                "requests answered, by route pattern and HTTP status",
                &["route", "status"],
            ),
            seconds: metrics.histogram_vec(
                "rollcall_web_request_seconds",
                "seconds from a request's arrival to its answer's headers, by route pattern",
                &["route"],
                metrics::SECONDS_BUCKETS,
            ),
        }
    }

    pub fn answered(&self, route: &str, status: u16, took: Duration) {
        self.requests
            .with_label_values(&[route, &status.to_string()])
            .inc();
        self.seconds
            .with_label_values(&[route])
            .observe(took.as_secs_f64());
    }
}
