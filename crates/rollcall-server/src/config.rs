//! Layered configuration, one service's sections at a time: embedded defaults (the shared
//! sections' below, then the service's own), then an optional file, then
//! `ROLLCALL__SECTION__KEY` environment variables, then the service's `validate`. Every service
//! reads the same file format and ignores the sections it does not use, so one file can serve
//! them all. Values are passed explicitly, never read globally.
//!
//! The sections every service may share live here: `[database]`, `[tls]` (the listeners'),
//! `[auth]` and `[telemetry]`. `[kafka]` is `rollcall-kafka`'s; `[gateway]`, `[validator]`,
//! `[aggregator]`, `[query]` and `[web]` are each their service's.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use rollcall_telemetry::TelemetryConfig;
use serde::{Deserialize, de::DeserializeOwned};

/// The shared sections' embedded defaults, layered first for every service.
const DEFAULTS: &str = include_str!("defaults.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot load configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("invalid configuration: {field}: {rule}")]
    Invalid { field: &'static str, rule: String },
}

impl ConfigError {
    pub fn invalid(field: &'static str, rule: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            field,
            rule: rule.into(),
        }
    }
}

/// One service's settings: the sections it reads, their embedded defaults and their checks.
pub trait ServiceSettings: DeserializeOwned {
    /// The embedded defaults (TOML) of the sections beyond the shared ones, layered in order
    /// over the shared defaults.
    const DEFAULTS: &'static [&'static str];

    fn telemetry(&self) -> &TelemetryConfig;

    fn validate(&self) -> Result<(), ConfigError>;
}

/// Defaults, then `file` when given, then the process's environment, then `validate`.
pub fn load<S: ServiceSettings>(file: Option<&Path>) -> Result<S, ConfigError> {
    load_from(file, None)
}

/// As [`load`], with `environment` standing for the process's variables when given (tests).
pub fn load_from<S: ServiceSettings>(
    file: Option<&Path>,
    environment: Option<config::Map<String, String>>,
) -> Result<S, ConfigError> {
    let mut builder = layered_defaults::<S>();
    if let Some(file) = file {
        builder = builder.add_source(config::File::from(file).required(true));
    }
    let environment = config::Environment::with_prefix("ROLLCALL")
        .separator("__")
        .source(environment);
    let settings: S = builder.add_source(environment).build()?.try_deserialize()?;
    settings.validate()?;
    Ok(settings)
}

/// The embedded defaults alone: what tests start from before setting their own values. A
/// service with a listener names no TLS certificate in them, so its defaults pass `validate`
/// only once TLS (or, for local use, plaintext) is configured.
pub fn defaults<S: ServiceSettings>() -> S {
    layered_defaults::<S>()
        .build()
        .and_then(config::Config::try_deserialize)
        .expect("embedded defaults are valid")
}

fn layered_defaults<S: ServiceSettings>() -> config::ConfigBuilder<config::builder::DefaultState> {
    std::iter::once(DEFAULTS)
        .chain(S::DEFAULTS.iter().copied())
        .fold(config::Config::builder(), |builder, toml| {
            builder.add_source(config::File::from_str(toml, config::FileFormat::Toml))
        })
}

#[derive(Clone, Debug, Deserialize)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
}

