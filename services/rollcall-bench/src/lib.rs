//! The benchmark: starts a Tansu broker and the four services on loopback against a fresh
//! database, sends a synthetic LA through the gateway as vendors would, and measures the
//! pipeline against two floors (a bare `COPY` of the same number of marks, and the same bytes
//! through the same broker with no processing), storage per mark, query latency and the
//! services' peak memory. Prints a table and saves it as JSON with the machine's description.

pub mod chaos;
mod exports;
mod floor;
mod machine;
mod peak;
mod procs;
mod report;
mod scale;
mod stack;
mod telemetry;
mod year;

pub use floor::FLOOR_BATCHING;
pub use report::{CpuUse, Figures, Latency, percentile};
pub use scale::Scale;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rollcall_client::AuthChannel;
use rollcall_kafka::{Groups, KafkaConfig, Topics};
use rollcall_proto::feed::v1::feed_service_client::FeedServiceClient;
use rollcall_proto::query::v1::{
    AtRiskPupilsRequest, LaSummaryRequest, Period, RiskLevel, SchoolSummaryRequest,
    query_service_client::QueryServiceClient, registry_service_client::RegistryServiceClient,
};
use rollcall_synth::Plan;

use procs::Processes;
use report::Size;

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    pub scale: Scale,
    pub streams: usize,
    /// Instances of the validator and of the aggregator, each in its service's consumer group:
    /// the topics' partitions are shared out between them.
    pub validators: usize,
    pub aggregators: usize,
    pub queries: usize,
    pub timeout: Duration,
    pub out: PathBuf,
    pub database_url: String,
    /// Export spans to a receiver of the benchmark's and scrape every service's `/metrics`
    /// (`telemetry.rs`), to price operations' watching against a run without.
    pub telemetry: bool,
}

pub(crate) const FEEDS_TOPIC: &str = "rollcall.feeds.v1";
pub(crate) const VALIDATED_TOPIC: &str = "rollcall.validated.v1";

