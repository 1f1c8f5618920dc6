//! W3C trace context (`traceparent`, `tracestate`) across the places a feed leaves one process
//! for another: gRPC metadata coming in, Kafka record headers going out and coming in. So one
//! trace runs from the vendor's call through the validator and the aggregator to the moment the
//! feed is queryable. Without span export configured, spans carry no OpenTelemetry context and
//! nothing is written: the headers are empty.
//!
//! The headers carry trace and span ids and the sampling flag, nothing of the feed.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// A trace context as header names and values, as written to a Kafka record or read from one.
pub type Headers = Vec<(String, String)>;

/// `span`'s context as headers (none when spans are not exported).
pub fn headers_of(span: &tracing::Span) -> Headers {
    let mut carrier: HashMap<String, String> = HashMap::new();
    TraceContextPropagator::new().inject_context(&span.context(), &mut carrier);
    let mut headers: Headers = carrier.into_iter().collect();
    headers.sort();
    headers
}

/// Makes the context in `headers` (from another process) `span`'s parent. Headers without a
/// valid `traceparent` leave `span` the root of a trace of its own.
pub fn set_parent<'a>(span: &tracing::Span, headers: impl IntoIterator<Item = (&'a str, &'a str)>) {
    let carrier: HashMap<String, String> = headers
        .into_iter()
        .filter(|(name, _)| is_trace_header(name))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
        .collect();
    if carrier.is_empty() {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&carrier);
    // Fails only when the span is not recorded by the OpenTelemetry layer: nothing to link.
    let _ = span.set_parent(parent);
}

/// Whether `name` is one of the headers W3C trace context uses.
pub fn is_trace_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("traceparent") || name.eq_ignore_ascii_case("tracestate")
}
