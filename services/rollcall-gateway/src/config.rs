//! The gateway's settings: the shared sections, `[kafka]` (it writes the feeds topic) and its own
//! `[gateway]` (listener and feed size limits).

use std::net::SocketAddr;

use rollcall_kafka::KafkaConfig;
use rollcall_server::ServiceSettings;
use rollcall_server::config::{AuthConfig, ConfigError, DatabaseConfig, TlsConfig};
use rollcall_telemetry::TelemetryConfig;
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub database: DatabaseConfig,
    pub tls: TlsConfig,
    pub auth: AuthConfig,
    pub telemetry: TelemetryConfig,
    pub kafka: KafkaConfig,
    pub gateway: GatewayConfig,
}

#[derive(Clone, Debug, Deserialize)]
pub struct GatewayConfig {
    pub listen: SocketAddr,
    /// The operations listener: `/metrics`, `/healthz`, `/readyz` (plain HTTP, no data).
    pub ops_listen: SocketAddr,
    pub max_feed_bytes: usize,
    pub max_records: usize,
    /// Feeds read and enqueued at once; a stream waits for a place (`admission.rs`).
    pub max_concurrent_feeds: usize,
    /// Bytes (as sent) of all the feeds in progress at once.
    pub max_buffered_bytes: usize,
    /// How long a stream waits for a place or for bytes before it is shed.
    pub admission_wait_ms: u64,
    /// The least pause a shed stream is told to wait before it sends again.
    pub shed_pushback_ms: u64,
}

impl GatewayConfig {
    pub fn admission(&self) -> crate::admission::Limits {
        crate::admission::Limits {
            max_concurrent_feeds: self.max_concurrent_feeds,
            max_buffered_bytes: self.max_buffered_bytes,
            wait: std::time::Duration::from_millis(self.admission_wait_ms),
            pushback: std::time::Duration::from_millis(self.shed_pushback_ms),
        }
    }
}

impl Settings {
    /// The embedded defaults alone (see [`rollcall_server::config::defaults`]).
    pub fn defaults() -> Settings {
        rollcall_server::config::defaults()
    }
}

impl ServiceSettings for Settings {
    const DEFAULTS: &'static [&'static str] =
        &[rollcall_kafka::DEFAULTS, include_str!("defaults.toml")];

    fn telemetry(&self) -> &TelemetryConfig {
        &self.telemetry
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.database.validate()?;
        if self.gateway.max_records == 0 || self.gateway.max_feed_bytes == 0 {
            return Err(ConfigError::invalid(
                "gateway.max_records",
                "limits must be positive",
            ));
        }
        if self.gateway.max_concurrent_feeds == 0 {
            return Err(ConfigError::invalid(
                "gateway.max_concurrent_feeds",
                "must be at least 1",
            ));
        }
        if self.gateway.max_buffered_bytes < self.gateway.max_feed_bytes
            || self.gateway.max_buffered_bytes > u32::MAX as usize
        {
            return Err(ConfigError::invalid(
                "gateway.max_buffered_bytes",
                "must hold at least one feed of gateway.max_feed_bytes, and at most 4 GiB",
            ));
        }
        self.tls
            .check_listener("gateway.listen", self.gateway.listen)?;
        self.auth.validate()?;
        self.kafka
            .validate()
            .map_err(|rule| ConfigError::invalid("kafka", rule))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults plus plaintext, as the demo and most tests run.
    fn local() -> Settings {
        let mut settings = Settings::defaults();
        settings.tls.plaintext = true;
        settings
    }

    #[test]
    fn embedded_defaults_load_and_validate_once_tls_is_chosen() {
        let settings = Settings::defaults();
        assert_eq!(settings.kafka.topics.feeds, "rollcall.feeds.v1");
        assert_eq!(settings.gateway.listen.port(), 50051);
        let err = settings.validate().unwrap_err();
        assert!(err.to_string().contains("tls.cert"), "{err}");
        local().validate().unwrap();
        let mut tls = Settings::defaults();
        tls.tls.cert = "server.pem".into();
        tls.tls.key = "server.key".into();
        tls.validate().unwrap();
    }

    #[test]
    fn plaintext_is_refused_off_loopback() {
        let mut settings = local();
        settings.gateway.listen = "0.0.0.0:50051".parse().unwrap();
        let err = settings.validate().unwrap_err();
        assert!(err.to_string().contains("gateway.listen"), "{err}");
    }

    #[test]
    fn environment_overrides_defaults() {
        let env = [
            (
                "ROLLCALL__KAFKA__BROKERS".to_owned(),
                "kafka-1:9092".to_owned(),
            ),
            ("ROLLCALL__TLS__PLAINTEXT".to_owned(), "true".to_owned()),
        ];
        let settings: Settings =
            rollcall_server::config::load_from(None, Some(env.into())).unwrap();
        assert_eq!(settings.kafka.brokers, "kafka-1:9092");
    }

    #[test]
    fn kafka_records_stay_under_a_clusters_default_limit() {
        let settings = local();
        assert_eq!(settings.kafka.max_message_bytes, 921_600);
        assert!(
            settings.kafka.max_message_bytes + rollcall_kafka::frame::RECORD_OVERHEAD < 1_000_000
        );
        assert_eq!(settings.kafka.compression, "zstd");
        let mut tiny = local();
        tiny.kafka.max_message_bytes = 1000;
        let err = tiny.validate().unwrap_err();
        assert!(err.to_string().contains("max_message_bytes"), "{err}");
    }
}
