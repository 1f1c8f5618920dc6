//! The morning peak (`--scale peak`): every school's vendor opens its stream at the same moment,
//! one connection a school, each sending the school's week (the day's marks and the four days
//! before, corrected) against one gateway. Measures the time from opening the stream to the
//! receipt (retries after a shed included), the errors (a feed never taken), how many streams the
//! gateway shed and its peak memory, then how long the pipeline took to process them all.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::NaiveDate;
use rollcall_client::Backoff;
use rollcall_proto::feed::v1::feed_service_client::FeedServiceClient;
use rollcall_synth::{LaSpec, Plan};
use serde_json::json;

use crate::stack::{Layout, Stack};
use crate::{Options, percentile};

/// The peak's LA: 500 schools (25 independent), 240,000 pupils, a week each.
pub fn spec() -> LaSpec {
    LaSpec {
        la_code: 330,
        schools: 500,
        independent_schools: 25,
        pupils: 240_000,
        days: 5,
        first_day: NaiveDate::from_ymd_opt(2025, 10, 6).expect("valid date"),
        resend_days: 4,
        seed: 500,
    }
}

/// One stream's end.
struct Stream {
    millis: f64,
    attempts: u32,
    taken: bool,
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    let started = Instant::now();
    let plan = Arc::new(Plan::new(spec()));
    let last_day = plan.days().len() - 1;
    eprintln!(
        "bench: peak: {} schools, {} pupils; generating each school's week",
        plan.schools.len(),
        plan.spec.pupils
    );
    let feeds: Vec<rollcall_synth::Feed> = {
        let plan = plan.clone();
        tokio::task::spawn_blocking(move || {
            (0..plan.schools.len())
                .map(|school| plan.feed(last_day, school))
                .collect()
        })
        .await?
    };
    let marks: usize = feeds.iter().map(|f| f.marks.len()).sum();
    let largest = feeds.iter().map(|f| f.marks.len()).max().unwrap_or(0);

    let dir = PathBuf::from(".run/bench");
    std::fs::create_dir_all(&dir).context("cannot create .run/bench")?;
    let overrides: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("ROLLCALL__") && !crate::may_be_secret(k))
        .collect();
    let mut stack = Stack::start(
        Layout {
            database_url: &options.database_url,
            dir: &dir,
            validators: options.validators,
            aggregators: options.aggregators,
            durable_broker: false,
            env: Vec::new(),
        },
        &plan,
    )
    .await?;

    // One connection a school, all open before the clock starts.
    let mut clients = Vec::with_capacity(feeds.len());
    for _ in &feeds {
        clients.push(FeedServiceClient::new(stack.gateway().await?));
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(feeds.len()));
    let backoff = Backoff {
        first: Duration::from_millis(250),
        longest: Duration::from_secs(5),
        give_up_after: Duration::from_secs(300),
    };
    eprintln!("bench: peak: {} streams opening at once", feeds.len());
    let clock = Instant::now();
    let mut tasks = Vec::with_capacity(feeds.len());
    for (feed, mut client) in feeds.into_iter().zip(clients) {
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let t = Instant::now();
            let sent = rollcall_client::submit_retrying(
                &mut client,
                &rollcall_client::submission(&feed, "2024"),
                &backoff,
            )
            .await;
            let millis = t.elapsed().as_secs_f64() * 1e3;
            match sent {
                Ok(accepted) => (
                    Stream {
                        millis,
                        attempts: accepted.attempts,
                        taken: true,
                    },
                    Some(accepted.receipt.feed_id),
                ),
                Err(status) => {
                    eprintln!(
                        "bench: peak: a feed was not taken: {}",
                        rollcall_client::describe(&status)
                    );
                    (
                        Stream {
                            millis,
                            attempts: 0,
                            taken: false,
                        },
                        None,
                    )
                }
            }
        }));
    }
    let mut streams = Vec::with_capacity(tasks.len());
    let mut ids = Vec::new();
    for task in tasks {
        let (stream, id) = task.await?;
        streams.push(stream);
        ids.extend(id);
    }
    let all_receipts = clock.elapsed().as_secs_f64();
    let gateway_kib = stack
        .processes
        .peak_memory_kib()
        .into_iter()
        .find(|(name, _)| name == "gateway")
        .and_then(|(_, kib)| kib);
    eprintln!(
        "bench: peak: {} of {} feeds taken in {all_receipts:.1}s; waiting for the pipeline",
        ids.len(),
        streams.len()
    );
    let gateway = stack.gateway().await?;
    rollcall_client::wait_processed(&mut FeedServiceClient::new(gateway), &ids, options.timeout)
        .await?;
    let all_processed = clock.elapsed().as_secs_f64();
    stack.processes.check_running()?;
    stack.processes.stop();

    let mut millis: Vec<f64> = streams
        .iter()
        .filter(|s| s.taken)
        .map(|s| s.millis)
        .collect();
    millis.sort_by(f64::total_cmp);
    let errors = streams.iter().filter(|s| !s.taken).count();
    let shed: u64 = streams
        .iter()
        .filter(|s| s.taken)
        .map(|s| u64::from(s.attempts - 1))
        .sum();
    let streams_shed = streams.iter().filter(|s| s.attempts > 1).count();
    let timestamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let value = json!({
        "scale": "peak",
        "timestamp": timestamp,
        "machine": crate::machine::describe(),
        "overrides": overrides.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
        "la": {
            "schools": plan.schools.len(),
            "pupils": plan.spec.pupils,
            "days_per_feed": plan.spec.resend_days + 1,
            "marks": marks,
            "largest_feed_marks": largest,
        },
        "peak": {
            "streams": streams.len(),
            "errors": errors,
            "shed_answers": shed,
            "streams_shed": streams_shed,
            "p50_receipt_ms": percentile(&millis, 50.0),
            "p99_receipt_ms": percentile(&millis, 99.0),
            "max_receipt_ms": millis.last().copied().unwrap_or(0.0),
            "all_receipts_seconds": all_receipts,
            "all_processed_seconds": all_processed,
            "gateway_peak_memory_kib": gateway_kib,
        },
    });
    std::fs::create_dir_all(&options.out)
        .with_context(|| format!("cannot create {}", options.out.display()))?;
    let path = options.out.join(format!("peak-{timestamp}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&value)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    let peak = &value["peak"];
    let line = |name: &str, value: String| format!("{name:<44}{value}\n");
    let mut table = String::from("\nmorning peak\n");
    table += &line(
        "streams (one connection a school)",
        peak["streams"].to_string(),
    );
    table += &line("marks (a week a school)", marks.to_string());
    table += &line("errors (feeds never taken)", peak["errors"].to_string());
    table += &line(
        "shed answers (streams shed at least once)",
        format!("{shed} ({streams_shed})"),
    );
    table += &line(
        "time to receipt p50, p99, max",
        format!(
            "{:.0} ms, {:.0} ms, {:.0} ms",
            peak["p50_receipt_ms"].as_f64().unwrap_or(0.0),
            peak["p99_receipt_ms"].as_f64().unwrap_or(0.0),
            peak["max_receipt_ms"].as_f64().unwrap_or(0.0)
        ),
    );
    table += &line(
        "every receipt, every feed processed",
        format!("{all_receipts:.1} s, {all_processed:.1} s"),
    );
    table += &line(
        "gateway peak memory",
        gateway_kib.map_or("unknown".into(), |k| {
            format!("{:.0} MiB", k as f64 / 1024.0)
        }),
    );
    print!("{table}");
    eprintln!(
        "bench: saved {} ({:.0}s in all)",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
