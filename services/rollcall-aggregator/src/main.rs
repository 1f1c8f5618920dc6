//! `rollcall-aggregator`: wires config and telemetry, then runs the aggregation worker until SIGTERM.

use clap::Parser;

#[derive(Parser)]
#[command(about = "Rollcall aggregator: validated feeds in, PostgreSQL views out")]
struct Args {
    /// Configuration file (TOML) layered over the embedded defaults.
    #[arg(long, env = "ROLLCALL_CONFIG")]
    config: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let settings = rollcall_server::Settings::load(args.config.as_deref()).unwrap_or_else(|err| {
        eprintln!("rollcall-aggregator: {err}");
        std::process::exit(2)
    });
    let _telemetry = rollcall_telemetry::init("rollcall-aggregator", &settings.telemetry)?;
    rollcall_aggregator::run(settings, rollcall_server::shutdown::on_signal()).await
}
