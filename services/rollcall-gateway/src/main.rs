//! `rollcall-gateway`: wires config and telemetry, then runs the gateway until SIGTERM.

use clap::Parser;

#[derive(Parser)]
#[command(about = "Rollcall gateway: MIS vendors' feeds in, Kafka out")]
struct Args {
    /// Configuration file (TOML) layered over the embedded defaults.
    #[arg(long, env = "ROLLCALL_CONFIG")]
    config: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let settings = rollcall_server::Settings::load(args.config.as_deref()).unwrap_or_else(|err| {
        eprintln!("rollcall-gateway: {err}");
        std::process::exit(2)
    });
    let _telemetry = rollcall_telemetry::init("rollcall-gateway", &settings.telemetry)?;
    rollcall_gateway::run(settings, rollcall_server::shutdown::on_signal()).await
}
