//! `rollcall-validator`: the shared service main (config, telemetry, SIGTERM) around [`rollcall_validator::run`].

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    rollcall_server::service::main::<rollcall_validator::Settings, _, _>(
        "rollcall-validator",
        rollcall_validator::run,
    )
    .await
}