impl DatabaseConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.url.starts_with("postgres://") && !self.url.starts_with("postgresql://") {
            return Err(ConfigError::invalid(
                "database.url",
                "must be a postgres:// url",
            ));
        }
        if self.max_connections == 0 {
            return Err(ConfigError::invalid(
                "database.max_connections",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// TLS for every listener.
#[derive(Clone, Debug, Deserialize)]
pub struct TlsConfig {
    /// No TLS: for local use only, and refused on anything but a loopback address.
    pub plaintext: bool,
    /// PEM certificate chain and private key of the server.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// PEM CA certificate(s) for vendors' client certificates; empty: no mutual TLS.
    pub client_ca: PathBuf,
}

impl TlsConfig {
    /// A service's listener at `addr` (its setting `field`) under this TLS configuration: with
    /// plaintext, only on a loopback address; otherwise with a certificate and key.
    pub fn check_listener(&self, field: &'static str, addr: SocketAddr) -> Result<(), ConfigError> {
        if self.plaintext {
            if !addr.ip().is_loopback() {
                return Err(ConfigError::invalid(
                    field,
                    format!(
                        "{addr} is not a loopback address: plaintext is for local use only; configure tls.cert and tls.key"
                    ),
                ));
            }
        } else if self.cert.as_os_str().is_empty() || self.key.as_os_str().is_empty() {
            return Err(ConfigError::invalid(
                "tls.cert",
                "tls.cert and tls.key are required (or tls.plaintext = true for local use)",
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct AuthConfig {
    pub key_valid_days: u32,
    pub requests_per_second: f64,
    pub burst: u32,
    pub jwt: JwtConfig,
}

impl AuthConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let rate = self.requests_per_second;
        if rate.is_nan() || rate <= 0.0 || self.burst == 0 {
            return Err(ConfigError::invalid(
                "auth.requests_per_second",
                "rate limits must be positive",
            ));
        }
        if self.key_valid_days == 0 {
            return Err(ConfigError::invalid(
                "auth.key_valid_days",
                "must be at least 1",
            ));
        }
        let jwt = &self.jwt;
        if !jwt.jwks_file.as_os_str().is_empty()
            && (jwt.issuer.is_empty() || jwt.audience.is_empty() || jwt.la_claim.is_empty())
        {
            return Err(ConfigError::invalid(
                "auth.jwt",
                "issuer, audience and la_claim are required with a jwks_file",
            ));
        }
        Ok(())
    }
}

/// Verification of LA and school users' signed tokens.
#[derive(Clone, Debug, Deserialize)]
pub struct JwtConfig {
    /// A JSON Web Key Set file with the identity provider's public keys; empty: no JWTs.
    pub jwks_file: PathBuf,
    pub issuer: String,
    pub audience: String,
    /// The claim holding an LA user's LA code.
    pub la_claim: String,
    /// The claim holding a school user's URN; it takes precedence over `la_claim`. Empty: only
    /// LA users sign in with tokens.
    pub school_claim: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service reading only the shared sections and a listener of its own.
    #[derive(Debug, Deserialize)]
    struct Probe {
        database: DatabaseConfig,
        tls: TlsConfig,
        auth: AuthConfig,
        telemetry: TelemetryConfig,
        probe: ProbeConfig,
    }

    #[derive(Debug, Deserialize)]
    struct ProbeConfig {
        listen: SocketAddr,
    }

    impl ServiceSettings for Probe {
        const DEFAULTS: &'static [&'static str] = &["[probe]\nlisten = \"127.0.0.1:50099\"\n"];

        fn telemetry(&self) -> &TelemetryConfig {
            &self.telemetry
        }

        fn validate(&self) -> Result<(), ConfigError> {
            self.database.validate()?;
            self.tls.check_listener("probe.listen", self.probe.listen)?;
            self.auth.validate()
        }
    }

    fn local() -> Probe {
        let mut settings = defaults::<Probe>();
        settings.tls.plaintext = true;
        settings
    }

    #[test]
    fn embedded_defaults_load_and_validate_once_tls_is_chosen() {
        let settings = defaults::<Probe>();
        assert_eq!(settings.database.max_connections, 8);
        assert_eq!(settings.probe.listen.port(), 50099);
        let err = settings.validate().unwrap_err();
        assert!(err.to_string().contains("tls.cert"), "{err}");
        local().validate().unwrap();
        let mut tls = defaults::<Probe>();
        tls.tls.cert = "server.pem".into();
        tls.tls.key = "server.key".into();
        tls.validate().unwrap();
    }

    #[test]
    fn plaintext_is_refused_off_loopback() {
        let mut settings = local();
        settings.probe.listen = "0.0.0.0:50052".parse().unwrap();
        let err = settings.validate().unwrap_err();
        assert!(err.to_string().contains("probe.listen"), "{err}");
    }

    #[test]
    fn environment_overrides_defaults_and_unknown_sections_are_left_alone() {
        let env = [
            (
                "ROLLCALL__DATABASE__URL".to_owned(),
                "postgres://db-1/rollcall".to_owned(),
            ),
            ("ROLLCALL__TLS__PLAINTEXT".to_owned(), "true".to_owned()),
            ("ROLLCALL__AUTH__BURST".to_owned(), "7".to_owned()),
            // Another service's section, as one environment serving every service has.
            (
                "ROLLCALL__KAFKA__BROKERS".to_owned(),
                "kafka-1:9092".to_owned(),
            ),
        ];
        let settings: Probe = load_from(None, Some(env.into())).unwrap();
        assert_eq!(settings.database.url, "postgres://db-1/rollcall");
        assert!(settings.tls.plaintext);
        assert_eq!(settings.auth.burst, 7);
        let err = load_from::<Probe>(
            None,
            Some(
                [
                    ("ROLLCALL__TLS__PLAINTEXT".to_owned(), "true".to_owned()),
                    ("ROLLCALL__AUTH__BURST".to_owned(), "0".to_owned()),
                ]
                .into(),
            ),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("auth.requests_per_second"),
            "{err}"
        );
    }

    #[test]
    fn shared_sections_are_checked() {
        for (field, change) in [
            (
                "database.url",
                (|s: &mut Probe| s.database.url = "mysql://db".into()) as fn(&mut Probe),
            ),
            ("database.max_connections", |s| {
                s.database.max_connections = 0
            }),
            ("auth.requests_per_second", |s| {
                s.auth.requests_per_second = f64::NAN
            }),
            ("auth.key_valid_days", |s| s.auth.key_valid_days = 0),
            ("auth.jwt", |s| s.auth.jwt.jwks_file = "jwks.json".into()),
        ] {
            let mut settings = local();
            change(&mut settings);
            let err = settings.validate().unwrap_err();
            assert!(err.to_string().contains(field), "{field}: {err}");
        }
    }
}
