//! Layered configuration: embedded defaults, then an optional file, then `ROLLCALL__SECTION__KEY`
//! environment variables, then `validate`. Values are passed explicitly, never read globally.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

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
    pub validator: BatchConfig,
    pub aggregator: AggregatorConfig,
    pub tls: TlsConfig,
    pub auth: AuthConfig,
    pub web: WebConfig,
    pub telemetry: TelemetryConfig,
}

/// The web dashboard (`rollcall-web`): where it listens, the query service it calls with each
/// signed-in user's own credential, its sessions and the identity provider it signs users in with.
#[derive(Clone, Debug, Deserialize)]
pub struct WebConfig {
    pub listen: SocketAddr,
    /// The address users reach the dashboard at (behind a proxy, its address); the OIDC redirect
    /// goes back to it. Empty: `http://` and `listen`, which is accepted only on loopback.
    pub public_url: String,
    /// The query service, `http://` (plaintext, local use) or `https://`.
    pub query_url: String,
    /// PEM CA certificate of the query service's TLS certificate when it is private; empty: the
    /// system's roots.
    pub query_ca_cert: PathBuf,
    /// A session unused for this long is ended, and its user signs in again.
    pub idle_timeout_secs: u64,
    pub oidc: OidcConfig,
}

/// Sign-in with the LA's identity provider (OpenID Connect, authorisation-code flow with PKCE).
/// Off while `issuer` is empty; API keys can always sign in.
#[derive(Clone, Deserialize)]
pub struct OidcConfig {
    /// The issuer's URL; its `/.well-known/openid-configuration` names the endpoints.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Space-separated, `openid` among them.
    pub scopes: String,
}

impl std::fmt::Debug for OidcConfig {
    /// The client secret is left out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl WebConfig {
    /// `public_url` as configured, or the listen address over `http://`; without a trailing `/`.
    pub fn public_url(&self) -> String {
        if self.public_url.trim().is_empty() {
            format!("http://{}", self.listen)
        } else {
            self.public_url.trim().trim_end_matches('/').to_owned()
        }
    }
}

/// Whether `url` is `http://` to a loopback host (127.0.0.0/8, `localhost`, `[::1]`).
fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// TLS for every gRPC listener.
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

#[derive(Clone, Debug, Deserialize)]
pub struct AuthConfig {
    pub key_valid_days: u32,
    pub requests_per_second: f64,
    pub burst: u32,
    pub jwt: JwtConfig,
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
    /// DfE-style exports write `c` in every figure of a row counting fewer enrolments than
    /// this (and in a second row where one alone could be worked out from the total).
    pub suppress_below_enrolments: u64,
}

/// How a worker takes feeds off its topic in batches: the validator writes a batch's outputs
/// all in flight at once, the aggregator applies a batch in one transaction, and each commits
/// the batch's offsets once, after that.
#[derive(Clone, Debug, Deserialize)]
pub struct BatchConfig {
    /// The most feeds in a batch (1: one at a time).
    pub batch_max_feeds: usize,
    /// How long a batch waits for more feeds after its first arrived, in milliseconds.
    pub batch_linger_ms: u64,
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
}

impl AggregatorConfig {
    pub fn batching(&self) -> BatchConfig {
        BatchConfig {
            batch_max_feeds: self.batch_max_feeds,
            batch_linger_ms: self.batch_linger_ms,
        }
    }
}

/// The most attempts before parking that `validate` accepts.
const MAX_PARK_AFTER_ATTEMPTS: u32 = 100;
/// The largest batch and the longest linger `validate` accepts.
const MAX_BATCH_FEEDS: usize = 1000;
const MAX_BATCH_LINGER_MS: u64 = 10_000;

