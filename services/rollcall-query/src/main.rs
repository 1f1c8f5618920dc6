//! `rollcall-query`: wires config and telemetry, then runs the query service until SIGTERM.

use clap::Parser;

#[derive(Parser)]
#[command(about = "Rollcall query: LA summaries, pupils at risk, school registry")]
struct Args {
    /// Configuration file (TOML) layered over the embedded defaults.
    #[arg(long, env = "ROLLCALL_CONFIG")]
    config: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let settings = rollcall_server::Settings::load(args.config.as_deref()).unwrap_or_else(|err| {
        eprintln!("rollcall-query: {err}");
        std::process::exit(2)
    });
    let _telemetry = rollcall_telemetry::init("rollcall-query", &settings.telemetry)?;
    rollcall_query::run(settings, rollcall_server::shutdown::on_signal()).await
}
