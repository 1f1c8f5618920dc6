//! The query service LA attendance teams use: a school's DfE measures over a period, the LA's
//! summary with one row per school, pupils at persistent or severe absence, and the school
//! registry, and the exports (the DfE year-to-date layout, a pupil-session extract, the census
//! termly summary). Counts come from PostgreSQL per enrolment and code; the DfE measures and thresholds
//! are applied by the domain crate, so every service agrees to the session. It also serves key
//! management (admins), pipeline counts (operations) and the audit trail of pupil-level reads (LAs and schools).

pub mod config;
mod explain;
mod export;
mod figures;
mod grpc;
mod grpc_admin;
mod grpc_export;
mod grpc_lists;
mod grpc_pipeline;
mod grpc_pupil;
mod measures;
mod period;
mod quiet;
mod scope;
mod timeline;

use anyhow::Context as _;
use rollcall_proto::admin::v1::key_service_server::KeyServiceServer;
use rollcall_proto::export::v1::export_service_server::ExportServiceServer;
use rollcall_proto::query::v1::{
    audit_service_server::AuditServiceServer, pipeline_service_server::PipelineServiceServer,
    query_service_server::QueryServiceServer, registry_service_server::RegistryServiceServer,
};
use rollcall_server::ops::{self, Listeners, Readiness};
use rollcall_telemetry::metrics::Metrics;
use tokio_util::sync::CancellationToken;

pub use crate::config::Settings;

/// Binds the configured addresses and serves until `shutdown`.
pub async fn run(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let listeners = Listeners::bind(settings.query.listen, settings.query.ops_listen).await?;
    serve(settings, listeners, shutdown).await
}

/// Serves gRPC and the operations listener (`/metrics`, `/healthz`, `/readyz`) on already bound
/// listeners (tests bind port 0 and read the addresses).
pub async fn serve(
    settings: Settings,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let pool = rollcall_db::open(&settings.database.url, settings.database.max_connections)
        .await
        .context("cannot open the database")?;
    let metrics = Metrics::new();
    let readiness = Readiness::new().database(pool.clone());
    let _ops = ops::spawn(listeners.ops, metrics.clone(), readiness, &shutdown);
    let _quiet = quiet::spawn(pool.clone(), &metrics, &shutdown);
    let guard =
        rollcall_server::grpc::Guard::new(&settings.tls, &settings.auth, pool.clone(), &metrics)?;
    let (reporter, health) = rollcall_server::grpc::health();
    let routes =
        tonic::service::Routes::new(QueryServiceServer::new(grpc::Query::new(pool.clone())))
            .add_service(RegistryServiceServer::new(grpc::Registry::new(
                pool.clone(),
            )))
            .add_service(AuditServiceServer::new(grpc_admin::Audit::new(
                pool.clone(),
            )))
            .add_service(PipelineServiceServer::new(grpc_pipeline::Pipeline::new(
                pool.clone(),
            )))
            .add_service(ExportServiceServer::new(grpc_export::Export::new(
                pool.clone(),
                rollcall_domain::ees::Suppression {
                    below_enrolments: settings.query.suppress_below_enrolments,
                },
            )))
            .add_service(KeyServiceServer::new(grpc_admin::Keys::new(
                pool,
                settings.auth.key_valid_days,
            )));
    reporter
        .set_serving::<QueryServiceServer<grpc::Query>>()
        .await;
    reporter
        .set_serving::<RegistryServiceServer<grpc::Registry>>()
        .await;
    reporter
        .set_serving::<AuditServiceServer<grpc_admin::Audit>>()
        .await;
    reporter
        .set_serving::<KeyServiceServer<grpc_admin::Keys>>()
        .await;
    reporter
        .set_serving::<PipelineServiceServer<grpc_pipeline::Pipeline>>()
        .await;
    reporter
        .set_serving::<ExportServiceServer<grpc_export::Export>>()
        .await;
    rollcall_server::grpc::serve(listeners.api, routes, reporter, health, guard, shutdown).await?;
    Ok(())
}
