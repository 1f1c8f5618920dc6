//! The command line: every subcommand, its arguments and their help text.

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
    /// Your credential: an API key (`rc_...`) or, for LA users, a signed token from your identity
    /// provider. Sent as `authorization: Bearer <token>`.
    #[arg(long, global = true, env = "ROLLCALL_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// PEM CA certificate that signed the services' certificates (for https:// addresses).
    #[arg(long, global = true, env = "ROLLCALL_CA_CERT")]
    pub ca_cert: Option<std::path::PathBuf>,
    /// PEM client certificate, for an MIS vendor on mutual TLS (with --client-key).
    #[arg(long, global = true, env = "ROLLCALL_CLIENT_CERT")]
    pub client_cert: Option<std::path::PathBuf>,
    #[arg(long, global = true, env = "ROLLCALL_CLIENT_KEY")]
    pub client_key: Option<std::path::PathBuf>,
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
    Submit(SubmitArgs),
    /// A feed's receipt and validation outcome.
    Receipt {
        feed_id: String,
        /// Wait up to this many seconds for the pipeline to process the feed.
        #[arg(long)]
        wait: Option<u64>,
    },
    /// The feeds a school (or every school you may see) sent.
    #[command(subcommand)]
    Feeds(FeedsCommand),
    /// What LA attendance teams ask.
    #[command(subcommand)]
    Query(QueryCommand),
    /// One pupil across the LA (LA and school users; audited with your purpose).
    #[command(subcommand)]
    Pupil(PupilCommand),
    /// Files for the DfE and for spreadsheets, each with a manifest beside it
    /// (`<file>.manifest.json`: parameters, row count, SHA-256, the time the data was read as of).
    #[command(subcommand)]
    Export(ExportCommand),
    /// How far feeds have got through the pipeline (operations and admin keys): counts, or per
    /// school, per sender, or what is not yet queryable.
    Status {
        #[command(subcommand)]
        what: Option<StatusCommand>,
    },
    /// Records validation rejected, grouped by finding code, sender and school (operations and
    /// admin keys): positions, fields and rules, never a value sent.
    #[command(subcommand, name = "dead-letters")]
    DeadLetters(DeadLettersCommand),
    /// Feeds the database refused for good, and replaying them once the cause is fixed
    /// (operations and admin keys).
    #[command(subcommand)]
    Parked(ParkedCommand),
    /// Run a school's feeds through validation again, as now (once what rejected their records
    /// is fixed: the registry, a date then in the future), from where the broker still holds
    /// them (operations and admin keys). `--dry-run` shows what would change in the tables and
    /// changes nothing; without it the changes are applied.
    Replay(ReplayArgs),
    /// API keys (admin keys only, except `bootstrap`).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// MIS vendors' registrations (admin keys only).
    #[command(subcommand)]
    Vendors(VendorsCommand),
    /// Who viewed your pupils: every pupil-level query that returned any of them (LA and school
    /// users).
    Audit {
        /// From this day, YYYY-MM-DD (default: the last 30 days).
        #[arg(long)]
        since: Option<String>,
        /// At most this many events, newest first.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Compare what the LA holds of a school's registers with your MIS, day by day, over up
    /// to 31 days: the marks per session and code; with `--against`, exactly the pupils and
    /// dates that differ from your files (Rollcall sends no UPN: the files name the pupils).
    Reconcile {
        #[arg(long)]
        school: String,
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last day, YYYY-MM-DD (at most 31 days in all).
        #[arg(long)]
        to: String,
        /// Your roll and marks files (the CLI's CSV formats) to compare with.
        #[arg(long, num_args = 2, value_names = ["ROLL", "MARKS"])]
        against: Option<Vec<std::path::PathBuf>>,
    },
    /// Run the conformance pack (docs/conformance/) against the gateway as dry runs, nothing
    /// stored: each sample feed and whether its outcome is the one Rollcall must give. A table
    /// an integrator can send to the LA; exits non-zero when any case fails.
    Conformance {
        /// A school the LA registered for you to test with (the feeds are checked against it).
        #[arg(long)]
        school: String,
        /// A pack folder of the same layout instead of the built-in one.
        #[arg(long)]
        pack: Option<std::path::PathBuf>,
    },
    /// Generate a synthetic LA, send it through the gateway as vendors would, and summarise it.
    Demo(DemoArgs),
    /// Write a synthetic LA as CSV files, to try `schools import` and `submit` by hand.
    Synth {
        #[arg(long, default_value = "small", value_parser = ["demo", "small"])]
        spec: String,
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[derive(Args)]
pub struct SubmitArgs {
    /// The school's six-digit URN.
    #[arg(long)]
    pub school: String,
    #[arg(long, required_unless_present = "dir", requires = "marks")]
    pub roll: Option<std::path::PathBuf>,
    #[arg(long, required_unless_present = "dir", requires = "roll")]
    pub marks: Option<std::path::PathBuf>,
    /// Send every feed in this folder, in name order: each `NAME.roll.csv` with its
    /// `NAME.marks.csv`. Feeds the gateway already holds (by their idempotency key, the files'
    /// hash) are skipped, so an interrupted run is resumed by running it again.
    #[arg(long, conflicts_with_all = ["roll", "marks", "key", "dry_run"])]
    pub dir: Option<std::path::PathBuf>,
    /// Idempotency key; defaults to a hash of the two files, so re-sending them is a no-op.
    #[arg(long)]
    pub key: Option<String>,
    /// When the register was extracted (RFC 3339); defaults to now.
    #[arg(long)]
    pub extracted_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Check the files as the pipeline would and print the findings; store and send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Subcommand)]
pub enum FeedsCommand {
    /// Feeds received in a time range, newest first, with their status and counts.
    List {
        /// One school's six-digit URN (default: every school you may see).
        #[arg(long)]
        school: Option<String>,
        /// Received from this time (RFC 3339, or a day YYYY-MM-DD; default: 7 days ago).
        #[arg(long, value_parser = parse_time)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// Received before this time (RFC 3339, or a day YYYY-MM-DD, excluded; default: now).
        #[arg(long, value_parser = parse_time)]
        until: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Receipts as the pipeline answers your feeds, one line each, until interrupted. Each
    /// line starts with its position: `--resume-from` it to go on after it, missing none.
    Watch {
        /// Go on after this position (the first field of a line printed before).
        #[arg(long)]
        resume_from: Option<String>,
        /// Without a position: the feeds answered from this time (RFC 3339, or a day
        /// YYYY-MM-DD); default: from now.
        #[arg(long, value_parser = parse_time)]
        since: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Every finding of a processed feed, read page after page (a receipt lists the first and
    /// counts the rest).
    Findings {
        feed_id: String,
        /// Only the findings of this code, e.g. UPN_CHECK_LETTER.
        #[arg(long)]
        code: Option<String>,
    },
}

/// An RFC 3339 time, or a day (its start, UTC).
fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(day) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .map_err(|_| "expected YYYY-MM-DD or an RFC 3339 time".to_owned())
}

#[derive(Args)]
pub struct DemoArgs {
    #[arg(long, default_value = "demo", value_parser = ["demo", "small"])]
    pub spec: String,
    /// Concurrent vendor streams.
    #[arg(long, default_value_t = 4)]
    pub streams: usize,
    /// Seconds to wait for the pipeline to process every feed.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Also write the LA's DfE year-to-date export (CSV and manifest) into this directory.
    #[arg(long)]
    pub export_dir: Option<std::path::PathBuf>,
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Make a key. Its token is printed once: only a hash of it is stored.
    Create {
        /// vendor, la, school, operations, exporter or admin.
        #[arg(long)]
        kind: String,
        /// The vendor's name, the LA code or the school URN (none for the national kinds).
        #[arg(long, default_value = "")]
        org: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Days until it expires (default: the server's, 90).
        #[arg(long)]
        valid_days: Option<u32>,
    },
    /// Every key, newest first (never the secrets).
    List,
    /// Revoke a key at once.
    Revoke { key_id: String },
    /// Make the first admin key of a fresh install, straight in the database (no service call).
    Bootstrap {
        /// The services' database.
        #[arg(long, env = "ROLLCALL__DATABASE__URL")]
        database_url: String,
        #[arg(long, default_value_t = 30)]
        valid_days: u32,
        #[arg(long, default_value = "bootstrap admin key")]
        description: String,
    },
}

#[derive(Subcommand)]
pub enum VendorsCommand {
    /// Make these schools exactly the ones a vendor may send feeds for (none: cut it off).
    SetSchools { vendor: String, urns: Vec<String> },
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
    /// Import term dates and closed days from CSV (scope,kind,first_day,last_day; scope an LA
    /// code or a URN): replaces the calendars of every LA and school the file names.
    Calendar { file: std::path::PathBuf },
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

/// The pupils a pupil-level export covers: an LA or one school.
#[derive(Args, Clone)]
pub struct PupilScopeArgs {
    #[arg(long, conflicts_with = "school", required_unless_present = "school")]
    pub la: Option<String>,
    #[arg(long)]
    pub school: Option<String>,
    /// Why you need these pupils' details: recorded in the audit trail with who asked and which
    /// pupils were exported.
    #[arg(long)]
    pub purpose: String,
}

#[derive(Subcommand)]
pub enum ExportCommand {
    /// The DfE's published year-to-date layout: a row per phase (Primary, Secondary, Special,
    /// Total) per LA, in the DfE's scope and method. The exporter role may also add regional and
    /// national rows, or every LA.
    EesYtd {
        /// LA code; repeat for several.
        #[arg(
            long = "la",
            required_unless_present = "all_las",
            conflicts_with = "all_las"
        )]
        la: Vec<String>,
        #[arg(long)]
        all_las: bool,
        #[arg(long)]
        regional: bool,
        #[arg(long)]
        national: bool,
        /// First day, YYYY-MM-DD (default: start of the academic year of --to).
        #[arg(long)]
        from: Option<String>,
        /// Last day, YYYY-MM-DD (default: the latest day with marks).
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        as_at: AsAtArgs,
        /// The file to write: .csv or .xlsx.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// One row per pupil per session, with the pupil's details (CSV only: a year of an LA is
    /// tens of millions of rows).
    PupilSessions {
        #[command(flatten)]
        scope: PupilScopeArgs,
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last day, YYYY-MM-DD, in the same academic year.
        #[arg(long)]
        to: String,
        /// Only the DfE's scope: compulsory school age in state-funded primary, secondary and
        /// special schools.
        #[arg(long)]
        dfe_scope: bool,
        #[command(flatten)]
        as_at: AsAtArgs,
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Per enrolment for one census term: sessions possible, authorised and unauthorised absence
    /// by reason, with the census's term dates.
    Census {
        #[command(flatten)]
        scope: PupilScopeArgs,
        /// The academic year, 2025/26.
        #[arg(long)]
        year: String,
        #[arg(long, value_parser = ["autumn", "spring", "summer"])]
        term: String,
        #[command(flatten)]
        as_at: AsAtArgs,
        /// The file to write: .csv or .xlsx.
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

/// The moment an answer is read as at.
#[derive(Args, Clone, Default)]
pub struct AsAtArgs {
    /// The answer as it was from what had been recorded by then (RFC 3339, e.g.
    /// 2025-10-06T16:00:00Z), corrections since ignored (default: now).
    #[arg(long)]
    pub as_at: Option<String>,
}

#[derive(Subcommand)]
pub enum PupilCommand {
    /// Find a pupil by UPN (whole), by surname and date of birth, or by forename and surname.
    Find {
        #[arg(long, conflicts_with_all = ["surname", "forename", "dob"], required_unless_present = "surname")]
        upn: Option<String>,
        #[arg(long)]
        surname: Option<String>,
        /// Date of birth, YYYY-MM-DD (with --surname).
        #[arg(long, requires = "surname", conflicts_with = "forename")]
        dob: Option<String>,
        #[arg(long, requires = "surname")]
        forename: Option<String>,
        /// Why you need this pupil's details: recorded in the audit trail.
        #[arg(long)]
        purpose: String,
    },
    /// A pupil's enrolments, sessions week by week, absence spells, corrections and measures.
    Timeline {
        upn: String,
        /// Why you need this pupil's details: recorded in the audit trail.
        #[arg(long)]
        purpose: String,
        #[command(flatten)]
        period: PeriodArgs,
        #[command(flatten)]
        as_at: AsAtArgs,
    },
}

#[derive(Subcommand)]
pub enum QueryCommand {
    /// One school's DfE measures.
    School {
        urn: String,
        #[command(flatten)]
        period: PeriodArgs,
        #[command(flatten)]
        as_at: AsAtArgs,
    },
    /// One row per school in the LA, then the LA total.
    La {
        code: String,
        #[command(flatten)]
        period: PeriodArgs,
        #[command(flatten)]
        as_at: AsAtArgs,
    },
    /// Pupils at persistent (10%+) or, with --severe, severe (50%+) absence.
    AtRisk {
        #[arg(long, conflicts_with = "school", required_unless_present = "school")]
        la: Option<String>,
        #[arg(long)]
        school: Option<String>,
        #[arg(long)]
        severe: bool,
        /// Why you need these pupils' details: recorded in the audit trail with who asked and
        /// which pupils were returned.
        #[arg(long)]
        purpose: String,
        #[command(flatten)]
        period: PeriodArgs,
        #[command(flatten)]
        as_at: AsAtArgs,
    },
    /// Pupils not yet persistently absent whom a few more absent sessions would make so,
    /// nearest first: the early-intervention list.
    Approaching {
        #[arg(long, conflicts_with = "school", required_unless_present = "school")]
        la: Option<String>,
        #[arg(long)]
        school: Option<String>,
        /// Pupils within this many further absent sessions of 10% (at most 20).
        #[arg(long, default_value_t = 4)]
        within: u32,
        /// Why you need these pupils' details: recorded in the audit trail with who asked and
        /// which pupils were returned.
        #[arg(long)]
        purpose: String,
        #[command(flatten)]
        period: PeriodArgs,
        #[command(flatten)]
        as_at: AsAtArgs,
    },
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[test]
    fn the_command_line_parses_as_documented() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "rollcall",
            "--json",
            "query",
            "at-risk",
            "--la",
            "937",
            "--severe",
            "--purpose",
            "weekly review",
        ])
        .unwrap();
        assert!(cli.json);
        assert!(matches!(
            cli.command,
            Command::Query(QueryCommand::AtRisk { severe: true, .. })
        ));
        assert!(
            Cli::try_parse_from(["rollcall", "query", "at-risk"]).is_err(),
            "--la or --school is required"
        );
        assert!(
            Cli::try_parse_from(["rollcall", "query", "at-risk", "--la", "937"]).is_err(),
            "--purpose is required"
        );
        assert!(
            Cli::try_parse_from([
                "rollcall",
                "query",
                "at-risk",
                "--la",
                "937",
                "--school",
                "140001",
                "--purpose",
                "p"
            ])
            .is_err()
        );
        let cli = Cli::try_parse_from([
            "rollcall",
            "submit",
            "--school",
            "140001",
            "--roll",
            "r.csv",
            "--marks",
            "m.csv",
            "--extracted-at",
            "2025-10-06T16:00:00Z",
        ])
        .unwrap();
        let Command::Submit(SubmitArgs {
            extracted_at, key, ..
        }) = cli.command
        else {
            panic!("submit")
        };
        assert_eq!(
            extracted_at.unwrap().to_rfc3339(),
            "2025-10-06T16:00:00+00:00"
        );
        assert_eq!(key, None);
    }
}

#[derive(Subcommand)]
pub enum DeadLettersCommand {
    /// Each group: finding code x sender x school, with its records, feeds, first and last seen.
    List {
        /// Feeds received from this time (RFC 3339, or a date YYYY-MM-DD); default the last 7
        /// days.
        #[arg(long)]
        since: Option<String>,
    },
    /// One group's records: each one's feed, position and field, and the rule it broke.
    Show {
        /// The group as `list` prints it: CODE/SENDER/URN (e.g. UPN_CHECK_LETTER/acme-mis/100001).
        group: String,
        #[arg(long)]
        since: Option<String>,
        /// At most this many records, newest first.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Subcommand)]
pub enum ParkedCommand {
    /// Every parked feed: why the database refused it, and where its replay is.
    List,
    /// Apply a parked feed again (once its cause is fixed); `list` then shows it replayed, or the
    /// new refusal.
    Replay {
        /// The parked feed's id, as `list` prints it.
        id: i64,
    },
}

#[derive(clap::Args)]
pub struct ReplayArgs {
    /// The school's URN.
    #[arg(long, required_unless_present = "show")]
    pub school: Option<String>,
    /// Feeds received on or after this day, YYYY-MM-DD (default: every feed the broker holds).
    #[arg(long, conflicts_with = "show")]
    pub from: Option<String>,
    /// Only show what would change; nothing is stored.
    #[arg(long, conflicts_with = "show")]
    pub dry_run: bool,
    /// Wait at most this many seconds for the replay (and, without `--dry-run`, for the
    /// aggregator to apply it); then print where it is.
    #[arg(long, default_value_t = 120)]
    pub wait: u64,
    /// Show replay ID (as an earlier `replay` printed it) instead of asking for one.
    #[arg(long, value_name = "ID")]
    pub show: Option<i64>,
}

#[derive(Subcommand)]
pub enum StatusCommand {
    /// Each school of an LA: its latest feed and register date, register days without a feed
    /// by its calendar (quiet schools first), feeds not yet queryable.
    Schools {
        #[arg(long)]
        la: String,
        /// Only the quiet schools.
        #[arg(long)]
        quiet: bool,
        /// Quiet after this many of its register days without a feed.
        #[arg(long, default_value_t = 1)]
        days: u32,
        /// Judge as on this day, YYYY-MM-DD (default: today).
        #[arg(long)]
        on: Option<String>,
    },
    /// Each sender (vendor): feeds, records rejected and by which finding codes, latest error.
    Vendors {
        /// From this time (RFC 3339, or a date YYYY-MM-DD); default the last 7 days.
        #[arg(long)]
        since: Option<String>,
    },
    /// Feeds and marks received but not yet queryable, over an LA and by school.
    Lag {
        #[arg(long)]
        la: String,
    },
}
