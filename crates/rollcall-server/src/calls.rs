//! What every gRPC call counts, recorded by the authentication layer that every call passes:
//! calls by method, refusals by method and error code, and the time to the answer's headers (for
//! a stream the vendor sends, the whole call; for a stream the service sends, until its first
//! message). A method is named only when the access policy knows it, so a caller cannot make new
//! series by calling made-up paths.

use std::time::Duration;

use rollcall_telemetry::metrics::{self, HistogramVec, IntCounterVec, Metrics};

use crate::auth::policy;

#[derive(Clone)]
pub struct CallMetrics {
    calls: IntCounterVec,
    refused: IntCounterVec,
    answered: IntCounterVec,
    seconds: HistogramVec,
}

impl CallMetrics {
    pub fn new(metrics: &Metrics) -> CallMetrics {
        CallMetrics {
            calls: metrics.counter_vec(
                "rollcall_grpc_calls_total",
                "gRPC calls received, by method",
                &["method"],
            ),
            refused: metrics.counter_vec(
                "rollcall_grpc_refused_total",
                "gRPC calls refused before any handler (credentials, access policy, rate limit), by method and error code",
                &["method", "code"],
            ),
            answered: metrics.counter_vec(
                "rollcall_grpc_answers_total",
                "gRPC answers by method and the status in their headers (ok when it comes in the trailers)",
                &["method", "status"],
            ),
            seconds: metrics.histogram_vec(
                "rollcall_grpc_call_seconds",
                "seconds from a gRPC call's arrival to its answer's headers, by method",
                &["method"],
                metrics::SECONDS_BUCKETS,
            ),
        }
    }

    pub(crate) fn called(&self, method: &str) {
        self.calls.with_label_values(&[method]).inc();
    }

    pub(crate) fn refused(&self, method: &str, code: &str) {
        self.refused.with_label_values(&[method, code]).inc();
    }

    pub(crate) fn answered(&self, method: &str, status: &str, took: Duration) {
        self.answered.with_label_values(&[method, status]).inc();
        self.seconds
            .with_label_values(&[method])
            .observe(took.as_secs_f64());
    }
}

/// The method label for `path`: the path when the access policy lists it or it is open (health,
/// reflection), `unknown` otherwise.
pub(crate) fn method_label(path: &str) -> &str {
    if policy::allowed(path).is_some() || policy::is_open(path) {
        path
    } else {
        "unknown"
    }
}

/// The gRPC status of an answer as its headers give it (a refusal or an error before the first
/// message), as a lowercase name; `ok` when the headers carry none (the status follows in the
/// trailers).
pub(crate) fn status_label(headers: &http::HeaderMap) -> &'static str {
    let Some(code) = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
    else {
        return "ok";
    };
    match tonic::Code::from_i32(code) {
        tonic::Code::Ok => "ok",
        tonic::Code::Cancelled => "cancelled",
        tonic::Code::Unknown => "unknown",
        tonic::Code::InvalidArgument => "invalid_argument",
        tonic::Code::DeadlineExceeded => "deadline_exceeded",
        tonic::Code::NotFound => "not_found",
        tonic::Code::AlreadyExists => "already_exists",
        tonic::Code::PermissionDenied => "permission_denied",
        tonic::Code::ResourceExhausted => "resource_exhausted",
        tonic::Code::FailedPrecondition => "failed_precondition",
        tonic::Code::Aborted => "aborted",
        tonic::Code::OutOfRange => "out_of_range",
        tonic::Code::Unimplemented => "unimplemented",
        tonic::Code::Internal => "internal",
        tonic::Code::Unavailable => "unavailable",
        tonic::Code::DataLoss => "data_loss",
        tonic::Code::Unauthenticated => "unauthenticated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_methods_the_policy_knows_are_named() {
        assert_eq!(
            method_label("/rollcall.feed.v1.FeedService/SubmitFeed"),
            "/rollcall.feed.v1.FeedService/SubmitFeed"
        );
        assert_eq!(
            method_label("/grpc.health.v1.Health/Check"),
            "/grpc.health.v1.Health/Check"
        );
        assert_eq!(method_label("/made.up.Service/937123"), "unknown");
    }

    #[test]
    fn a_status_in_the_headers_is_named_and_none_is_ok() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(status_label(&headers), "ok");
        headers.insert("grpc-status", "8".parse().unwrap());
        assert_eq!(status_label(&headers), "resource_exhausted");
    }
}
