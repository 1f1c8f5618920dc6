//! The query service's settings: the shared sections and its own `[query]` (listener and export
//! suppression). It reads no `[kafka]`: the query service does not link a Kafka client.

use std::net::SocketAddr;

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
    pub query: QueryConfig,
}

#[derive(Clone, Debug, Deserialize)]
pub struct QueryConfig {
    pub listen: SocketAddr,
    /// The operations listener: `/metrics`, `/healthz`, `/readyz` (plain HTTP, no data).
    pub ops_listen: SocketAddr,
    /// DfE-style exports write `c` in every figure of a row counting fewer enrolments than
    /// this (and in a second row where one alone could be worked out from the total).
    pub suppress_below_enrolments: u64,
}

impl Settings {
    /// The embedded defaults alone (see [`rollcall_server::config::defaults`]).
    pub fn defaults() -> Settings {
        rollcall_server::config::defaults()
    }
}

impl ServiceSettings for Settings {
    const DEFAULTS: &'static [&'static str] = &[include_str!("defaults.toml")];

    fn telemetry(&self) -> &TelemetryConfig {
        &self.telemetry
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.database.validate()?;
        self.tls.check_listener("query.listen", self.query.listen)?;
        self.auth.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_is_refused_off_loopback() {
        let mut settings = Settings::defaults();
        settings.tls.plaintext = true;
        assert_eq!(settings.query.listen.port(), 50052);
        assert_eq!(settings.query.suppress_below_enrolments, 10);
        settings.validate().unwrap();
        settings.query.listen = "0.0.0.0:50052".parse().unwrap();
        let err = settings.validate().unwrap_err();
        assert!(err.to_string().contains("query.listen"), "{err}");
    }
}
