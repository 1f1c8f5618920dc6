//! `rollcall`: the command-line client for vendors, independent schools, LA teams and operators.

mod args;
mod commands;
mod progress;
mod render;

use clap::Parser as _;

#[tokio::main]
async fn main() {
    let cli = args::Cli::parse();
    if let Err(err) = commands::run(cli).await {
        eprintln!("rollcall: {err:#}");
        std::process::exit(1);
    }
}
