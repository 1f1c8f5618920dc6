//! The `main` every service binary shares: parse `--config`, load and validate the layered
//! configuration (a bad one exits with a one-line message and code 2), hold the telemetry guard,
//! and run the service until SIGTERM or Ctrl-C.

use std::path::PathBuf;

use clap::Parser;
use tokio_util::sync::CancellationToken;

use crate::ServiceSettings;

#[derive(Parser)]
struct Args {
    /// Configuration file (TOML) layered over the embedded defaults; `ROLLCALL__SECTION__KEY`
    /// environment variables override both.
    #[arg(long, env = "ROLLCALL_CONFIG")]
    config: Option<PathBuf>,
}

/// Runs the service `name` (e.g. `rollcall-gateway`) with `run(settings, shutdown)`, its settings
/// loaded as `S`.
pub async fn main<S, F, Fut>(name: &'static str, run: F) -> anyhow::Result<()>
where
    S: ServiceSettings,
    F: FnOnce(S, CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let args = Args::parse();
    let settings = crate::config::load::<S>(args.config.as_deref()).unwrap_or_else(|err| {
        eprintln!("{name}: {err}");
        std::process::exit(2)
    });
    let _telemetry = rollcall_telemetry::init(name, settings.telemetry())?;
    run(settings, crate::shutdown::on_signal()).await
}
