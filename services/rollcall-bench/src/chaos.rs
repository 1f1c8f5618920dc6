//! The chaos run behind `make chaos`: a synthetic LA's feeds (with corrections and re-sends) sent
//! twice through the whole system, once cleanly and once while faults are injected at random
//! (workers and the gateway killed with SIGKILL, the broker and PostgreSQL restarted, PostgreSQL
//! down for a while), then every table of the two runs compared. Prints figures, saves them as
//! JSON, and fails when anything was lost or counted twice. The seed it prints repeats a run.

mod compare;
mod faults;
mod send;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::NaiveDate;
use rollcall_proto::feed::v1::feed_service_client::FeedServiceClient;
use rollcall_synth::{LaSpec, Plan};
use serde_json::{Value, json};

pub use compare::Comparison;
pub use faults::{Fault, FaultKind};

use crate::stack::{Layout, Postgres, Stack};
use send::{InFlight, Pace, Sent};

/// How much to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ChaosScale {
    /// 4 schools, 200 pupils, 5 days: the few cycles of `make test`.
    Short,
    /// 12 schools, 3,000 pupils, 20 days each re-sending 4: `make chaos`.
    Full,
}

impl ChaosScale {
    pub fn name(self) -> &'static str {
        match self {
            ChaosScale::Short => "short",
            ChaosScale::Full => "full",
        }
    }

    fn spec(self, seed: u64) -> LaSpec {
        match self {
            ChaosScale::Short => LaSpec {
                seed,
                ..LaSpec::small()
            },
            ChaosScale::Full => LaSpec {
                la_code: 937,
                schools: 12,
                independent_schools: 2,
                pupils: 3_000,
                days: 20,
                first_day: NaiveDate::from_ymd_opt(2025, 9, 8).expect("valid date"),
                resend_days: 4,
                seed,
            },
        }
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct ChaosOptions {
    pub scale: ChaosScale,
    pub seed: u64,
    pub cycles: usize,
    /// How long PostgreSQL stays down in its outage.
    pub outage: Duration,
    /// Only these kinds of fault, in turn (all kinds when empty).
    pub only: Vec<FaultKind>,
    pub streams: usize,
    pub validators: usize,
    pub aggregators: usize,
    /// Seconds to wait for every feed to be processed after the last fault.
    pub timeout: Duration,
    /// Where the results JSON goes.
    pub out: PathBuf,
    /// The PostgreSQL server (its databases `rollcall_chaos_clean` and `rollcall_chaos` are
    /// dropped and created afresh).
    pub server_url: String,
}

/// One run's end: what was sent and what the database holds.
struct Run {
    sent: Sent,
    canonical: rollcall_db::canonical::Canonical,
    seconds: f64,
}

/// A fault as it happened.
struct Injected {
    fault: Fault,
    at: f64,
    took: f64,
}

/// Runs the clean run and the run under faults, compares them, saves and prints the figures.
/// `Ok(false)` when they differ.
pub async fn run(options: ChaosOptions) -> anyhow::Result<bool> {
    let started = Instant::now();
    let plan = Arc::new(Plan::new(options.scale.spec(options.seed)));
    let mix = faults::Mix {
        cycles: options.cycles,
        validators: options.validators,
        aggregators: options.aggregators,
        outage: options.outage,
        only: options.only.clone(),
    };
    let schedule = faults::schedule(options.seed, &mix);
    let feeds = plan.days().len() * plan.schools.len();
    eprintln!(
        "chaos: seed {} ({} scale, {} cycles): {} schools, {} feeds; repeat with --seed {}",
        options.seed,
        options.scale.name(),
        schedule.len(),
        plan.schools.len(),
        feeds,
        options.seed
    );
    let dir = PathBuf::from(".run/chaos");
    std::fs::create_dir_all(&dir).context("cannot create .run/chaos")?;
    let base = options.server_url.trim_end_matches('/');
    // Restarting PostgreSQL needs its cluster tools: found before anything is sent.
    let port = url_port(base).unwrap_or(5432);
    let postgres = if schedule
        .iter()
        .any(|f| !f.kind.is_kill() && f.kind != FaultKind::RestartBroker)
    {
        Some(Postgres::on_port(port)?)
    } else {
        None
    };

    eprintln!("chaos: the clean run");
    let clean = run_once(
        &options,
        &plan,
        &format!("{base}/rollcall_chaos_clean"),
        &dir.join("clean"),
        &[],
        None,
        Duration::ZERO,
    )
    .await
    .context("the clean run")?;
    eprintln!(
        "chaos: clean run done in {:.0}s: {} feeds, {} marks sent, {} sessions stored",
        clean.seconds,
        clean.sent.feed_ids.len(),
        clean.sent.marks,
        clean.canonical.sessions.len()
    );

    // Vendors pace their feeds so that sending lasts about as long as the faults do.
    let per_stream = feeds.div_ceil(options.streams).max(1) as u32;
    let pause = faults::length(&schedule) / per_stream;
    eprintln!(
        "chaos: the run under {} faults, vendors pausing {:.1}s between feeds",
        schedule.len(),
        pause.as_secs_f64()
    );
    let mut injected = Vec::new();
    let chaos = run_once(
        &options,
        &plan,
        &format!("{base}/rollcall_chaos"),
        &dir.join("faults"),
        &schedule,
        Some((&mut injected, postgres.as_ref())),
        pause,
    )
    .await
    .context("the run under faults")?;

    let comparison = compare::compare(&clean.canonical, &chaos.canonical);
    let details = dir.join("differences.txt");
    std::fs::write(&details, comparison.details.join("\n") + "\n")
        .with_context(|| format!("cannot write {}", details.display()))?;
    let timestamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let value = results(
        &options,
        &plan,
        &clean,
        &chaos,
        &injected,
        &comparison,
        &timestamp,
    );
    std::fs::create_dir_all(&options.out)
        .with_context(|| format!("cannot create {}", options.out.display()))?;
    let path = options.out.join(format!("chaos-{timestamp}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&value)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    print!("{}", table(&value));
    eprintln!(
        "chaos: saved {} ({:.0}s in all); differences, if any, in {}",
        path.display(),
        started.elapsed().as_secs_f64(),
        details.display()
    );
    Ok(comparison.equal())
}

/// One run: the system started afresh, every feed sent (faults injected meanwhile when
/// `schedule` has any), every feed processed, the database read.
async fn run_once(
    options: &ChaosOptions,
    plan: &Arc<Plan>,
    database_url: &str,
    dir: &std::path::Path,
    schedule: &[Fault],
    faults: Option<(&mut Vec<Injected>, Option<&Postgres>)>,
    pause: Duration,
) -> anyhow::Result<Run> {
    let started = Instant::now();
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut stack = Stack::start(
        Layout {
            database_url,
            dir,
            validators: options.validators,
            aggregators: options.aggregators,
            durable_broker: true,
            env: Vec::new(),
        },
        plan,
    )
    .await?;
    let gateway = stack.gateway().await?;
    let in_flight = Arc::new(InFlight::default());
    let pace = Pace {
        streams: options.streams,
        pause,
        resend_every: 10,
    };
    let sending = send::send(plan.clone(), gateway.clone(), pace, in_flight.clone());
    let sent = match faults {
        None => sending.await?,
        Some((injected, postgres)) => {
            let injecting = inject(&mut stack, schedule, postgres, &in_flight, injected);
            let (sent, injecting) = tokio::join!(sending, injecting);
            injecting?;
            sent?
        }
    };
    stack.processes.check_running()?;
    eprintln!(
        "chaos: {} feeds acknowledged after {:.0}s; waiting for the pipeline",
        sent.feed_ids.len(),
        started.elapsed().as_secs_f64()
    );
    rollcall_client::wait_processed(
        &mut FeedServiceClient::new(gateway),
        &sent.feed_ids,
        options.timeout,
    )
    .await?;
    let pool = rollcall_db::connect(database_url, 2).await?;
    let canonical = rollcall_db::canonical::dump(&pool).await?;
    pool.close().await;
    stack.processes.stop();
    Ok(Run {
        sent,
        canonical,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Injects the schedule's faults one after another, each after its pause.
async fn inject(
    stack: &mut Stack,
    schedule: &[Fault],
    postgres: Option<&Postgres>,
    in_flight: &InFlight,
    injected: &mut Vec<Injected>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    for (n, fault) in schedule.iter().enumerate() {
        tokio::time::sleep(fault.after).await;
        if fault.kind == FaultKind::KillGateway {
            // Mid-stream: wait (a while) for a vendor's stream to be open.
            let deadline = Instant::now() + Duration::from_secs(20);
            while in_flight.now() == 0 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        let at = started.elapsed().as_secs_f64();
        let postgres = || postgres.context("no postgresql cluster to restart");
        match fault.kind {
            FaultKind::KillValidator => {
                let name = crate::instance_name("validator", fault.instance);
                stack.kill_and_restart(&name, fault.down).await?;
            }
            FaultKind::KillAggregator => {
                let name = crate::instance_name("aggregator", fault.instance);
                stack.kill_and_restart(&name, fault.down).await?;
            }
            FaultKind::KillGateway => stack.kill_and_restart("gateway", fault.down).await?,
            FaultKind::RestartBroker => stack.kill_and_restart("broker", fault.down).await?,
            FaultKind::RestartPostgres => postgres()?.restart().await?,
            FaultKind::PostgresOutage => postgres()?.outage(fault.down).await?,
        }
        let took = started.elapsed().as_secs_f64() - at;
        eprintln!(
            "chaos: fault {}/{} at {at:.1}s: {} {} ({took:.1}s)",
            n + 1,
            schedule.len(),
            fault.kind.name(),
            fault.instance,
        );
        injected.push(Injected {
            fault: *fault,
            at,
            took,
        });
    }
    Ok(())
}

/// The port of a `postgres://` URL, if it names one.
fn url_port(url: &str) -> Option<u16> {
    let authority = url.split("://").nth(1)?.split('/').next()?;
    let host = authority.rsplit('@').next()?;
    host.rsplit_once(':')?.1.parse().ok()
}

/// The results as saved.
fn results(
    options: &ChaosOptions,
    plan: &Plan,
    clean: &Run,
    chaos: &Run,
    injected: &[Injected],
    comparison: &Comparison,
    timestamp: &str,
) -> Value {
    let count =
        |pred: &dyn Fn(FaultKind) -> bool| injected.iter().filter(|i| pred(i.fault.kind)).count();
    let of = |kind: FaultKind| count(&|k| k == kind);
    json!({
        "kind": "chaos",
        "timestamp": timestamp,
        "scale": options.scale.name(),
        "seed": options.seed,
        "machine": crate::machine::describe(),
        "la": {
            "schools": plan.schools.len(),
            "pupils": plan.spec.pupils,
            "days": plan.days().len(),
            "resend_days": plan.spec.resend_days,
            "feeds": chaos.sent.feed_ids.len(),
        },
        "streams": options.streams,
        "validators": options.validators,
        "aggregators": options.aggregators,
        "cycles": injected.len(),
        "kills": count(&FaultKind::is_kill),
        "kills_by_service": {
            "validator": of(FaultKind::KillValidator),
            "aggregator": of(FaultKind::KillAggregator),
            "gateway": of(FaultKind::KillGateway),
        },
        "restarts": count(&|k| !k.is_kill()),
        "restarts_by_kind": {
            "broker": of(FaultKind::RestartBroker),
            "postgresql": of(FaultKind::RestartPostgres),
            "postgresql_outage": of(FaultKind::PostgresOutage),
        },
        "postgresql_outage_seconds": options.outage.as_secs_f64(),
        "marks_sent": chaos.sent.marks,
        "marks_stored": comparison.marks_stored,
        "marks_lost": comparison.marks_lost,
        "marks_unexpected": comparison.marks_unexpected,
        "marks_double_counted": comparison.marks_double_counted,
        "marks_uncounted": comparison.marks_uncounted,
        "tables_equal": comparison.equal(),
        "table_differences": comparison.tables.iter()
            .map(|(name, (a, b))| (name.clone(), json!({"only_clean": a, "only_under_faults": b})))
            .collect::<serde_json::Map<_, _>>(),
        "vendors": {
            "attempts": chaos.sent.attempts,
            "feeds_retried": chaos.sent.retried,
            "extracts_resent": chaos.sent.resent,
            "duplicate_receipts": chaos.sent.duplicates,
        },
        "seconds": {
            "clean_run": clean.seconds,
            "run_under_faults": chaos.seconds,
        },
        "faults": injected.iter().map(|i| json!({
            "at_seconds": (i.at * 10.0).round() / 10.0,
            "fault": i.fault.kind.name(),
            "instance": i.fault.instance,
            "down_seconds": i.fault.down.as_secs_f64(),
            "took_seconds": (i.took * 10.0).round() / 10.0,
        })).collect::<Vec<_>>(),
        "passed": comparison.equal(),
    })
}

/// The figures a person reads.
fn table(v: &Value) -> String {
    let line = |name: &str, value: String| format!("{name:<44}{value}\n");
    let mut out = String::from("\nchaos run\n");
    out += &line("seed", v["seed"].to_string());
    out += &line(
        "fault cycles (kills, restarts)",
        format!("{} ({}, {})", v["cycles"], v["kills"], v["restarts"]),
    );
    out += &line(
        "  kills: validator, aggregator, gateway",
        format!(
            "{}, {}, {}",
            v["kills_by_service"]["validator"],
            v["kills_by_service"]["aggregator"],
            v["kills_by_service"]["gateway"]
        ),
    );
    out += &line(
        "  restarts: broker, postgresql, outage",
        format!(
            "{}, {}, {} ({}s down)",
            v["restarts_by_kind"]["broker"],
            v["restarts_by_kind"]["postgresql"],
            v["restarts_by_kind"]["postgresql_outage"],
            v["postgresql_outage_seconds"]
        ),
    );
    out += &line(
        "feeds, marks sent",
        format!("{}, {}", v["la"]["feeds"], v["marks_sent"]),
    );
    out += &line(
        "vendor attempts (feeds retried, re-sent)",
        format!(
            "{} ({}, {})",
            v["vendors"]["attempts"],
            v["vendors"]["feeds_retried"],
            v["vendors"]["extracts_resent"]
        ),
    );
    out += &line("sessions stored (clean run)", v["marks_stored"].to_string());
    out += &line("marks lost", v["marks_lost"].to_string());
    out += &line("marks counted twice", v["marks_double_counted"].to_string());
    out += &line(
        "marks unexpected, uncounted",
        format!("{}, {}", v["marks_unexpected"], v["marks_uncounted"]),
    );
    out += &line(
        "every table equal to the clean run",
        v["tables_equal"].to_string(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_url_names_its_port() {
        assert_eq!(url_port("postgres://postgres@127.0.0.1:5433"), Some(5433));
        assert_eq!(url_port("postgres://postgres@127.0.0.1:5432/x"), Some(5432));
        assert_eq!(url_port("postgres://localhost/x"), None);
    }
}
