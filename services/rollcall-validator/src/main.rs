//! `rollcall-validator`: wires config and telemetry, then runs the validation worker until SIGTERM.

use clap::Parser;

#[derive(Parser)]
#[command(about = "Rollcall validator: feeds in, accepted records and dead letters out")]
struct Args {
    /// Configuration file (TOML) layered over the embedded defaults.
    #[arg(long, env = "ROLLCALL_CONFIG")]
    config: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let settings = rollcall_server::Settings::load(args.config.as_deref()).unwrap_or_else(|err| {
        eprintln!("rollcall-validator: {err}");
        std::process::exit(2)
    });
    let _telemetry = rollcall_telemetry::init("rollcall-validator", &settings.telemetry)?;
    rollcall_validator::run(settings, rollcall_server::shutdown::on_signal()).await
}
