//! The `la-year` scale: a Birmingham-sized LA's whole academic year, about 74 million marks,
//! for storage per mark, query latency and export throughput and memory at full volume.
//!
//! Sending a year through the gateway would take hours on a 2-core machine, so the year is
//! generated straight into the database through the pipeline's own code: each school's week is
//! checked by the validator's catalogue (`rollcall_domain::validation::validate`) and stored by
//! the aggregator's write path (`rollcall_db::apply_validated_feed`), with no broker in between.
//! The throughput of that load is the aggregator's alone. The query service then runs as a
//! process, as in the other scales, and is timed through gRPC.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use chrono::{NaiveDate, Utc};
use rollcall_domain::AcademicYear;
use rollcall_domain::feed::{Outcome, ValidatedFeed};
use rollcall_domain::validation::{self, Context, RawMark, RawPupil};
use rollcall_proto::query::v1::{
    ApproachingPersistentRequest, AtRiskPupilsRequest, FindPupilsRequest, LaSummaryRequest, Period,
    PupilTimelineRequest, RiskLevel, SchoolSummaryRequest,
    query_service_client::QueryServiceClient,
};
use rollcall_synth::Plan;

use crate::report::{self, Latency, Size};
use crate::{Options, channel, exports, machine, procs, service_env};

/// School days in a feed: a week, as a vendor sending weekly would.
const DAYS_PER_FEED: usize = 5;

/// Concurrent writers, each on its own connection and its own schools.
const WRITERS: usize = 3;

