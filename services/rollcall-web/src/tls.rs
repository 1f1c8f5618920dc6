//! TLS for the dashboard's own listener, with the same `[tls]` certificate and key as the gRPC
//! services (plain http only when `tls.plaintext` is set, which is accepted only on loopback).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use rollcall_server::config::TlsConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// A handshake that takes longer than this is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Listener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl Listener {
    pub fn new(tcp: TcpListener, tls: &TlsConfig) -> anyhow::Result<Listener> {
        let certs = CertificateDer::pem_file_iter(&tls.cert)
            .with_context(|| format!("cannot read {}", tls.cert.display()))?
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("cannot read {}", tls.cert.display()))?;
        let key = PrivateKeyDer::from_pem_file(&tls.key)
            .with_context(|| format!("cannot read {}", tls.key.display()))?;
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the tls certificate and key do not make a server identity")?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Listener {
            tcp,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }
}

impl axum::serve::Listener for Listener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = match self.tcp.accept().await {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(stream)).await {
                Ok(Ok(tls)) => return (tls, addr),
                Ok(Err(err)) => tracing::debug!(error = %err, "tls handshake failed"),
                Err(_) => tracing::debug!("tls handshake timed out"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