/// Runs the benchmark; every process it started is stopped however it ends.
pub async fn run(options: Options) -> anyhow::Result<()> {
    match options.scale {
        Scale::LaYear => return year::run(options).await,
        Scale::Peak => return peak::run(options).await,
        _ => {}
    }
    let started = Instant::now();
    // Feeds are generated as they are sent (`Plan::feed`), so the benchmark holds one feed per
    // stream rather than the whole day: a national day's feeds do not fit in memory at once.
    let plan = Arc::new(Plan::new(options.scale.spec()));
    let mut figures = Figures {
        scale: options.scale.name().to_owned(),
        schools: plan.schools.len(),
        feeds: plan.days().len() * plan.schools.len(),
        streams: options.streams,
        validators: options.validators,
        aggregators: options.aggregators,
        overrides: std::env::vars()
            .filter(|(k, _)| k.starts_with("ROLLCALL__") && !may_be_secret(k))
            .collect(),
        ..Figures::default()
    };
    eprintln!(
        "bench: scale {}: {} schools, {} feeds planned in {:.1}s",
        figures.scale,
        figures.schools,
        figures.feeds,
        started.elapsed().as_secs_f64()
    );

    rollcall_db::drop_database(&options.database_url).await?;
    rollcall_db::ensure_database(&options.database_url).await?;

    let logs = PathBuf::from(".run/bench");
    std::fs::create_dir_all(&logs).context("cannot create .run/bench")?;
    let mut processes = Processes::default();
    let kafka_port = procs::free_port()?;
    let brokers = format!("127.0.0.1:{kafka_port}");
    let listener = format!("tcp://{brokers}");
    processes.spawn(
        "tansu",
        std::path::Path::new("tansu"),
        &[
            "broker".into(),
            "--listener-url".into(),
            listener.clone(),
            "--advertised-listener-url".into(),
            listener,
            "--storage-engine".into(),
            "memory://tansu/".into(),
        ],
        &[],
        &logs,
    )?;
    procs::wait_port(kafka_port, &mut processes).await?;

    let gateway_port = procs::free_port()?;
    let query_port = procs::free_port()?;
    let mut env = service_env(&options.database_url);
    env.extend([
        ("ROLLCALL__KAFKA__BROKERS".to_owned(), brokers.clone()),
        (
            "ROLLCALL__GATEWAY__LISTEN".to_owned(),
            format!("127.0.0.1:{gateway_port}"),
        ),
        (
            "ROLLCALL__QUERY__LISTEN".to_owned(),
            format!("127.0.0.1:{query_port}"),
        ),
    ]);
    // The first admin key, straight in the database as `rollcall keys bootstrap` makes it.
    let admin_token = {
        let pool = rollcall_db::open(&options.database_url, 1).await?;
        let (_, token) =
            rollcall_server::auth::issue_key(&pool, "admin", "", "bench admin", 1).await?;
        pool.close().await;
        token
    };
    let watcher = match options.telemetry {
        true => Some(telemetry::Watcher::start().await?),
        false => None,
    };
    if let Some(watcher) = &watcher {
        env.push((
            "ROLLCALL__TELEMETRY__OTLP_ENDPOINT".to_owned(),
            watcher.endpoint.clone(),
        ));
    }
    let bin_dir = std::env::current_exe()?
        .parent()
        .context("the benchmark's executable has no directory")?
        .to_owned();
    let mut ops_ports = Vec::new();
    for (service, instances) in [
        ("gateway", 1),
        ("validator", options.validators),
        ("aggregator", options.aggregators),
        ("query", 1),
    ] {
        let program = bin_dir.join(format!("rollcall-{service}"));
        for instance in 1..=instances {
            let name = instance_name(service, instance);
            let mut env = env.clone();
            if watcher.is_some() {
                let port = procs::free_port()?;
                ops_ports.push(port);
                env.push((
                    format!("ROLLCALL__{}__OPS_LISTEN", service.to_uppercase()),
                    format!("127.0.0.1:{port}"),
                ));
            }
            processes.spawn(&name, &program, &[], &env, &logs)?;
        }
    }
    procs::wait_port(gateway_port, &mut processes).await?;
    procs::wait_port(query_port, &mut processes).await?;
    if let Some(watcher) = &watcher {
        for &port in &ops_ports {
            procs::wait_port(port, &mut processes).await?;
        }
        watcher.scrape(ops_ports);
    }
    eprintln!("bench: broker and services up (logs in .run/bench/)");

    let admin = channel(query_port, &admin_token).await?;
    rollcall_client::import_synthetic_schools(
        &mut RegistryServiceClient::new(admin.clone()),
        &plan.schools,
    )
    .await
    .map_err(rollcall_client::status::error)?;
    let keys =
        rollcall_client::synthetic_keys(admin, "bench-mis", plan.spec.la_code, &plan.schools)
            .await
            .map_err(rollcall_client::status::error)?;
    let gateway = channel(gateway_port, &keys.vendor_token).await?;
    let query = channel(query_port, &keys.la_token).await?;

    let pool = rollcall_db::connect(&options.database_url, 4).await?;
    figures.postgresql = rollcall_db::bench::server_settings(&pool).await?;
    let wal_start = rollcall_db::bench::wal_mark(&pool).await?;
    let largest_school = pipeline(&plan, &gateway, &options, &mut processes, &mut figures).await?;
    if let Some(watcher) = watcher {
        // The last spans leave within half a second of ending.
        figures.watched = Some(watcher.finish(Duration::from_secs(2)).await);
    }
    let wal_end = rollcall_db::bench::wal_mark(&pool).await?;
    figures.pipeline_wal_bytes = wal_end.lsn_bytes - wal_start.lsn_bytes;
    figures.pipeline_checkpoints = wal_end.checkpoints - wal_start.checkpoints;
    processes.check_running()?;

    let times = rollcall_db::bench::feed_times(&pool).await?;
    let span = |a: Option<chrono::DateTime<chrono::Utc>>,
                b: Option<chrono::DateTime<chrono::Utc>>| {
        match (a, b) {
            (Some(a), Some(b)) => (b - a).as_seconds_f64(),
            _ => 0.0,
        }
    };
    figures.gateway_span_seconds = span(times.first_received, times.last_received);
    figures.pipeline_span_seconds = span(times.first_processed, times.last_processed);

    figures.latencies = query_latencies(&plan, &largest_school, &query, options.queries).await?;

    let size = |s: rollcall_db::bench::TableSize| Size {
        bytes: s.bytes,
        rows: s.rows,
    };
    figures.marks_before_vacuum = size(rollcall_db::bench::marks_size(&pool).await?);
    rollcall_db::bench::vacuum_marks(&pool).await?;
    figures.marks_after_vacuum = size(rollcall_db::bench::marks_size(&pool).await?);
    rollcall_db::bench::vacuum_full_marks(&pool).await?;
    figures.marks_after_vacuum_full = size(rollcall_db::bench::marks_size(&pool).await?);
    let validator_logs: String = (1..=options.validators)
        .filter_map(|i| {
            std::fs::read_to_string(logs.join(format!("{}.log", instance_name("validator", i))))
                .ok()
        })
        .collect();
    figures.validator_span_seconds = log_span(&validator_logs, "feed validated");

    eprintln!("bench: COPY floor");
    let data = copy_rows(figures.marks_sent);
    rollcall_db::bench::prepare_copy_floor(&pool).await?;
    let wal_start = rollcall_db::bench::wal_mark(&pool).await?;
    let copy_started = Instant::now();
    figures.copy_rows = rollcall_db::bench::copy_floor(&pool, data.as_bytes(), 1 << 20).await?;
    figures.copy_seconds = copy_started.elapsed().as_secs_f64();
    figures.copy_wal_bytes =
        rollcall_db::bench::wal_mark(&pool).await?.lsn_bytes - wal_start.lsn_bytes;
    figures.copy_table = size(rollcall_db::bench::copy_floor_size(&pool).await?);
    drop(data);

    eprintln!("bench: broker floor");
    floor::broker_floor(
        &kafka_config(&brokers),
        figures.feeds,
        FLOOR_BATCHING,
        &mut figures,
    )
    .await?;

    processes.check_running()?;
    figures.peak_memory_kib = processes.peak_memory_kib();
    processes.stop();
    // Consumers log what they held at most when they stop.
    figures.peak_assembly_bytes = ["validator", "aggregator"]
        .into_iter()
        .flat_map(|service| {
            let instances = if service == "validator" {
                options.validators
            } else {
                options.aggregators
            };
            (1..=instances).map(move |i| instance_name(service, i))
        })
        .map(|name| {
            let log = std::fs::read_to_string(logs.join(format!("{name}.log"))).unwrap_or_default();
            (name, logged_peak(&log, "peak_assembly_bytes="))
        })
        .collect();
    pool.close().await;

    let timestamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let value = figures.to_json(machine::describe(), &timestamp);
    std::fs::create_dir_all(&options.out)
        .with_context(|| format!("cannot create {}", options.out.display()))?;
    let path = options
        .out
        .join(format!("{}-{timestamp}.json", figures.scale));
    std::fs::write(&path, serde_json::to_string_pretty(&value)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    print!("{}", figures.table());
    eprintln!(
        "bench: saved {} ({:.0}s in all)",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Settings whose values are not written into results: connection strings and credentials.
fn may_be_secret(name: &str) -> bool {
    ["URL", "PASSWORD", "TOKEN", "KEY", "SECRET"]
        .iter()
        .any(|word| name.contains(word))
}

/// The process (and log) name of a service's `instance`th copy: `aggregator`, `aggregator-2`.
fn instance_name(service: &str, instance: usize) -> String {
    if instance == 1 {
        service.to_owned()
    } else {
        format!("{service}-{instance}")
    }
}

/// CPU seconds used so far by each process the benchmark started and by the benchmark itself.
fn cpu_sample(processes: &Processes) -> Vec<(String, Option<f64>)> {
    let mut sample = processes.cpu_seconds();
    sample.push((
        "bench (generating and sending)".to_owned(),
        machine::process_cpu_seconds(std::process::id()),
    ));
    sample
}

/// What every service the benchmark starts is given: its database, plain text on loopback (set
/// explicitly), rate limits out of the way of the measurement, and operations listeners on
/// ports of the system's choosing (several instances of a worker run at once).
fn service_env(database_url: &str) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = ["GATEWAY", "VALIDATOR", "AGGREGATOR", "QUERY", "WEB"]
        .iter()
        .map(|service| {
            (
                format!("ROLLCALL__{service}__OPS_LISTEN"),
                "127.0.0.1:0".to_owned(),
            )
        })
        .collect();
    env.extend([
        (
            "ROLLCALL__DATABASE__URL".to_owned(),
            database_url.to_owned(),
        ),
        ("ROLLCALL__TLS__PLAINTEXT".to_owned(), "true".to_owned()),
        (
            "ROLLCALL__AUTH__REQUESTS_PER_SECOND".to_owned(),
            "1000000".to_owned(),
        ),
        ("ROLLCALL__AUTH__BURST".to_owned(), "1000000".to_owned()),
    ]);
    env
}

async fn channel(port: u16, token: &str) -> anyhow::Result<AuthChannel> {
    rollcall_client::connect(
        &format!("http://127.0.0.1:{port}"),
        &rollcall_client::Credentials::token(token),
    )
    .await
    .with_context(|| format!("cannot connect to port {port}"))
}

/// Sends every feed with `streams` concurrent vendor streams (a school's feeds in order on one
/// stream, each generated just before it is sent), then waits until every receipt says
/// processed. Returns the URN of the school with the largest roll.
async fn pipeline(
    plan: &Arc<Plan>,
    gateway: &AuthChannel,
    options: &Options,
    processes: &mut Processes,
    figures: &mut Figures,
) -> anyhow::Result<String> {
    let streams = options.streams;
    let cpu_start = cpu_sample(processes);
    let machine_start = machine::machine_cpu_seconds();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for stream in 0..streams {
        let plan = plan.clone();
        let mut client = FeedServiceClient::new(gateway.clone());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            let (mut marks, mut largest) = (0u64, (0usize, 0u32));
            for d in 0..plan.days().len() {
                for school in (stream..plan.schools.len()).step_by(streams) {
                    let plan = plan.clone();
                    let feed = tokio::task::spawn_blocking(move || plan.feed(d, school)).await?;
                    marks += feed.marks.len() as u64;
                    largest = largest.max((feed.roll.len(), feed.urn));
                    let receipt = rollcall_client::submit_feed(&mut client, &feed, "2024")
                        .await
                        .map_err(rollcall_client::status::error)?;
                    ids.push(receipt.feed_id);
                }
            }
            anyhow::Ok((ids, marks, largest))
        }));
    }
    let mut ids = Vec::new();
    let mut largest = (0usize, 0u32);
    for task in tasks {
        let (stream_ids, marks, stream_largest) = task.await??;
        ids.extend(stream_ids);
        figures.marks_sent += marks;
        largest = largest.max(stream_largest);
    }
    figures.ack_seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "bench: {} feeds carrying {} marks acknowledged in {:.1}s; waiting for the pipeline",
        ids.len(),
        figures.marks_sent,
        figures.ack_seconds
    );
    // A service that dies meanwhile fails the run at once, saying how it ended, rather than
    // leaving the wait to time out.
    let mut feeds = FeedServiceClient::new(gateway.clone());
    let receipts = tokio::select! {
        receipts = rollcall_client::wait_processed(
            &mut feeds,
            &ids,
            options.timeout,
        ) => receipts?,
        died = procs::first_exit(processes) => return Err(died),
    };
    figures.end_to_end_seconds = started.elapsed().as_secs_f64();
    figures.drain_seconds = figures.end_to_end_seconds - figures.ack_seconds;
    if let (Some(machine_start), Some(machine_end)) =
        (machine_start, machine::machine_cpu_seconds())
    {
        figures.pipeline_cpu = Some(CpuUse::between(
            figures.end_to_end_seconds,
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            &cpu_start,
            &cpu_sample(processes),
            machine_end - machine_start,
        ));
    }
    for receipt in &receipts {
        if let Some(o) = &receipt.outcome {
            figures.marks_written += u64::from(o.marks_written);
            figures.marks_superseded += u64::from(o.marks_superseded);
            figures.marks_rejected += u64::from(o.marks_rejected);
        }
    }
    eprintln!(
        "bench: every feed processed {:.1}s after the last acknowledgement",
        figures.drain_seconds
    );
    Ok(format!("{:06}", largest.1))
}

