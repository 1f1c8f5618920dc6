//! `rollcall`: the command-line client for vendors, independent schools, LA teams and operators.

mod commands;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "rollcall",
    about = "Rollcall: school attendance feeds and LA queries",
    version
)]
pub struct Cli {
    /// The gateway (feed submission and receipts).
    #[arg(
        long,
        global = true,
        env = "ROLLCALL_GATEWAY",
        default_value = "http://127.0.0.1:50051"
    )]
    pub gateway: String,
    /// The query service (LA queries and the school registry).
    #[arg(
        long,
        global = true,
        env = "ROLLCALL_QUERY",
        default_value = "http://127.0.0.1:50052"
    )]
    pub query: String,
    /// Machine-readable output of the same data.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// The LA's school registry.
    #[command(subcommand)]
    Schools(SchoolsCommand),
    /// Send one school's roll and marks (CSV) to the gateway.
    Submit {
        /// The school's six-digit URN.
        #[arg(long)]
        school: String,
        #[arg(long)]
        roll: std::path::PathBuf,
        #[arg(long)]
        marks: std::path::PathBuf,
        /// Idempotency key; defaults to a hash of the two files, so re-sending them is a no-op.
        #[arg(long)]
        key: Option<String>,
        /// When the register was extracted (RFC 3339); defaults to now.
        #[arg(long)]
        extracted_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// A feed's receipt and validation outcome.
    Receipt {
        feed_id: String,
        /// Wait up to this many seconds for the pipeline to process the feed.
        #[arg(long)]
        wait: Option<u64>,
    },
    /// What LA attendance teams ask.
    #[command(subcommand)]
    Query(QueryCommand),
    /// Generate a synthetic LA, send it through the gateway as vendors would, and summarise it.
    Demo {
        #[arg(long, default_value = "demo", value_parser = ["demo", "small"])]
        spec: String,
        /// Concurrent vendor streams.
        #[arg(long, default_value_t = 4)]
        streams: usize,
        /// Seconds to wait for the pipeline to process every feed.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Write a synthetic LA as CSV files, to try `schools import` and `submit` by hand.
    Synth {
        #[arg(long, default_value = "small", value_parser = ["demo", "small"])]
        spec: String,
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
pub enum SchoolsCommand {
    /// Import schools from CSV (urn,la_code,name,phase,school_type,independent).
    Import { file: std::path::PathBuf },
    /// List registered schools.
    List {
        #[arg(long)]
        la: Option<String>,
    },
}

#[derive(Args, Clone)]
pub struct PeriodArgs {
    /// First day, YYYY-MM-DD (default: start of the academic year).
    #[arg(long)]
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD (default: today).
    #[arg(long)]
    pub to: Option<String>,
}

#[derive(Subcommand)]
pub enum QueryCommand {
    /// One school's DfE measures.
    School {
        urn: String,
        #[command(flatten)]
        period: PeriodArgs,
    },
    /// One row per school in the LA, then the LA total.
    La {
        code: String,
        #[command(flatten)]
        period: PeriodArgs,
    },
    /// Pupils at persistent (10%+) or, with --severe, severe (50%+) absence.
    AtRisk {
        #[arg(long, conflicts_with = "school", required_unless_present = "school")]
        la: Option<String>,
        #[arg(long)]
        school: Option<String>,
        #[arg(long)]
        severe: bool,
        #[command(flatten)]
        period: PeriodArgs,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(err) = commands::run(cli).await {
        eprintln!("rollcall: {err:#}");
        std::process::exit(1);
    }
}
