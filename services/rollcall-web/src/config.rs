//! The dashboard's settings: `[tls]` (its listener's), `[telemetry]` and its own `[web]`: where
//! it listens, the query service it calls with each signed-in user's own credential, its sessions
//! and the identity provider it signs users in with. It reads no `[database]`: it never opens
//! PostgreSQL.

use std::net::SocketAddr;
use std::path::PathBuf;

use rollcall_server::ServiceSettings;
use rollcall_server::config::{ConfigError, TlsConfig};
use rollcall_telemetry::TelemetryConfig;
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub tls: TlsConfig,
    pub telemetry: TelemetryConfig,
    pub web: WebConfig,
}

#[derive(Clone, Debug, Deserialize)]
pub struct WebConfig {
    pub listen: SocketAddr,
    /// The operations listener: `/metrics`, `/healthz`, `/readyz` (plain HTTP, no data).
    pub ops_listen: SocketAddr,
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
        let web = &self.web;
        self.tls.check_listener("web.listen", web.listen)?;
        let public = web.public_url();
        if !public.starts_with("https://") && !is_loopback_http(&public) {
            return Err(ConfigError::invalid(
                "web.public_url",
                "must be https:// (plain http:// only to a loopback address, for local use)",
            ));
        }
        if !web.query_url.starts_with("https://") && !is_loopback_http(&web.query_url) {
            return Err(ConfigError::invalid(
                "web.query_url",
                "must be https:// (plain http:// only to a loopback address, for local use)",
            ));
        }
        if web.idle_timeout_secs == 0 {
            return Err(ConfigError::invalid(
                "web.idle_timeout_secs",
                "must be at least 1",
            ));
        }
        let oidc = &web.oidc;
        if !oidc.issuer.is_empty()
            && (oidc.client_id.is_empty()
                || !oidc.scopes.split_whitespace().any(|s| s == "openid")
                || !(oidc.issuer.starts_with("https://") || is_loopback_http(&oidc.issuer)))
        {
            return Err(ConfigError::invalid(
                "web.oidc",
                "an https:// issuer (http:// only on loopback), a client_id and the openid scope are required",
            ));
        }
        Ok(())
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
}