/// p50 and p99 of the LA summary, the largest school's summary and the LA at-risk list over
/// the academic year to date (the view an LA opens; answered from the year totals), `requests`
/// of each, one at a time.
async fn query_latencies(
    plan: &Plan,
    largest: &str,
    query: &AuthChannel,
    requests: usize,
) -> anyhow::Result<Vec<Latency>> {
    let days = plan.days();
    let period = Some(Period {
        from: rollcall_domain::AcademicYear::of(days[0])
            .first_day()
            .to_string(),
        to: days[days.len() - 1].to_string(),
    });
    let la_code = format!("{:03}", plan.spec.la_code);
    let mut client = QueryServiceClient::new(query.clone());
    let grpc = rollcall_client::status::error;
    let mut samples = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..requests {
        let t = Instant::now();
        client
            .la_summary(LaSummaryRequest {
                as_at: String::new(),
                la_code: la_code.clone(),
                period: period.clone(),
            })
            .await
            .map_err(grpc)?;
        samples[0].push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        client
            .school_summary(SchoolSummaryRequest {
                as_at: String::new(),
                school_urn: largest.to_owned(),
                period: period.clone(),
            })
            .await
            .map_err(grpc)?;
        samples[1].push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        client
            .at_risk_pupils(AtRiskPupilsRequest {
                la_code: la_code.clone(),
                period: period.clone(),
                level: RiskLevel::Persistent as i32,
                purpose: "bench: at-risk latency".into(),
                ..Default::default()
            })
            .await
            .map_err(grpc)?;
        samples[2].push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(vec![
        Latency::from_samples("la summary", &samples[0]),
        Latency::from_samples("school summary (largest school)", &samples[1]),
        Latency::from_samples("la at-risk list", &samples[2]),
    ])
}

/// `rows` distinct marks in COPY text format, with the marks' key: 400 sessions per
/// enrolment (200 days, AM and PM) and a mix of codes.
fn copy_rows(rows: u64) -> String {
    let first = chrono::NaiveDate::from_ymd_opt(2025, 9, 1).expect("valid date");
    let dates: Vec<String> = (0..200)
        .map(|d| (first + chrono::Duration::days(d)).to_string())
        .collect();
    // COPY's text format escapes a backslash: the PM present code `\` is sent as `\\`.
    const CODES: [&str; 8] = ["/", "\\\\", "/", "\\\\", "I", "M", "N", "L"];
    let mut out = String::with_capacity(rows as usize * 24);
    for i in 0..rows {
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}",
            i / 400 + 1,
            dates[((i / 2) % 200) as usize],
            i % 2,
            CODES[(i % 8) as usize]
        );
    }
    out
}

