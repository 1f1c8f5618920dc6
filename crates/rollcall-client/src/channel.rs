//! Reaching a service: the endpoint (with TLS for `https://` addresses, a client certificate for
//! a vendor on mutual TLS) and a channel that sends the caller's bearer token with every call.

use std::path::{Path, PathBuf};

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::{Error, Result};

/// A channel that sends the caller's bearer token with every call.
pub type AuthChannel = InterceptedService<Channel, Bearer>;

/// Adds `authorization: Bearer <token>` to each call (nothing when there is no token: a vendor
/// on mutual TLS is identified by its certificate).
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// How to reach and prove who we are to a service.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    /// An API key (`rc_...`) or a signed token.
    pub token: Option<String>,
    /// PEM CA certificate that signed the server's certificate (for `https://` addresses).
    pub ca_cert: Option<PathBuf>,
    /// PEM client certificate and key, for a vendor on mutual TLS.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

impl Credentials {
    pub fn token(token: impl Into<String>) -> Credentials {
        Credentials {
            token: Some(token.into()),
            ..Credentials::default()
        }
    }
}

/// A channel carrying `token` (when there is one).
pub fn with_token(channel: Channel, token: Option<&str>) -> Result<AuthChannel> {
    let value = token
        .map(|t| {
            format!("Bearer {t}")
                .parse::<MetadataValue<Ascii>>()
                .map_err(|_| Error::TokenNotAscii)
        })
        .transpose()?;
    Ok(InterceptedService::new(channel, Bearer(value)))
}

/// The endpoint for `url` with TLS set up from `credentials` when the address is `https://`.
pub fn endpoint(url: &str, credentials: &Credentials) -> Result<Endpoint> {
    let mut endpoint =
        Endpoint::from_shared(url.to_owned()).map_err(|_| Error::InvalidAddress(url.to_owned()))?;
    if url.starts_with("https://") {
        let read = |path: &Path| std::fs::read(path).map_err(|err| Error::file("read", path, err));
        let mut tls = ClientTlsConfig::new();
        if let Some(ca) = &credentials.ca_cert {
            tls = tls.ca_certificate(Certificate::from_pem(read(ca)?));
        }
        match (&credentials.client_cert, &credentials.client_key) {
            (Some(cert), Some(key)) => {
                tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
            }
            (None, None) => {}
            _ => return Err(Error::ClientCertificateHalf),
        }
        endpoint = endpoint
            .tls_config(tls)
            .map_err(|err| Error::Tls(err.to_string()))?;
    }
    Ok(endpoint)
}

/// Connects to `url` with `credentials`.
pub async fn connect(url: &str, credentials: &Credentials) -> Result<AuthChannel> {
    let channel = endpoint(url, credentials)?.connect().await.map_err(|err| {
        // The transport nests the same words several times; its innermost cause says it all.
        let mut cause: &dyn std::error::Error = &err;
        while let Some(source) = cause.source() {
            cause = source;
        }
        Error::Connect {
            url: url.to_owned(),
            cause: lowercase_first(&cause.to_string()),
        }
    })?;
    with_token(channel, credentials.token.as_deref())
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
