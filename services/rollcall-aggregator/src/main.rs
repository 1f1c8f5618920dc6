//! `rollcall-aggregator`: the shared service main (config, telemetry, SIGTERM) around [`rollcall_aggregator::run`].

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    rollcall_server::service::main::<rollcall_aggregator::Settings, _, _>(
        "rollcall-aggregator",
        rollcall_aggregator::run,
    )
    .await
}