/// The bench broker as the services see it.
fn kafka_config(brokers: &str) -> KafkaConfig {
    KafkaConfig {
        brokers: brokers.to_owned(),
        partitions: 6,
        replication_factor: 1,
        create_topics: true,
        max_message_bytes: 921_600,
        compression: "zstd".into(),
        retention_hours: 168,
        assembly_timeout_secs: 600,
        topics: Topics {
            feeds: FEEDS_TOPIC.into(),
            validated: VALIDATED_TOPIC.into(),
            rejected: "rollcall.rejected.v1".into(),
        },
        groups: Groups {
            validator: "rollcall-validator".into(),
            aggregator: "rollcall-aggregator".into(),
        },
        instance_id: None,
        properties: Default::default(),
    }
}

/// Seconds from the first to the last log line containing `needle`, read from each line's
/// leading RFC 3339 timestamp (colour codes ignored).
fn log_span(log: &str, needle: &str) -> Option<f64> {
    let times: Vec<chrono::DateTime<chrono::Utc>> = log
        .lines()
        .filter(|line| line.contains(needle))
        .filter_map(|line| {
            let plain = strip_ansi(line);
            let stamp = plain.split_whitespace().next()?.to_owned();
            chrono::DateTime::parse_from_rfc3339(&stamp)
                .ok()
                .map(|t| t.to_utc())
        })
        .collect();
    let (first, last) = (times.iter().min()?, times.iter().max()?);
    Some((*last - *first).as_seconds_f64())
}

