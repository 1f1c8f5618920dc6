//! The query service LA attendance teams use: a school's DfE measures over a period, the LA's
//! summary with one row per school, pupils at persistent or severe absence, and the school
//! registry. Counts come from PostgreSQL per enrolment and code; the DfE measures and thresholds
//! are applied by the domain crate, so every service agrees to the session.

mod grpc;
mod measures;

use anyhow::Context as _;
use rollcall_proto::query::v1::{
    query_service_server::QueryServiceServer, registry_service_server::RegistryServiceServer,
};
use rollcall_server::Settings;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub async fn run(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let listener = TcpListener::bind(settings.query.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.query.listen))?;
    serve(settings, listener, shutdown).await
}

pub async fn serve(
    settings: Settings,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let pool = rollcall_db::open(&settings.database.url, settings.database.max_connections)
        .await
        .context("cannot open the database")?;
    let (reporter, health) = rollcall_server::grpc::health();
    let routes =
        tonic::service::Routes::new(QueryServiceServer::new(grpc::Query::new(pool.clone())))
            .add_service(RegistryServiceServer::new(grpc::Registry::new(pool)));
    reporter
        .set_serving::<QueryServiceServer<grpc::Query>>()
        .await;
    reporter
        .set_serving::<RegistryServiceServer<grpc::Registry>>()
        .await;
    rollcall_server::grpc::serve(listener, routes, reporter, health, shutdown).await?;
    Ok(())
}
