//! `rollcall-bench`: parses the scale, runs the benchmark, prints the table and saves the JSON.

use clap::Parser;

#[derive(Parser)]
#[command(about = "Benchmark the Rollcall pipeline against the COPY and broker floors")]
struct Args {
    /// The synthetic LA to send.
    #[arg(long, value_enum, default_value_t = rollcall_bench::Scale::Small)]
    scale: rollcall_bench::Scale,
    /// Concurrent vendor streams to the gateway.
    #[arg(long, default_value_t = 4)]
    streams: usize,
    /// Validator instances (one consumer group; the partitions are shared out).
    #[arg(long, default_value_t = 1)]
    validators: usize,
    /// Aggregator instances (one consumer group; the partitions are shared out).
    #[arg(long, default_value_t = 1)]
    aggregators: usize,
    /// Requests per query kind for the latency figures.
    #[arg(long, default_value_t = 50)]
    queries: usize,
    /// Seconds to wait for every feed to be processed.
    #[arg(long, default_value_t = 1800)]
    timeout: u64,
    /// Where the JSON results go.
    #[arg(long, default_value = "bench/results")]
    out: std::path::PathBuf,
    /// The benchmark's database (dropped and created afresh).
    #[arg(
        long,
        default_value = "postgres://postgres@127.0.0.1:5432/rollcall_bench"
    )]
    database_url: String,
    /// Export every service's spans over OTLP to a receiver of the benchmark's and scrape every
    /// service's /metrics once a second: what watching the pipeline costs, against a run without.
    #[arg(long)]
    telemetry: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let options = rollcall_bench::Options {
        scale: args.scale,
        streams: args.streams.max(1),
        validators: args.validators.max(1),
        aggregators: args.aggregators.max(1),
        queries: args.queries.max(1),
        timeout: std::time::Duration::from_secs(args.timeout),
        out: args.out,
        database_url: args.database_url,
        telemetry: args.telemetry,
    };
    // On Ctrl-C or SIGTERM the run is dropped, and with it the guard that stops its processes.
    let outcome = tokio::select! {
        outcome = rollcall_bench::run(options) => outcome,
        signal = interrupted() => Err(signal.map_or_else(Into::into, |()| anyhow::anyhow!("interrupted"))),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn interrupted() -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result,
        _ = term.recv() => Ok(()),
    }
}