impl Settings {
    /// Defaults, then `file` when given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_from(
            file,
            config::Environment::with_prefix("ROLLCALL").separator("__"),
        )
    }

    /// The embedded defaults alone: what tests start from before setting their own values. They
    /// name no TLS certificate, so they pass `validate` only once TLS (or, for local use,
    /// plaintext) is configured.
    pub fn defaults() -> Settings {
        config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml))
            .build()
            .and_then(config::Config::try_deserialize)
            .expect("embedded defaults are valid")
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
        if self.tls.plaintext {
            for (field, addr) in [
                ("gateway.listen", self.gateway.listen),
                ("query.listen", self.query.listen),
                ("web.listen", self.web.listen),
            ] {
                if !addr.ip().is_loopback() {
                    return Err(ConfigError::Invalid {
                        field,
                        rule: format!(
                            "{addr} is not a loopback address: plaintext is for local use only; configure tls.cert and tls.key"
                        ),
                    });
                }
            }
        } else if self.tls.cert.as_os_str().is_empty() || self.tls.key.as_os_str().is_empty() {
            return invalid(
                "tls.cert",
                "tls.cert and tls.key are required (or tls.plaintext = true for local use)",
            );
        }
        let rate = self.auth.requests_per_second;
        if rate.is_nan() || rate <= 0.0 || self.auth.burst == 0 {
            return invalid("auth.requests_per_second", "rate limits must be positive");
        }
        for (batching, max_feeds, linger) in [
            (
                self.validator.clone(),
                "validator.batch_max_feeds",
                "validator.batch_linger_ms",
            ),
            (
                self.aggregator.batching(),
                "aggregator.batch_max_feeds",
                "aggregator.batch_linger_ms",
            ),
        ] {
            if batching.batch_max_feeds == 0 || batching.batch_max_feeds > MAX_BATCH_FEEDS {
                return Err(ConfigError::Invalid {
                    field: max_feeds,
                    rule: format!("must be between 1 and {MAX_BATCH_FEEDS}"),
                });
            }
            if batching.batch_linger_ms > MAX_BATCH_LINGER_MS {
                return Err(ConfigError::Invalid {
                    field: linger,
                    rule: format!("must be at most {MAX_BATCH_LINGER_MS}"),
                });
            }
        }
        if self.aggregator.lanes == 0 || self.aggregator.lanes > MAX_BATCH_FEEDS {
            return Err(ConfigError::Invalid {
                field: "aggregator.lanes",
                rule: format!("must be between 1 and {MAX_BATCH_FEEDS}"),
            });
        }
        let attempts = self.aggregator.park_after_attempts;
        if attempts == 0 || attempts > MAX_PARK_AFTER_ATTEMPTS {
            return Err(ConfigError::Invalid {
                field: "aggregator.park_after_attempts",
                rule: format!("must be between 1 and {MAX_PARK_AFTER_ATTEMPTS}"),
            });
        }
        if self.auth.key_valid_days == 0 {
            return invalid("auth.key_valid_days", "must be at least 1");
        }
        let jwt = &self.auth.jwt;
        if !jwt.jwks_file.as_os_str().is_empty()
            && (jwt.issuer.is_empty() || jwt.audience.is_empty() || jwt.la_claim.is_empty())
        {
            return invalid(
                "auth.jwt",
                "issuer, audience and la_claim are required with a jwks_file",
            );
        }
        let web = &self.web;
        let public = web.public_url();
        if !public.starts_with("https://") && !is_loopback_http(&public) {
            return invalid(
                "web.public_url",
                "must be https:// (plain http:// only to a loopback address, for local use)",
            );
        }
        if !web.query_url.starts_with("https://") && !is_loopback_http(&web.query_url) {
            return invalid(
                "web.query_url",
                "must be https:// (plain http:// only to a loopback address, for local use)",
            );
        }
        if web.idle_timeout_secs == 0 {
            return invalid("web.idle_timeout_secs", "must be at least 1");
        }
        let oidc = &web.oidc;
        if !oidc.issuer.is_empty()
            && (oidc.client_id.is_empty()
                || !oidc.scopes.split_whitespace().any(|s| s == "openid")
                || !(oidc.issuer.starts_with("https://") || is_loopback_http(&oidc.issuer)))
        {
            return invalid(
                "web.oidc",
                "an https:// issuer (http:// only on loopback), a client_id and the openid scope are required",
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
        settings.query.listen = "0.0.0.0:50052".parse().unwrap();
        let err = settings.validate().unwrap_err();
        assert!(err.to_string().contains("query.listen"), "{err}");
    }

    #[test]
    fn environment_overrides_defaults() {
        let env = config::Environment::with_prefix("ROLLCALL")
            .separator("__")
            .source(Some(
                [
                    (
                        "ROLLCALL__KAFKA__BROKERS".to_owned(),
                        "kafka-1:9092".to_owned(),
                    ),
                    ("ROLLCALL__TLS__PLAINTEXT".to_owned(), "true".to_owned()),
                ]
                .into(),
            ));
        let settings = Settings::load_from(None, env).unwrap();
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

    #[test]
    fn the_web_dashboard_speaks_plain_http_only_on_loopback() {
        let settings = local();
        assert_eq!(settings.web.public_url(), "http://127.0.0.1:8080");
        assert!(format!("{:?}", settings.web.oidc).contains("client_id"));
        let mut secret = local();
        secret.web.oidc.client_secret = "s3cret-value".into();
        assert!(!format!("{:?}", secret.web).contains("s3cret-value"));
        for (field, change) in [
            (
                "web.public_url",
                (|s: &mut Settings| s.web.public_url = "http://rollcall.example.org".into())
                    as fn(&mut Settings),
            ),
            ("web.query_url", |s| {
                s.web.query_url = "http://10.0.0.5:50052".into()
            }),
            ("web.idle_timeout_secs", |s| s.web.idle_timeout_secs = 0),
            ("web.oidc", |s| {
                s.web.oidc.issuer = "http://idp.example.org".into()
            }),
            ("web.listen", |s| {
                s.web.listen = "0.0.0.0:8080".parse().unwrap()
            }),
        ] {
            let mut settings = local();
            change(&mut settings);
            let err = settings.validate().unwrap_err();
            assert!(err.to_string().contains(field), "{field}: {err}");
        }
        let mut behind_proxy = local();
        behind_proxy.web.public_url = "https://rollcall.example.org/".into();
        behind_proxy.web.oidc.issuer = "https://idp.example.org".into();
        behind_proxy.web.oidc.client_id = "rollcall".into();
        behind_proxy.validate().unwrap();
        assert_eq!(
            behind_proxy.web.public_url(),
            "https://rollcall.example.org"
        );
        let mut on_localhost = local();
        on_localhost.web.oidc.issuer = "http://localhost:9000".into();
        on_localhost.web.oidc.client_id = "rollcall".into();
        on_localhost.validate().unwrap();
    }

    #[test]
    fn worker_batches_are_bounded() {
        let settings = local();
        assert_eq!(settings.validator.batch_max_feeds, 16);
        assert_eq!(settings.validator.batch_linger_ms, 5);
        assert_eq!(settings.aggregator.batch_max_feeds, 16);
        assert_eq!(settings.aggregator.batch_linger_ms, 20);
        type Set = fn(&mut Settings, usize, u64);
        let workers: [(&str, Set); 2] = [
            ("validator", |s, feeds, linger| {
                s.validator.batch_max_feeds = feeds;
                s.validator.batch_linger_ms = linger;
            }),
            ("aggregator", |s, feeds, linger| {
                s.aggregator.batch_max_feeds = feeds;
                s.aggregator.batch_linger_ms = linger;
            }),
        ];
        for (worker, set) in workers {
            for (feeds, linger, field) in [
                (0, 20, "batch_max_feeds"),
                (1001, 20, "batch_max_feeds"),
                (16, 10_001, "batch_linger_ms"),
            ] {
                let mut settings = local();
                set(&mut settings, feeds, linger);
                let err = settings.validate().unwrap_err();
                assert!(
                    err.to_string().contains(&format!("{worker}.{field}")),
                    "{err}"
                );
            }
            let mut one_at_a_time = local();
            set(&mut one_at_a_time, 1, 0);
            one_at_a_time.validate().unwrap();
        }
    }

    #[test]
    fn parking_needs_at_least_one_attempt() {
        assert_eq!(local().aggregator.park_after_attempts, 5);
        for (attempts, valid) in [(0, false), (1, true), (100, true), (101, false)] {
            let mut settings = local();
            settings.aggregator.park_after_attempts = attempts;
            assert_eq!(settings.validate().is_ok(), valid, "{attempts} attempts");
        }
    }
}
