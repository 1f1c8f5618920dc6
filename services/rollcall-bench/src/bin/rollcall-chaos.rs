//! `rollcall-chaos`: the chaos run (`make chaos`; a short one in `make test`). Exits non-zero when
//! the run under faults differs from the clean run in anything.

use clap::Parser;
use rollcall_bench::chaos::{ChaosOptions, ChaosScale};

#[derive(Parser)]
#[command(
    about = "Send a synthetic LA through Rollcall under random faults and compare every table with a clean run"
)]
struct Args {
    /// How much to send (and the default number of faults).
    #[arg(long, value_enum, default_value_t = ChaosScale::Full)]
    scale: ChaosScale,
    /// The seed of the LA and of the faults; a run's printed seed repeats it. Random when absent.
    #[arg(long)]
    seed: Option<u64>,
    /// Faults to inject (default: 50 at full scale, 6 at short).
    #[arg(long)]
    cycles: Option<usize>,
    /// Seconds PostgreSQL stays down in its outage (default: 60 at full scale, 8 at short).
    #[arg(long)]
    outage_seconds: Option<u64>,
    /// Only this kind of fault (repeatable; the kinds take turns): to repeat one kind.
    #[arg(long, value_enum)]
    only: Vec<rollcall_bench::chaos::FaultKind>,
    /// Concurrent vendor streams.
    #[arg(long, default_value_t = 4)]
    streams: usize,
    /// Validator instances (one consumer group). Two or more stall Tansu 0.6's group
    /// coordinator when one is killed while its group forms (docs/resilience.md).
    #[arg(long, default_value_t = 1)]
    validators: usize,
    /// Aggregator instances (one consumer group); as for validators.
    #[arg(long, default_value_t = 1)]
    aggregators: usize,
    /// Seconds to wait for every feed to be processed.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
    /// Where the results JSON goes.
    #[arg(long, default_value = ".run/chaos")]
    out: std::path::PathBuf,
    /// The PostgreSQL server (databases rollcall_chaos and rollcall_chaos_clean are made on it).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    server_url: String,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let full = args.scale == ChaosScale::Full;
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs())
    });
    let options = ChaosOptions {
        scale: args.scale,
        seed,
        cycles: args.cycles.unwrap_or(if full { 50 } else { 6 }),
        outage: std::time::Duration::from_secs(args.outage_seconds.unwrap_or(if full {
            60
        } else {
            8
        })),
        only: args.only,
        streams: args.streams.max(1),
        validators: args.validators.max(1),
        aggregators: args.aggregators.max(1),
        timeout: std::time::Duration::from_secs(args.timeout),
        out: args.out,
        server_url: args.server_url,
    };
    // On Ctrl-C or SIGTERM the run is dropped, and with it the guards that stop its processes
    // and start PostgreSQL again if it was down.
    let outcome = tokio::select! {
        outcome = rollcall_bench::chaos::run(options) => outcome,
        _ = interrupted() => Err(anyhow::anyhow!("interrupted")),
    };
    match outcome {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("chaos: the run under faults differs from the clean run (seed {seed})");
            std::process::ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("chaos: {err:#} (seed {seed})");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn interrupted() {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