/// The largest value a log field `field` (given as `name=`) took in `log`.
fn logged_peak(log: &str, field: &str) -> Option<u64> {
    log.lines()
        .filter_map(|line| {
            let plain = strip_ansi(line);
            let at = plain.find(field)? + field.len();
            let digits: String = plain[at..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .max()
}

/// The text without terminal colour codes (`ESC [ ... m`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_span_runs_from_the_first_to_the_last_matching_line() {
        let log = "\u{1b}[2m2026-11-23T11:14:31.500000Z\u{1b}[0m INFO feed validated school=140003\n\
                   2026-11-23T11:14:32.000000Z INFO consuming\n\
                   \u{1b}[2m2026-11-23T11:14:33.750000Z\u{1b}[0m INFO feed validated school=140010\n";
        assert_eq!(log_span(log, "feed validated"), Some(2.25));
        assert_eq!(log_span(log, "feed stored"), None);
    }

    #[test]
    fn a_logged_peak_is_the_largest_value_of_the_field() {
        let log = "2026-12-02T14:00:00Z INFO consumer stopped topic=rollcall.feeds \
                   \u{1b}[3mpeak_assembly_bytes\u{1b}[0m\u{1b}[2m=\u{1b}[0m16754\n\
                   2026-12-02T14:00:01Z INFO consumer stopped peak_assembly_bytes=900\n";
        assert_eq!(logged_peak(log, "peak_assembly_bytes="), Some(16754));
        assert_eq!(logged_peak("nothing here", "peak_assembly_bytes="), None);
    }

    #[test]
    fn copy_rows_are_distinct_keys_in_copy_text_format() {
        let data = copy_rows(1_000);
        let rows: Vec<Vec<&str>> = data.lines().map(|l| l.split('\t').collect()).collect();
        assert_eq!(rows.len(), 1_000);
        assert!(rows.iter().all(|r| r.len() == 4));
        let keys: std::collections::HashSet<_> = rows.iter().map(|r| (r[0], r[1], r[2])).collect();
        assert_eq!(keys.len(), 1_000);
        assert_eq!(rows[1][3], "\\\\");
    }
}
