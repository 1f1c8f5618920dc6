//! `rollcall-query`: the shared service main (config, telemetry, SIGTERM) around [`rollcall_query::run`].

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    rollcall_server::service::main::<rollcall_query::Settings, _, _>(
        "rollcall-query",
        rollcall_query::run,
    )
    .await
}
