//! gRPC server assembly: the service's routes plus the standard health service and reflection,
//! behind TLS and the authentication layer, served on a bound listener until the shutdown token
//! is cancelled.

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic_health::server::HealthReporter;

use rollcall_telemetry::metrics::Metrics;

use crate::auth::{AuthLayer, Authenticator};
use crate::calls::CallMetrics;
use crate::config::{AuthConfig, TlsConfig};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot build reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("grpc server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("cannot set up authentication: {0}")]
    Auth(String),
}

/// Health reporting for a server: mark each service serving once it is ready.
pub fn health() -> (
    HealthReporter,
    tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health>,
) {
    tonic_health::server::health_reporter()
}

/// What guards a server: TLS (unless plaintext was chosen for local use) and the authentication
/// layer, whose keys live in `pool` and which counts every call into `metrics`.
pub struct Guard {
    tls: Option<tonic::transport::ServerTlsConfig>,
    auth: AuthLayer,
}

impl Guard {
    pub fn new(
        tls: &TlsConfig,
        auth: &AuthConfig,
        pool: rollcall_db::Pool,
        metrics: &Metrics,
    ) -> Result<Guard, ServeError> {
        let authenticator = Authenticator::new(pool, auth).map_err(ServeError::Auth)?;
        let vendor_certificates = crate::tls::vendor_certificates(tls);
        let tls = crate::tls::server_config(tls)?;
        Ok(Guard {
            tls,
            auth: AuthLayer::new(
                authenticator,
                vendor_certificates,
                CallMetrics::new(metrics),
            ),
        })
    }
}

/// Serves `routes`, the health service and reflection on `listener` until `shutdown` fires, then
/// drains in-flight calls. Every call but health and reflection passes the authentication layer.
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    reporter: HealthReporter,
    health_service: tonic_health::pb::health_server::HealthServer<
        impl tonic_health::pb::health_server::Health,
    >,
    guard: Guard,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(rollcall_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let routes = routes.add_service(health_service).add_service(reflection);
    let local = listener.local_addr().ok();
    let mut builder = tonic::transport::Server::builder();
    let tls = guard.tls.is_some();
    if let Some(config) = guard.tls {
        builder = builder.tls_config(config)?;
    }
    tracing::info!(addr = ?local, tls, "grpc server listening");
    builder
        .layer(guard.auth)
        .add_routes(routes)
        // Without TCP_NODELAY a small response waits for the client's delayed ACK (about 40 ms):
        // tonic sets it only on listeners it binds itself.
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            async move {
                shutdown.cancelled().await;
                // Tell load balancers first, then stop accepting.
                drop(reporter);
            },
        )
        .await?;
    tracing::info!(addr = ?local, "grpc server stopped");
    Ok(())
}
