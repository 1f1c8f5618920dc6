//! TLS for every listener (rustls through tonic), and mutual TLS for MIS vendors: a client
//! certificate issued by the configured vendor CA identifies the vendor by its subject common
//! name.

use tonic::transport::{Certificate, Identity, ServerTlsConfig};

use crate::config::TlsConfig;

#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {source}")]
pub struct TlsError {
    path: String,
    source: std::io::Error,
}

/// The server's TLS configuration; `None` when plaintext was chosen for local use.
pub fn server_config(tls: &TlsConfig) -> Result<Option<ServerTlsConfig>, TlsError> {
    if tls.plaintext {
        return Ok(None);
    }
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|source| TlsError {
            path: path.display().to_string(),
            source,
        })
    };
    let mut config =
        ServerTlsConfig::new().identity(Identity::from_pem(read(&tls.cert)?, read(&tls.key)?));
    if !tls.client_ca.as_os_str().is_empty() {
        // Optional: callers with an API key or a signed token need no certificate.
        config = config
            .client_ca_root(Certificate::from_pem(read(&tls.client_ca)?))
            .client_auth_optional(true);
    }
    Ok(Some(config))
}

/// Whether client certificates identify vendors (a vendor CA is configured and TLS is on).
pub fn vendor_certificates(tls: &TlsConfig) -> bool {
    !tls.plaintext && !tls.client_ca.as_os_str().is_empty()
}

/// The vendor a verified client certificate (DER) names: its subject common name, when it is a
/// well-formed vendor name.
pub fn vendor_of(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = cert.subject().iter_common_name().next()?.as_str().ok()?;
    crate::auth::check_new_key("vendor", cn).ok()
}
