//! `rollcall demo`, run with an admin's credentials: it generates a synthetic LA, imports its
//! schools, registers a vendor for them and makes a vendor key and an LA user's key, then sends
//! every feed as the vendor, waits for the pipeline, and queries (and exports) as the LA.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use rollcall_client::{AuthChannel, Credentials, export, status};
use rollcall_proto::export::v1::{
    EesYearToDateRequest, export_service_client::ExportServiceClient,
};
use rollcall_proto::feed::v1::{ValidationOutcome, feed_service_client::FeedServiceClient};
use rollcall_proto::query::v1::{
    AtRiskPupilsRequest, LaSummaryRequest, Period, RiskLevel,
    query_service_client::QueryServiceClient, registry_service_client::RegistryServiceClient,
};
use rollcall_synth::SyntheticLa;
use serde_json::json;

use super::{Context, spec_named};
use crate::args::DemoArgs;
use crate::progress::{self, Bar};
use crate::render::{self, DemoSummary};

pub async fn run(context: &Context, args: DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let la = SyntheticLa::generate(spec_named(&args.spec));
    let pupils = la
        .final_marks()
        .keys()
        .map(|(urn, upn, _, _)| (*urn, upn.clone()))
        .collect::<HashSet<_>>()
        .len();
    eprintln!(
        "demo: generated LA {} ({}): {} schools ({} independent), {} pupils, {} school days, {} feeds carrying {} marks",
        la.spec.la_code,
        rollcall_domain::LaCode::new(la.spec.la_code)
            .map(|l| l.name())
            .unwrap_or("?"),
        la.schools.len(),
        la.schools.iter().filter(|s| s.independent).count(),
        pupils,
        la.spec.days,
        la.feeds.len(),
        la.marks_sent()
    );
    let admin = &context.credentials;
    let admin_channel = rollcall_client::connect(&context.query, admin).await?;
    let imported = rollcall_client::import_synthetic_schools(
        &mut RegistryServiceClient::new(admin_channel.clone()),
        &la.schools,
    )
    .await
    .map_err(status::error)?;
    eprintln!("demo: imported {imported} schools into the registry");
    let keys =
        rollcall_client::synthetic_keys(admin_channel, "demo-mis", la.spec.la_code, &la.schools)
            .await
            .map_err(status::error)?;
    eprintln!(
        "demo: registered vendor demo-mis for every school; made a vendor key and an la {:03} user's key",
        la.spec.la_code
    );
    let as_vendor = Credentials {
        token: Some(keys.vendor_token),
        ..admin.clone()
    };
    let as_la = Credentials {
        token: Some(keys.la_token),
        ..admin.clone()
    };
    let gateway_channel = rollcall_client::connect(&context.gateway, &as_vendor).await?;
    let query_channel = rollcall_client::connect(&context.query, &as_la).await?;

    let submit_started = Instant::now();
    let streams = args.streams.max(1);
    let ids = send(&la, &gateway_channel, streams).await?;
    let acknowledged = submit_started.elapsed();
    eprintln!(
        "demo: {} feeds acknowledged by the gateway in {:.1}s ({:.0} marks/s over {streams} streams); waiting for the pipeline",
        ids.len(),
        acknowledged.as_secs_f64(),
        la.marks_sent() as f64 / acknowledged.as_secs_f64()
    );
    let receipts = rollcall_client::wait_processed_with(
        &mut FeedServiceClient::new(gateway_channel),
        &ids,
        Duration::from_secs(args.timeout),
        &Bar::receipts(),
    )
    .await?;
    let processed = submit_started.elapsed();
    let outcome = |f: fn(&ValidationOutcome) -> u32| -> u64 {
        receipts
            .iter()
            .map(|r| u64::from(r.outcome.as_ref().map(f).unwrap_or_default()))
            .sum()
    };
    let (written, superseded, rejected) = (
        outcome(|o| o.marks_written),
        outcome(|o| o.marks_superseded),
        outcome(|o| o.marks_rejected),
    );
    eprintln!(
        "demo: every feed processed {:.1}s after the first was sent ({:.1}s after the last acknowledgement): {written} marks written, {superseded} not written (a version at least as new was stored), {rejected} rejected",
        processed.as_secs_f64(),
        (processed - acknowledged).as_secs_f64()
    );

    let days = la.spec.school_days();
    let period = Period {
        from: days[0].to_string(),
        to: days[days.len() - 1].to_string(),
    };
    let la_code = format!("{:03}", la.spec.la_code);
    let mut client = QueryServiceClient::new(query_channel.clone());
    let summary = client
        .la_summary(LaSummaryRequest {
            as_at: String::new(),
            la_code: la_code.clone(),
            period: Some(period.clone()),
        })
        .await
        .map_err(status::error)?
        .into_inner();
    let at_risk = client
        .at_risk_pupils(AtRiskPupilsRequest {
            la_code: la_code.clone(),
            period: Some(period),
            level: RiskLevel::Persistent as i32,
            purpose: "demo: at-risk counts for the synthetic la".into(),
            ..Default::default()
        })
        .await
        .map_err(status::error)?
        .into_inner();
    // The LA's figures in the DfE's published layout, as the LA user would export them.
    let mut exported = None;
    if let Some(dir) = &args.export_dir {
        let out = dir.join(format!("ees-ytd-{la_code}.csv"));
        let request = EesYearToDateRequest {
            la_codes: vec![la_code.clone()],
            ..Default::default()
        };
        let echo = json!({"export": "ees-ytd", "la_codes": request.la_codes});
        let stream = ExportServiceClient::new(query_channel)
            .ees_year_to_date(request)
            .await
            .map_err(status::error)?
            .into_inner();
        let written = export::write(stream, &out, echo, &Bar::export()).await?;
        eprintln!(
            "demo: wrote the DfE year-to-date layout for LA {la_code} to {} ({} rows, sha256 {}, manifest beside it)",
            written.path.display(),
            written.rows,
            &written.sha256[..16]
        );
        exported = Some(written);
    }
    let demo = DemoSummary {
        schools: la.schools.len(),
        pupils,
        feeds: ids.len(),
        marks: la.marks_sent(),
        marks_written: written,
        marks_superseded: superseded,
        marks_rejected: rejected,
        summary,
        persistent: at_risk.persistent_count,
        severe: at_risk.severe_count,
        export: exported,
        acknowledged,
        processed,
        total: started.elapsed(),
    };
    context.print(render::demo_json(&demo), || render::demo_text(&demo));
    Ok(())
}

/// Sends every feed over `streams` concurrent streams, each one vendor sending its schools'
/// feeds day by day, and returns the feed ids.
async fn send(
    la: &SyntheticLa,
    gateway: &AuthChannel,
    streams: usize,
) -> anyhow::Result<Vec<String>> {
    let sent = progress::feeds(la.feeds.len() as u64, "sending");
    let mut tasks = Vec::new();
    for stream in 0..streams {
        let feeds: Vec<rollcall_synth::Feed> = la
            .feeds
            .iter()
            .filter(|f| {
                la.schools.iter().position(|s| s.urn == f.urn).unwrap_or(0) % streams == stream
            })
            .cloned()
            .collect();
        let mut client = FeedServiceClient::new(gateway.clone());
        let sent = sent.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::with_capacity(feeds.len());
            for feed in &feeds {
                ids.push(
                    rollcall_client::submit_feed(&mut client, feed, "2024")
                        .await
                        .map_err(status::error)?
                        .feed_id,
                );
                sent.inc(1);
            }
            anyhow::Ok(ids)
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.extend(task.await??);
    }
    sent.finish_and_clear();
    Ok(ids)
}