pub async fn run(options: Options) -> anyhow::Result<()> {
    let started = Instant::now();
    let plan = Arc::new(Plan::new(options.scale.spec()));
    let days = plan.days().len();
    eprintln!(
        "bench: scale {}: {} schools, {} pupils, {} school days planned in {:.1}s",
        options.scale.name(),
        plan.schools.len(),
        plan.spec.pupils,
        days,
        started.elapsed().as_secs_f64()
    );

    rollcall_db::drop_database(&options.database_url).await?;
    rollcall_db::ensure_database(&options.database_url).await?;
    let pool = rollcall_db::open(&options.database_url, WRITERS as u32 + 1).await?;
    rollcall_db::sync_codes(&pool, &rollcall_db::domain_codes()).await?;
    let schools = rollcall_synth::registry_rows(&plan.schools);
    rollcall_db::upsert_schools(&pool, &schools).await?;

    let load_started = Instant::now();
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let plan = plan.clone();
        let pool = pool.clone();
        writers.push(tokio::spawn(async move {
            let mut marks = 0u64;
            let mut feeds = 0u64;
            let mut last_report = Instant::now();
            for first_day in (0..days).step_by(DAYS_PER_FEED) {
                for school in (writer..plan.schools.len()).step_by(WRITERS) {
                    let plan = plan.clone();
                    let feed = tokio::task::spawn_blocking(move || week(&plan, school, first_day))
                        .await??;
                    marks += feed.marks.len() as u64;
                    feeds += 1;
                    rollcall_db::apply_validated_feed(&pool, &feed).await?;
                }
                if writer == 0 && last_report.elapsed().as_secs() >= 30 {
                    last_report = Instant::now();
                    eprintln!("bench: loaded up to school day {first_day} of {days}");
                }
            }
            anyhow::Ok((feeds, marks))
        }));
    }
    let (mut feeds, mut marks) = (0u64, 0u64);
    for writer in writers {
        let (f, m) = writer.await??;
        feeds += f;
        marks += m;
    }
    let load_seconds = load_started.elapsed().as_secs_f64();
    eprintln!(
        "bench: {marks} marks in {feeds} weekly feeds stored in {load_seconds:.0}s ({:.0} marks/s)",
        marks as f64 / load_seconds
    );

    let size = |s: rollcall_db::bench::TableSize| Size {
        bytes: s.bytes,
        rows: s.rows,
    };
    let marks_before_vacuum = size(rollcall_db::bench::marks_size(&pool).await?);
    rollcall_db::bench::vacuum_marks(&pool).await?;
    let marks_after_vacuum = size(rollcall_db::bench::marks_size(&pool).await?);
    let totals = size(rollcall_db::bench::totals_size(&pool).await?);

    let logs = PathBuf::from(".run/bench");
    std::fs::create_dir_all(&logs).context("cannot create .run/bench")?;
    let mut processes = procs::Processes::default();
    let query_port = procs::free_port()?;
    let mut env = service_env(&options.database_url);
    env.push((
        "ROLLCALL__QUERY__LISTEN".to_owned(),
        format!("127.0.0.1:{query_port}"),
    ));
    // The LA team's key, straight in the database as `rollcall keys bootstrap` makes one.
    let la_code = format!("{:03}", plan.spec.la_code);
    let (_, la_token) =
        rollcall_server::auth::issue_key(&pool, "la", &la_code, "bench la team", 1).await?;
    let program = std::env::current_exe()?
        .parent()
        .context("the benchmark's executable has no directory")?
        .join("rollcall-query");
    processes.spawn("query", &program, &[], &env, &logs)?;
    procs::wait_port(query_port, &mut processes).await?;
    pool.close().await;
    let mut latencies = latencies(&plan, query_port, &la_token, options.queries).await?;
    latencies.extend(pupil_latencies(&plan, query_port, &la_token, options.queries).await?);
    processes.check_running()?;

    // Exports, against a query service of their own so its memory is theirs alone.
    let export_port = procs::free_port()?;
    let mut export_env = service_env(&options.database_url);
    export_env.push((
        "ROLLCALL__QUERY__LISTEN".to_owned(),
        format!("127.0.0.1:{export_port}"),
    ));
    processes.spawn("query (exports)", &program, &[], &export_env, &logs)?;
    procs::wait_port(export_port, &mut processes).await?;
    let days_planned = plan.days();
    let export_plan = exports::ExportPlan {
        la_code: &la_code,
        largest_school: &largest_school(&plan),
        first_day: days_planned[0],
        last_day: days_planned[days_planned.len() - 1],
        marks_in_year: marks,
    };
    let exports = exports::run(
        &export_plan,
        export_port,
        &la_token,
        &processes,
        "query (exports)",
        &logs.join("exports"),
    )
    .await?;
    processes.check_running()?;
    let peak_memory_kib = processes.peak_memory_kib();
    processes.stop();

    let figures = YearFigures {
        scale: options.scale.name().to_owned(),
        schools: plan.schools.len(),
        pupils: plan.spec.pupils,
        school_days: days,
        feeds,
        marks,
        load_seconds,
        marks_before_vacuum,
        marks_after_vacuum,
        totals,
        latencies,
        exports,
        peak_memory_kib,
    };
    let timestamp = Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let path = save(&options.out, &figures, &timestamp)?;
    print!("{}", figures.table());
    eprintln!(
        "bench: saved {} ({:.0}s in all)",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// School `school`'s week from school day `first_day`: the daily feeds' rolls and marks as one
/// feed, validated as the validator would, in the aggregator's input form. It also corrects the
/// week before, as a vendor's weekly send does: every session of it first sent as `N` (about
/// one absence in five, and a few present marks) now carries its reason, so the registers keep
/// a year's corrections in their history.
fn week(plan: &Plan, school: usize, first_day: usize) -> anyhow::Result<ValidatedFeed> {
    let last_day = (first_day + DAYS_PER_FEED).min(plan.days().len()) - 1;
    let mut roll: BTreeMap<String, RawPupil> = BTreeMap::new();
    let mut marks: Vec<RawMark> = Vec::new();
    for d in first_day.saturating_sub(DAYS_PER_FEED)..first_day {
        let (pupils, corrected) = plan.corrections(d, school);
        for pupil in pupils {
            roll.insert(pupil.upn.clone(), pupil);
        }
        marks.extend(corrected);
    }
    let mut extracted_at = None;
    for d in first_day..=last_day {
        let feed = plan.feed(d, school);
        for pupil in feed.roll {
            roll.insert(pupil.upn.clone(), pupil);
        }
        marks.extend(feed.marks);
        extracted_at = Some(feed.extracted_at);
    }
    let roll: Vec<RawPupil> = roll.into_values().collect();
    let context = Context {
        today: NaiveDate::MAX,
        school_registered: true,
    };
    let validated = validation::validate(&roll, &marks, &context);
    let summary = validated.summary();
    anyhow::ensure!(
        summary.marks_rejected == 0 && summary.roll_rejected == 0,
        "generated week of school {school} from day {first_day} failed validation"
    );
    let urn = plan.schools[school].urn;
    Ok(ValidatedFeed {
        feed_id: uuid::Uuid::from_u128((u128::from(urn) << 32) | first_day as u128),
        school: rollcall_domain::Urn::new(urn)?,
        recorded_at: extracted_at.context("a week has at least one day")?,
        replay: None,
        outcome: Outcome {
            summary,
            findings: Vec::new(),
            findings_omitted: 0,
        },
        pupils: validated.pupils,
        marks: validated.marks,
    })
}

/// p50 and p99 over the academic year to date (answered from the year totals) and over the
/// last four weeks (counted from the registers), `requests` of each kind.
async fn latencies(
    plan: &Plan,
    port: u16,
    token: &str,
    requests: usize,
) -> anyhow::Result<Vec<Latency>> {
    let days = plan.days();
    let last = days[days.len() - 1];
    let year = Period {
        from: AcademicYear::of(days[0]).first_day().to_string(),
        to: last.to_string(),
    };
    let four_weeks = Period {
        from: (last - chrono::Days::new(27)).to_string(),
        to: last.to_string(),
    };
    let la_code = format!("{:03}", plan.spec.la_code);
    let largest = largest_school(plan);
    let mut client = QueryServiceClient::new(channel(port, token).await?);
    let grpc = rollcall_client::status::error;
    let mut out = Vec::new();
    for (label, period, n) in [
        ("year to date", &year, requests),
        ("last 4 weeks", &four_weeks, requests.min(10)),
    ] {
        let mut samples = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..n {
            let t = Instant::now();
            client
                .la_summary(LaSummaryRequest {
                    as_at: String::new(),
                    la_code: la_code.clone(),
                    period: Some(period.clone()),
                })
                .await
                .map_err(grpc)?;
            samples[0].push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            client
                .school_summary(SchoolSummaryRequest {
                    as_at: String::new(),
                    school_urn: largest.clone(),
                    period: Some(period.clone()),
                })
                .await
                .map_err(grpc)?;
            samples[1].push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            client
                .at_risk_pupils(AtRiskPupilsRequest {
                    la_code: la_code.clone(),
                    period: Some(period.clone()),
                    level: RiskLevel::Persistent as i32,
                    purpose: "bench: at-risk latency".into(),
                    ..Default::default()
                })
                .await
                .map_err(grpc)?;
            samples[2].push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            client
                .approaching_persistent(ApproachingPersistentRequest {
                    la_code: la_code.clone(),
                    period: Some(period.clone()),
                    purpose: "bench: approaching latency".into(),
                    ..Default::default()
                })
                .await
                .map_err(grpc)?;
            samples[3].push(t.elapsed().as_secs_f64() * 1e3);
        }
        out.push(Latency::from_samples(
            &format!("la summary, {label}"),
            &samples[0],
        ));
        out.push(Latency::from_samples(
            &format!("school summary (largest school), {label}"),
            &samples[1],
        ));
        out.push(Latency::from_samples(
            &format!("la at-risk list, {label}"),
            &samples[2],
        ));
        out.push(Latency::from_samples(
            &format!("la approaching-persistent list, {label}"),
            &samples[3],
        ));
    }
    Ok(out)
}

/// p50 and p99 of the answers as at a moment half way through the year (the LA summary and the
/// at-risk list, year to date), and of one pupil's find by UPN and timeline (the first pupil of
/// the largest school), `requests` of each.
async fn pupil_latencies(
    plan: &Plan,
    port: u16,
    token: &str,
    requests: usize,
) -> anyhow::Result<Vec<Latency>> {
    let days = plan.days();
    let middle = days[days.len() / 2];
    let as_at = format!("{middle}T18:00:00Z");
    let year = Period {
        from: AcademicYear::of(days[0]).first_day().to_string(),
        to: days[days.len() - 1].to_string(),
    };
    let la_code = format!("{:03}", plan.spec.la_code);
    let largest = (0..plan.schools.len())
        .max_by_key(|&i| plan.feed(0, i).roll.len())
        .context("a plan has schools")?;
    let upn = plan.feed(0, largest).roll[0].upn.clone();
    let mut client = QueryServiceClient::new(channel(port, token).await?);
    let grpc = rollcall_client::status::error;
    let mut samples = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..requests {
        let t = Instant::now();
        client
            .la_summary(LaSummaryRequest {
                as_at: as_at.clone(),
                la_code: la_code.clone(),
                period: Some(year.clone()),
            })
            .await
            .map_err(grpc)?;
        samples[0].push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        client
            .at_risk_pupils(AtRiskPupilsRequest {
                la_code: la_code.clone(),
                period: Some(year.clone()),
                purpose: "bench: at-risk as at".into(),
                as_at: as_at.clone(),
                ..Default::default()
            })
            .await
            .map_err(grpc)?;
        samples[1].push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        client
            .find_pupils(FindPupilsRequest {
                upn: upn.clone(),
                purpose: "bench: find".into(),
                ..Default::default()
            })
            .await
            .map_err(grpc)?;
        samples[2].push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        client
            .pupil_timeline(PupilTimelineRequest {
                upn: upn.clone(),
                purpose: "bench: timeline".into(),
                period: Some(year.clone()),
                ..Default::default()
            })
            .await
            .map_err(grpc)?;
        samples[3].push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(vec![
        Latency::from_samples("la summary as at mid-year", &samples[0]),
        Latency::from_samples("la at-risk list as at mid-year", &samples[1]),
        Latency::from_samples("find a pupil by upn", &samples[2]),
        Latency::from_samples("pupil timeline, full year", &samples[3]),
    ])
}

/// The largest school: the one with the most pupils on its first day's roll.
fn largest_school(plan: &Plan) -> String {
    (0..plan.schools.len())
        .max_by_key(|&i| plan.feed(0, i).roll.len())
        .map(|i| format!("{:06}", plan.schools[i].urn))
        .unwrap_or_default()
}

struct YearFigures {
    scale: String,
    schools: usize,
    pupils: usize,
    school_days: usize,
    feeds: u64,
    marks: u64,
    load_seconds: f64,
    marks_before_vacuum: Size,
    marks_after_vacuum: Size,
    totals: Size,
    latencies: Vec<Latency>,
    exports: Vec<exports::ExportFigure>,
    peak_memory_kib: Vec<(String, Option<u64>)>,
}

impl YearFigures {
    fn table(&self) -> String {
        let mut rows: Vec<(String, String)> = vec![
            (
                "loaded".into(),
                format!(
                    "{} schools, {} pupils, {} school days: {} marks in {} weekly feeds",
                    self.schools, self.pupils, self.school_days, self.marks, self.feeds
                ),
            ),
            (
                "stage: validate + aggregator write path".into(),
                format!(
                    "{:.0} marks/s ({:.0} s, {WRITERS} writers)",
                    self.marks as f64 / self.load_seconds,
                    self.load_seconds
                ),
            ),
        ];
        for (label, size) in [
            (
                "bytes per stored mark (before VACUUM)",
                &self.marks_before_vacuum,
            ),
            (
                "bytes per stored mark (after VACUUM)",
                &self.marks_after_vacuum,
            ),
            ("bytes of year totals per mark", &self.totals),
        ] {
            rows.push((
                label.into(),
                format!(
                    "{:.1} ({} bytes, {} marks)",
                    size.per_row(),
                    size.bytes,
                    size.rows
                ),
            ));
        }
        report::latency_rows(&self.latencies, &mut rows);
        for e in &self.exports {
            rows.push((format!("export: {}", e.label), e.describe()));
        }
        report::memory_rows(&self.peak_memory_kib, &mut rows);
        report::render(&rows)
    }

    fn to_json(&self, timestamp: &str) -> serde_json::Value {
        let size = |s: &Size| serde_json::json!({ "bytes": s.bytes, "rows": s.rows, "bytes_per_row": s.per_row() });
        serde_json::json!({
            "scale": self.scale,
            "timestamp": timestamp,
            "machine": machine::describe(),
            "loaded_through": "validation::validate and rollcall_db::apply_validated_feed, no gateway or broker",
            "schools": self.schools,
            "pupils": self.pupils,
            "school_days": self.school_days,
            "feeds": self.feeds,
            "marks": self.marks,
            "load_seconds": self.load_seconds,
            "writers": WRITERS,
            "storage": {
                "marks_before_vacuum": size(&self.marks_before_vacuum),
                "marks_after_vacuum": size(&self.marks_after_vacuum),
                "year_totals": size(&self.totals),
            },
            "latency_ms": self.latencies.iter().map(|l| serde_json::json!({
                "query": l.query, "p50": l.p50_ms, "p99": l.p99_ms, "requests": l.requests,
            })).collect::<Vec<_>>(),
            "exports": self.exports.iter().map(exports::ExportFigure::to_json).collect::<Vec<_>>(),
            "peak_memory_kib": self.peak_memory_kib.iter().cloned().collect::<BTreeMap<_, _>>(),
        })
    }
}

fn save(out: &Path, figures: &YearFigures, timestamp: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let path = out.join(format!("{}-{timestamp}.json", figures.scale));
    let value = figures.to_json(timestamp);
    std::fs::write(&path, serde_json::to_string_pretty(&value)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}
