//! The gateway: MIS vendors stream a school's feed in over gRPC; the gateway checks the envelope
//! and size limits, writes the whole feed to Kafka as one message with an idempotent producer, and
//! only then answers with a receipt. The feed id is derived from the school and the sender's
//! idempotency key, so a resend maps to the same feed everywhere downstream. Every call is
//! authenticated, and a sender may send only for the schools it is registered for.

mod admission;
pub mod config;
mod grpc;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use crate::config::Settings;

/// The stream's and the header's rules as pure functions, for the fuzz targets (`fuzz/`): not
/// an API.
#[doc(hidden)]
pub mod envelope {
    pub use crate::grpc::{CheckedHeader, FeedLimits, FeedParts, check_header};
}

/// Binds the configured address and serves until `shutdown`.
pub async fn run(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let listener = TcpListener::bind(settings.gateway.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.gateway.listen))?;
    serve(settings, listener, shutdown).await
}

/// Serves on an already bound listener (tests bind port 0 and read the address).
pub async fn serve(
    settings: Settings,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let pool = rollcall_db::open(&settings.database.url, settings.database.max_connections)
        .await
        .context("cannot open the database")?;
    if settings.kafka.create_topics {
        let topics = &settings.kafka.topics;
        rollcall_kafka::ensure_topics(
            &settings.kafka,
            &[&topics.feeds, &topics.validated, &topics.rejected],
        )
        .await
        .context("cannot create kafka topics")?;
    }
    let producer =
        rollcall_kafka::producer(&settings.kafka).context("cannot create kafka producer")?;

    let guard = rollcall_server::grpc::Guard::new(&settings.tls, &settings.auth, pool.clone())?;
    let (reporter, health) = rollcall_server::grpc::health();
    let service = grpc::Gateway::new(pool, producer, &settings);
    let routes = tonic::service::Routes::new(service.into_server());
    reporter
        .set_serving::<rollcall_proto::feed::v1::feed_service_server::FeedServiceServer<grpc::Gateway>>()
        .await;
    rollcall_server::grpc::serve(listener, routes, reporter, health, guard, shutdown).await?;
    Ok(())
}
