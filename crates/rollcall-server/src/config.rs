//! Layered configuration: embedded defaults, then an optional file, then `ROLLCALL__SECTION__KEY`
//! environment variables, then `validate`. Values are passed explicitly, never read globally.

use std::{net::SocketAddr, path::Path};

use rollcall_kafka::KafkaConfig;
use rollcall_telemetry::TelemetryConfig;
use serde::Deserialize;

const DEFAULTS: &str = include_str!("defaults.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot load configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("invalid configuration: {field}: {rule}")]
    Invalid { field: &'static str, rule: String },
}

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub database: DatabaseConfig,
    pub kafka: KafkaConfig,
    pub gateway: GatewayConfig,
    pub query: QueryConfig,
    pub telemetry: TelemetryConfig,
}

#[derive(Clone, Debug, Deserialize)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
}

#[derive(Clone, Debug, Deserialize)]
pub struct GatewayConfig {
    pub listen: SocketAddr,
    pub max_feed_bytes: usize,
    pub max_records: usize,
}

#[derive(Clone, Debug, Deserialize)]
pub struct QueryConfig {
    pub listen: SocketAddr,
}

impl Settings {
    /// Defaults, then `file` when given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_from(
            file,
            config::Environment::with_prefix("ROLLCALL").separator("__"),
        )
    }

    /// The embedded defaults alone: what tests start from before setting their own values.
    pub fn defaults() -> Settings {
        let settings: Settings = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml))
            .build()
            .and_then(config::Config::try_deserialize)
            .expect("embedded defaults are valid");
        settings
            .validate()
            .expect("embedded defaults pass validation");
        settings
    }

    fn load_from(
        file: Option<&Path>,
        environment: config::Environment,
    ) -> Result<Settings, ConfigError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        if let Some(file) = file {
            builder = builder.add_source(config::File::from(file).required(true));
        }
        let settings: Settings = builder.add_source(environment).build()?.try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, rule: &str| {
            Err(ConfigError::Invalid {
                field,
                rule: rule.to_owned(),
            })
        };
        if !self.database.url.starts_with("postgres://")
            && !self.database.url.starts_with("postgresql://")
        {
            return invalid("database.url", "must be a postgres:// url");
        }
        if self.database.max_connections == 0 {
            return invalid("database.max_connections", "must be at least 1");
        }
        if self.gateway.max_records == 0 || self.gateway.max_feed_bytes == 0 {
            return invalid("gateway.max_records", "limits must be positive");
        }
        if self.gateway.max_feed_bytes >= self.kafka.message_max_bytes {
            return invalid(
                "gateway.max_feed_bytes",
                "must be below kafka.message_max_bytes, so an accepted feed always fits one message",
            );
        }
        self.kafka.validate().map_err(|rule| ConfigError::Invalid {
            field: "kafka",
            rule,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_load_and_validate() {
        let settings = Settings::defaults();
        assert_eq!(settings.kafka.topics.feeds, "rollcall.feeds.v1");
        assert_eq!(settings.gateway.listen.port(), 50051);
    }

    #[test]
    fn environment_overrides_defaults() {
        let env = config::Environment::with_prefix("ROLLCALL")
            .separator("__")
            .source(Some(
                [(
                    "ROLLCALL__KAFKA__BROKERS".to_owned(),
                    "kafka-1:9092".to_owned(),
                )]
                .into(),
            ));
        let settings = Settings::load_from(None, env).unwrap();
        assert_eq!(settings.kafka.brokers, "kafka-1:9092");
    }

    #[test]
    fn a_feed_limit_above_the_message_limit_is_refused() {
        let mut settings = Settings::defaults();
        settings.gateway.max_feed_bytes = settings.kafka.message_max_bytes;
        let err = settings.validate().unwrap_err();
        assert!(err.to_string().contains("gateway.max_feed_bytes"), "{err}");
    }
}
