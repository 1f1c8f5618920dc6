//! The aggregator's settings: `[database]`, `[telemetry]`, `[kafka]` and its own `[aggregator]`
//! (its batches, lanes, parking and operations listener). It answers no API, so it reads no
//! `[tls]` or `[auth]`.

use std::net::SocketAddr;

use rollcall_kafka::{BatchConfig, KafkaConfig, MAX_BATCH_FEEDS};
use rollcall_server::ServiceSettings;
use rollcall_server::config::{ConfigError, DatabaseConfig};
use rollcall_telemetry::TelemetryConfig;
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub database: DatabaseConfig,
    pub telemetry: TelemetryConfig,
    pub kafka: KafkaConfig,
    pub aggregator: AggregatorConfig,
}

/// The aggregator's batches (as [`BatchConfig`]) and what it does with a feed the database
/// refuses for good.
#[derive(Clone, Debug, Deserialize)]
pub struct AggregatorConfig {
    pub batch_max_feeds: usize,
    pub batch_linger_ms: u64,
    /// How many times a feed the database refuses for a reason a retry cannot fix (a data
    /// exception, a constraint) is tried before it is parked and its partition moves on.
    pub park_after_attempts: u32,
    /// Transactions a batch is spread over at once, each for its own schools.
    pub lanes: usize,
    /// `/metrics`, `/healthz`, `/readyz` (plain HTTP, no data).
    pub ops_listen: SocketAddr,
}

impl AggregatorConfig {
    pub fn batch_config(&self) -> BatchConfig {
        BatchConfig {
            batch_max_feeds: self.batch_max_feeds,
            batch_linger_ms: self.batch_linger_ms,
        }
    }
}

/// The most attempts before parking that `validate` accepts.
const MAX_PARK_AFTER_ATTEMPTS: u32 = 100;

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
        let aggregator = &self.aggregator;
        aggregator
            .batch_config()
            .validate(["aggregator.batch_max_feeds", "aggregator.batch_linger_ms"])
            .map_err(|(field, rule)| ConfigError::invalid(field, rule))?;
        if aggregator.lanes == 0 || aggregator.lanes > MAX_BATCH_FEEDS {
            return Err(ConfigError::invalid(
                "aggregator.lanes",
                format!("must be between 1 and {MAX_BATCH_FEEDS}"),
            ));
        }
        let attempts = aggregator.park_after_attempts;
        if attempts == 0 || attempts > MAX_PARK_AFTER_ATTEMPTS {
            return Err(ConfigError::invalid(
                "aggregator.park_after_attempts",
                format!("must be between 1 and {MAX_PARK_AFTER_ATTEMPTS}"),
            ));
        }
        self.kafka
            .validate()
            .map_err(|rule| ConfigError::invalid("kafka", rule))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_checked_under_this_section() {
        let settings = Settings::defaults();
        assert_eq!(settings.aggregator.batch_max_feeds, 16);
        assert_eq!(settings.aggregator.batch_linger_ms, 20);
        // The bounds are rollcall-kafka's (`BatchConfig::validate`); the error names this
        // section's setting.
        let mut settings = Settings::defaults();
        settings.aggregator.batch_max_feeds = 0;
        let err = settings.validate().unwrap_err();
        assert!(
            err.to_string().contains("aggregator.batch_max_feeds"),
            "{err}"
        );
    }

    #[test]
    fn parking_needs_at_least_one_attempt() {
        assert_eq!(Settings::defaults().aggregator.park_after_attempts, 5);
        for (attempts, valid) in [(0, false), (1, true), (100, true), (101, false)] {
            let mut settings = Settings::defaults();
            settings.aggregator.park_after_attempts = attempts;
            assert_eq!(settings.validate().is_ok(), valid, "{attempts} attempts");
        }
    }

    #[test]
    fn lanes_are_bounded() {
        assert_eq!(Settings::defaults().aggregator.lanes, 4);
        for (lanes, valid) in [(0, false), (1, true), (1000, true), (1001, false)] {
            let mut settings = Settings::defaults();
            settings.aggregator.lanes = lanes;
            assert_eq!(settings.validate().is_ok(), valid, "{lanes} lanes");
        }
    }
}
