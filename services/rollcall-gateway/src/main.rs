//! `rollcall-gateway`: the shared service main (config, telemetry, SIGTERM) around [`rollcall_gateway::run`].

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    rollcall_server::service::main::<rollcall_gateway::Settings, _, _>(
        "rollcall-gateway",
        rollcall_gateway::run,
    )
    .await
}
