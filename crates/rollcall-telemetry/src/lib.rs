//! Telemetry for every Rollcall binary: structured logs through `tracing-subscriber` and, when an
//! OTLP endpoint is configured, spans exported through OpenTelemetry. `init` returns a guard that
//! flushes pending spans when dropped, so `main` holds it for the life of the process. `metrics`:
//! one Prometheus registry per service; `context`: W3C trace context across gRPC and Kafka.
//!
//! Log fields name schools, feeds and counts, never pupils: no UPN, name or date of birth is ever
//! recorded by a Rollcall span or event (see ARCHITECTURE.md).

pub mod context;
pub mod metrics;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use serde::Deserialize;
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid log filter: {0}")]
    Filter(#[from] tracing_subscriber::filter::ParseError),
    #[error("cannot build the otlp exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("a global subscriber is already installed")]
    AlreadyInstalled,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The `[telemetry]` section of the configuration.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct TelemetryConfig {
    /// `EnvFilter` directives, e.g. `info,rollcall=debug`. `RUST_LOG` overrides it when set.
    pub filter: String,
    /// `text` for people, `json` for log shippers.
    pub format: LogFormat,
    /// OTLP/gRPC collector endpoint, e.g. `http://127.0.0.1:4317`; empty disables span export.
    #[serde(default)]
    pub otlp_endpoint: String,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Flushes and shuts down span export when dropped.
#[must_use = "dropping the guard stops span export"]
pub struct Guard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(err) = provider.shutdown()
        {
            eprintln!("telemetry shutdown failed: {err}");
        }
    }
}

/// Installs the global subscriber for `service` (e.g. `rollcall-gateway`). Logs go to stderr.
pub fn init(service: &'static str, config: &TelemetryConfig) -> Result<Guard> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.is_empty() => EnvFilter::try_new(directives)?,
        _ => EnvFilter::try_new(&config.filter)?,
    };
    let fmt_layer = match config.format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_writer(std::io::stderr)
            .boxed(),
    };

    let provider = if config.otlp_endpoint.is_empty() {
        None
    } else {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(config.otlp_endpoint.clone())
            .build()?;
        // Spans leave within half a second of ending, so a feed's trace is at the collector
        // soon after the feed is queryable.
        let processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(
                BatchConfigBuilder::default()
                    .with_scheduled_delay(std::time::Duration::from_millis(500))
                    .build(),
            )
            .build();
        Some(
            SdkTracerProvider::builder()
                .with_span_processor(processor)
                .with_resource(Resource::builder().with_service_name(service).build())
                .build(),
        )
    };
    let otel_layer = provider
        .as_ref()
        .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer(service)));

    tracing_subscriber::registry()
        .with(filter)
        .with(fmt_layer)
        .with(otel_layer)
        .try_init()
        .map_err(|_| Error::AlreadyInstalled)?;
    Ok(Guard { provider })
}
