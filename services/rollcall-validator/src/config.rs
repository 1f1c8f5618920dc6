//! The validator's settings: `[database]`, `[telemetry]`, `[kafka]` and its own `[validator]`
//! (its batches and its operations listener). It answers no API, so it reads no `[tls]` or
//! `[auth]`.

use std::net::SocketAddr;

use rollcall_kafka::{BatchConfig, KafkaConfig};
use rollcall_server::ServiceSettings;
use rollcall_server::config::{ConfigError, DatabaseConfig};
use rollcall_telemetry::TelemetryConfig;
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub database: DatabaseConfig,
    pub telemetry: TelemetryConfig,
    pub kafka: KafkaConfig,
    pub validator: ValidatorConfig,
}

/// The validator's batches (as [`BatchConfig`]) and its operations listener.
#[derive(Clone, Debug, Deserialize)]
pub struct ValidatorConfig {
    pub batch_max_feeds: usize,
    pub batch_linger_ms: u64,
    /// `/metrics`, `/healthz`, `/readyz` (plain HTTP, no data).
    pub ops_listen: SocketAddr,
}

impl ValidatorConfig {
    pub fn batch_config(&self) -> BatchConfig {
        BatchConfig {
            batch_max_feeds: self.batch_max_feeds,
            batch_linger_ms: self.batch_linger_ms,
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
        self.validator
            .batch_config()
            .validate(["validator.batch_max_feeds", "validator.batch_linger_ms"])
            .map_err(|(field, rule)| ConfigError::invalid(field, rule))?;
        self.kafka
            .validate()
            .map_err(|rule| ConfigError::invalid("kafka", rule))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_validate_without_tls() {
        let settings = Settings::defaults();
        assert_eq!(settings.kafka.groups.validator, "rollcall-validator");
        settings.validate().unwrap();
    }

    #[test]
    fn environment_overrides_defaults() {
        let env = [(
            "ROLLCALL__KAFKA__BROKERS".to_owned(),
            "kafka-1:9092".to_owned(),
        )];
        let settings: Settings =
            rollcall_server::config::load_from(None, Some(env.into())).unwrap();
        assert_eq!(settings.kafka.brokers, "kafka-1:9092");
    }

    #[test]
    fn batches_are_checked_under_this_section() {
        let settings = Settings::defaults();
        assert_eq!(settings.validator.batch_max_feeds, 16);
        assert_eq!(settings.validator.batch_linger_ms, 5);
        // The bounds are rollcall-kafka's (`BatchConfig::validate`); the error names this
        // section's setting.
        let mut settings = Settings::defaults();
        settings.validator.batch_max_feeds = 0;
        let err = settings.validate().unwrap_err();
        assert!(
            err.to_string().contains("validator.batch_max_feeds"),
            "{err}"
        );
    }
}
