//! `rollcall-web`: the shared service main (config, telemetry, SIGTERM) around [`rollcall_web::run`].

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    rollcall_server::service::main::<rollcall_web::Settings, _, _>(
        "rollcall-web",
        rollcall_web::run,
    )
    .await
}
