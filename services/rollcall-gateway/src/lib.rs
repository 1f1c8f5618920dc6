//! The gateway: MIS vendors stream a school's feed in over gRPC; the gateway checks the envelope
//! and size limits, writes the whole feed to Kafka as one message with an idempotent producer, and
//! only then answers with a receipt. The feed id is derived from the school and the sender's
//! idempotency key, so a resend maps to the same feed everywhere downstream. Every call is
//! authenticated, and a sender may send only for the schools it is registered for.

mod admission;
pub mod config;
mod grpc;
mod grpc_receipts;
mod grpc_reconcile;
mod grpc_watch;
mod metrics;

use anyhow::Context as _;
use rollcall_server::ops::{self, Listeners, Readiness};
use rollcall_telemetry::metrics::Metrics;
use tokio_util::sync::CancellationToken;

pub use crate::config::Settings;

/// The stream's and the header's rules as pure functions, for the fuzz targets (`fuzz/`): not
/// an API.
#[doc(hidden)]
pub mod envelope {
    pub use crate::grpc::{CheckedHeader, FeedLimits, FeedParts, check_header};
}

/// Binds the configured addresses and serves until `shutdown`.
pub async fn run(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let listeners = Listeners::bind(settings.gateway.listen, settings.gateway.ops_listen).await?;
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
    if settings.kafka.create_topics {
        let topics = &settings.kafka.topics;
        rollcall_kafka::ensure_topics(
            &settings.kafka,
            &[&topics.feeds, &topics.validated, &topics.rejected],
        )
        .await
        .context("cannot create kafka topics")?;
    }
    let metrics = Metrics::new();
    let producer = rollcall_kafka::producer(&settings.kafka)
        .context("cannot create kafka producer")?
        .with_metrics(&metrics);
    // Ready when the database answers and the broker knows the feeds topic. The probe only reads
    // metadata (it never joins the group it is named with).
    let broker = rollcall_kafka::Probe::new(
        &settings.kafka,
        &settings.kafka.groups.validator,
        &settings.kafka.topics.feeds,
    )?;
    let readiness = Readiness::new()
        .database(pool.clone())
        .check("broker", broker.readiness());
    let _ops = ops::spawn(listeners.ops, metrics.clone(), readiness, &shutdown);

    let guard =
        rollcall_server::grpc::Guard::new(&settings.tls, &settings.auth, pool.clone(), &metrics)?;
    let (reporter, health) = rollcall_server::grpc::health();
    let answers = grpc_watch::spawn_signal(pool.clone(), &shutdown);
    let service = grpc::Gateway::new(
        pool,
        producer,
        &settings,
        metrics::FeedMetrics::new(&metrics),
        answers,
    );
    let routes = tonic::service::Routes::new(service.into_server());
    reporter
        .set_serving::<rollcall_proto::feed::v1::feed_service_server::FeedServiceServer<grpc::Gateway>>()
        .await;
    rollcall_server::grpc::serve(listeners.api, routes, reporter, health, guard, shutdown).await?;
    Ok(())
}
