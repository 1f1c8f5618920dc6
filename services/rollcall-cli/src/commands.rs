//! Each command: call the service, then print its answer (rendered by `render`) as text or, with
//! `--json`, as JSON. One module per group of subcommands.

mod audit;
mod bulk;
mod conformance;
mod dead_letters;
mod demo;
mod export;
mod keys;
mod pupil;
mod query;
mod replay;
mod schools;
mod status;
mod submit;
mod synth;

use rollcall_client::{AuthChannel, Credentials};
use rollcall_synth::LaSpec;
use serde_json::Value;

use crate::args::{Cli, Command, FeedsCommand};

/// What every command is run with: where the services are, who we are, how to print.
pub struct Context {
    json: bool,
    credentials: Credentials,
    gateway: String,
    query: String,
}

impl Context {
    /// A channel to the gateway (feeds and receipts).
    /// The gateway's address, as given.
    fn gateway_url(&self) -> &str {
        &self.gateway
    }

    async fn gateway(&self) -> rollcall_client::Result<AuthChannel> {
        rollcall_client::connect(&self.gateway, &self.credentials).await
    }

    /// A channel to the query service (queries, exports, the registry, keys, the audit trail).
    async fn query(&self) -> rollcall_client::Result<AuthChannel> {
        rollcall_client::connect(&self.query, &self.credentials).await
    }

    /// Prints `value` as JSON with `--json`, else `text`.
    fn print(&self, value: Value, text: impl FnOnce() -> String) {
        if self.json {
            println!("{}", crate::render::pretty(&value));
        } else {
            print!("{}", text());
        }
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let context = Context {
        json: cli.json,
        credentials: Credentials {
            token: cli.token,
            ca_cert: cli.ca_cert,
            client_cert: cli.client_cert,
            client_key: cli.client_key,
        },
        gateway: cli.gateway,
        query: cli.query,
    };
    let context = &context;
    match cli.command {
        Command::Schools(command) => schools::run(context, command).await,
        Command::Submit(args) => submit::submit(context, args).await,
        Command::Receipt { feed_id, wait } => submit::receipt(context, feed_id, wait).await,
        Command::Feeds(FeedsCommand::List {
            school,
            since,
            until,
        }) => submit::list(context, school, since, until).await,
        Command::Feeds(FeedsCommand::Watch { resume_from, since }) => {
            submit::watch(context, resume_from, since).await
        }
        Command::Feeds(FeedsCommand::Findings { feed_id, code }) => {
            submit::findings(context, &feed_id, code.as_deref()).await
        }
        Command::Query(command) => query::run(context, command).await,
        Command::Pupil(command) => pupil::run(context, command).await,
        Command::Export(command) => export::run(context, command).await,
        Command::Keys(command) => keys::run(context, command).await,
        Command::Vendors(command) => keys::vendors(context, command).await,
        Command::Status { what } => status::run(context, what).await,
        Command::DeadLetters(command) => dead_letters::dead_letters(context, command).await,
        Command::Parked(command) => dead_letters::parked(context, command).await,
        Command::Replay(args) => replay::run(context, args).await,
        Command::Audit { since, limit } => audit::run(context, since, limit).await,
        Command::Reconcile {
            school,
            from,
            to,
            against,
        } => conformance::reconcile(context, &school, &from, &to, against.as_deref()).await,
        Command::Conformance { school, pack } => {
            conformance::run(context, &school, pack.as_deref()).await
        }
        Command::Demo(args) => demo::run(context, args).await,
        Command::Synth { spec, out } => synth::run(context, spec_named(&spec), &out),
    }
}

fn spec_named(name: &str) -> LaSpec {
    match name {
        "small" => LaSpec::small(),
        _ => LaSpec::demo(),
    }
}
