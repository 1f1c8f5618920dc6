//! Each command: call the service, print a table (or JSON with --json).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use rollcall_cli::{AuthChannel, Credentials, Submission, csvfile, describe, export, table};
use rollcall_proto::admin::v1::{
    ApiKey, CreateKeyRequest, ListKeysRequest, RevokeKeyRequest, SetVendorSchoolsRequest,
    key_service_client::KeyServiceClient,
};
use rollcall_proto::export::v1::{
    CensusTermRequest, EesYearToDateRequest, PupilSessionsRequest, Term,
    export_service_client::ExportServiceClient,
};
use rollcall_proto::feed::v1::{
    FeedReceipt, GetFeedReceiptRequest, feed_service_client::FeedServiceClient,
};
use rollcall_proto::query::v1::{
    AtRiskPupilsRequest, AtRiskPupilsResponse, ImportSchoolsRequest, LaSummaryRequest,
    ListAuditEventsRequest, ListAuditEventsResponse, ListSchoolsRequest, Measures, Period,
    PipelineCountsRequest, RiskLevel, SchoolSummaryRequest,
    audit_service_client::AuditServiceClient, pipeline_service_client::PipelineServiceClient,
    query_service_client::QueryServiceClient, registry_service_client::RegistryServiceClient,
};
use rollcall_synth::{LaSpec, SyntheticLa};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{
    Cli, Command, ExportCommand, KeysCommand, PeriodArgs, QueryCommand, SchoolsCommand,
    VendorsCommand,
};

/// A gRPC failure as the one-line error the user sees.
fn grpc(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!(describe(&status))
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let json = cli.json;
    let credentials = Credentials {
        token: cli.token.clone(),
        ca_cert: cli.ca_cert.clone(),
        client_cert: cli.client_cert.clone(),
        client_key: cli.client_key.clone(),
    };
    let channel = async |url: &str| rollcall_cli::connect(url, &credentials).await;
    match cli.command {
        Command::Schools(SchoolsCommand::Import { file }) => {
            let schools = csvfile::read_schools(&file)?;
            let mut client = RegistryServiceClient::new(channel(&cli.query).await?);
            let imported = client
                .import_schools(ImportSchoolsRequest { schools })
                .await
                .map_err(grpc)?
                .into_inner()
                .imported;
            print(json, json!({ "imported": imported }), || {
                format!("imported {imported} schools\n")
            });
        }
        Command::Schools(SchoolsCommand::List { la }) => {
            let mut client = RegistryServiceClient::new(channel(&cli.query).await?);
            let schools = client
                .list_schools(ListSchoolsRequest {
                    la_code: la.unwrap_or_default(),
                })
                .await
                .map_err(grpc)?
                .into_inner()
                .schools;
            let rows: Vec<Vec<String>> = schools
                .iter()
                .map(|s| {
                    vec![
                        s.urn.clone(),
                        s.la_code.clone(),
                        s.name.clone(),
                        s.phase.clone(),
                        s.school_type.clone(),
                        yes_no(s.independent),
                    ]
                })
                .collect();
            let value = Value::Array(schools.iter().map(|s| json!({"urn": s.urn, "la_code": s.la_code, "name": s.name, "phase": s.phase, "school_type": s.school_type, "independent": s.independent})).collect());
            print(json, value, || {
                table::render(
                    &["urn", "la", "name", "phase", "type", "independent"],
                    &rows,
                )
            });
        }
        Command::Submit {
            school,
            roll,
            marks,
            key,
            extracted_at,
        } => {
            let roll_bytes =
                std::fs::read(&roll).with_context(|| format!("cannot read {}", roll.display()))?;
            let marks_bytes = std::fs::read(&marks)
                .with_context(|| format!("cannot read {}", marks.display()))?;
            let roll_records = csvfile::read_roll(&roll)?;
            let mark_records = csvfile::read_marks(&marks)?;
            let key = key.unwrap_or_else(|| {
                let digest = Sha256::new()
                    .chain_update(&roll_bytes)
                    .chain_update(&marks_bytes)
                    .finalize();
                format!("csv-{}", &hex(&digest)[..32])
            });
            let mut client = FeedServiceClient::new(channel(&cli.gateway).await?);
            let receipt = rollcall_cli::submit(
                &mut client,
                &Submission {
                    school_urn: school,
                    extracted_at: extracted_at.unwrap_or_else(chrono::Utc::now),
                    idempotency_key: key,
                    code_set: "2024",
                    roll: &roll_records,
                    marks: &mark_records,
                },
            )
            .await
            .map_err(grpc)?;
            print(json, receipt_json(&receipt), || receipt_text(&receipt));
        }
        Command::Receipt { feed_id, wait } => {
            let mut client = FeedServiceClient::new(channel(&cli.gateway).await?);
            let receipt = match wait {
                Some(seconds) => rollcall_cli::wait_processed(
                    &mut client,
                    std::slice::from_ref(&feed_id),
                    Duration::from_secs(seconds),
                )
                .await?
                .remove(0),
                None => client
                    .get_feed_receipt(GetFeedReceiptRequest { feed_id })
                    .await
                    .map_err(grpc)?
                    .into_inner(),
            };
            print(json, receipt_json(&receipt), || receipt_text(&receipt));
        }
        Command::Query(query) => run_query(channel(&cli.query).await?, json, query).await?,
        Command::Export(export) => run_export(channel(&cli.query).await?, json, export).await?,
        Command::Keys(KeysCommand::Bootstrap {
            database_url,
            valid_days,
            description,
        }) => {
            let pool = rollcall_db::open(&database_url, 1)
                .await
                .context("cannot open the database")?;
            let (key, token) =
                rollcall_server::auth::issue_key(&pool, "admin", "", &description, valid_days)
                    .await
                    .context("cannot store the key")?;
            pool.close().await;
            print_new_key(json, &key.key_id, &key.expires_at.to_rfc3339(), &token);
        }
        Command::Keys(keys) => run_keys(channel(&cli.query).await?, json, keys).await?,
        Command::Vendors(VendorsCommand::SetSchools { vendor, urns }) => {
            let mut client = KeyServiceClient::new(channel(&cli.query).await?);
            let r = client
                .set_vendor_schools(SetVendorSchoolsRequest {
                    vendor: vendor.clone(),
                    school_urns: urns,
                })
                .await
                .map_err(grpc)?
                .into_inner();
            print(
                json,
                json!({"vendor": vendor, "school_urns": r.school_urns}),
                || format!("{vendor} may send feeds for {}\n", r.school_urns.join(" ")),
            );
        }
        Command::Status => {
            let mut client = PipelineServiceClient::new(channel(&cli.query).await?);
            let r = client
                .pipeline_counts(PipelineCountsRequest {})
                .await
                .map_err(grpc)?
                .into_inner();
            let value = json!({
                "feeds_received": r.feeds_received,
                "feeds_enqueued": r.feeds_enqueued,
                "feeds_processed": r.feeds_processed,
                "marks_stored": r.marks_stored,
                "feeds_parked": r.feeds_parked,
            });
            print(json, value, || {
                format!(
                    "feeds: {} received, {} enqueued, {} processed, {} parked; {} marks stored\n",
                    r.feeds_received,
                    r.feeds_enqueued,
                    r.feeds_processed,
                    r.feeds_parked,
                    r.marks_stored
                )
            });
        }
        Command::Audit { since, limit } => {
            let mut client = AuditServiceClient::new(channel(&cli.query).await?);
            let r = client
                .list_audit_events(ListAuditEventsRequest {
                    since: since.unwrap_or_default(),
                    limit,
                })
                .await
                .map_err(grpc)?
                .into_inner();
            print(json, audit_json(&r), || audit_text(&r));
        }
        Command::Demo {
            spec,
            streams,
            timeout,
            export_dir,
        } => {
            demo(
                &cli.gateway,
                &cli.query,
                &credentials,
                json,
                DemoRun {
                    spec: spec_named(&spec),
                    streams,
                    timeout,
                    export_dir: export_dir.as_deref(),
                },
            )
            .await?
        }
        Command::Synth { spec, out } => synth(spec_named(&spec), &out, json)?,
    }
    Ok(())
}

async fn run_export(channel: AuthChannel, json: bool, export: ExportCommand) -> anyhow::Result<()> {
    let (ExportCommand::EesYtd { out, .. }
    | ExportCommand::PupilSessions { out, .. }
    | ExportCommand::Census { out, .. }) = &export;
    // A bad file name is an error before the server is asked for anything.
    export::Format::of(out)?;
    let mut client = ExportServiceClient::new(channel);
    let (stream, out, request) = match export {
        ExportCommand::EesYtd {
            la,
            all_las,
            regional,
            national,
            from,
            to,
            out,
        } => {
            let request = EesYearToDateRequest {
                la_codes: la,
                all_las,
                regional,
                national,
                from: from.unwrap_or_default(),
                to: to.unwrap_or_default(),
            };
            let echo = json!({"export": "ees-ytd", "la_codes": request.la_codes, "all_las": all_las,
                "regional": regional, "national": national, "from": request.from, "to": request.to});
            (client.ees_year_to_date(request).await, out, echo)
        }
        ExportCommand::PupilSessions {
            scope,
            from,
            to,
            dfe_scope,
            out,
        } => {
            if export::Format::of(&out)? != export::Format::Csv {
                anyhow::bail!(
                    "pupil-sessions is written as .csv only: a year of an LA is more rows than a worksheet holds"
                );
            }
            let request = PupilSessionsRequest {
                la_code: scope.la.clone().unwrap_or_default(),
                school_urn: scope.school.clone().unwrap_or_default(),
                from,
                to,
                dfe_scope,
                purpose: scope.purpose.clone(),
            };
            let echo = json!({"export": "pupil-sessions", "la_code": request.la_code,
                "school_urn": request.school_urn, "from": request.from, "to": request.to,
                "dfe_scope": dfe_scope, "purpose": request.purpose});
            (client.pupil_sessions(request).await, out, echo)
        }
        ExportCommand::Census {
            scope,
            year,
            term,
            out,
        } => {
            let term_value = match term.as_str() {
                "autumn" => Term::Autumn,
                "spring" => Term::Spring,
                _ => Term::Summer,
            };
            let request = CensusTermRequest {
                la_code: scope.la.clone().unwrap_or_default(),
                school_urn: scope.school.clone().unwrap_or_default(),
                academic_year: year,
                term: term_value as i32,
                purpose: scope.purpose.clone(),
            };
            let echo = json!({"export": "census-term", "la_code": request.la_code,
                "school_urn": request.school_urn, "academic_year": request.academic_year,
                "term": term, "purpose": request.purpose});
            (client.census_term(request).await, out, echo)
        }
    };
    let stream = stream.map_err(grpc)?.into_inner();
    let written = export::write(stream, &out, request).await?;
    let value = json!({
        "file": written.path.display().to_string(),
        "manifest": written.manifest.display().to_string(),
        "rows": written.rows,
        "bytes": written.bytes,
        "sha256": written.sha256,
        "as_of": written.as_of,
        "seconds": written.elapsed.as_secs_f64(),
    });
    print(json, value, || {
        format!(
            "wrote {} rows ({} bytes) to {} in {:.1}s\nsha256 {}\ndata as of {}\nmanifest {}\n",
            written.rows,
            written.bytes,
            written.path.display(),
            written.elapsed.as_secs_f64(),
            written.sha256,
            written.as_of,
            written.manifest.display()
        )
    });
    Ok(())
}

async fn run_keys(channel: AuthChannel, json: bool, keys: KeysCommand) -> anyhow::Result<()> {
    let mut client = KeyServiceClient::new(channel);
    match keys {
        KeysCommand::Create {
            kind,
            org,
            description,
            valid_days,
        } => {
            let r = client
                .create_key(CreateKeyRequest {
                    kind,
                    organisation: org,
                    description,
                    valid_days: valid_days.unwrap_or_default(),
                })
                .await
                .map_err(grpc)?
                .into_inner();
            let key = r.key.unwrap_or_default();
            print_new_key(json, &key.key_id, &key.expires_at, &r.token);
        }
        KeysCommand::List => {
            let r = client
                .list_keys(ListKeysRequest {})
                .await
                .map_err(grpc)?
                .into_inner();
            let value = Value::Array(r.keys.iter().map(key_json).collect());
            print(json, value, || {
                let rows: Vec<Vec<String>> = r
                    .keys
                    .iter()
                    .map(|k| {
                        vec![
                            k.key_id.clone(),
                            k.kind.clone(),
                            k.organisation.clone(),
                            k.created_at.clone(),
                            k.expires_at.clone(),
                            k.revoked_at.clone(),
                            k.description.clone(),
                        ]
                    })
                    .collect();
                table::render(
                    &[
                        "key_id",
                        "kind",
                        "organisation",
                        "created",
                        "expires",
                        "revoked",
                        "description",
                    ],
                    &rows,
                )
            });
        }
        KeysCommand::Revoke { key_id } => {
            let r = client
                .revoke_key(RevokeKeyRequest { key_id })
                .await
                .map_err(grpc)?
                .into_inner();
            let key = r.key.unwrap_or_default();
            print(json, key_json(&key), || {
                format!("key {} revoked at {}\n", key.key_id, key.revoked_at)
            });
        }
        KeysCommand::Bootstrap { .. } => unreachable!("bootstrap needs no service"),
    }
    Ok(())
}

/// A new key: the token goes to stdout alone (so scripts can capture it), the rest to stderr.
fn print_new_key(json: bool, key_id: &str, expires_at: &str, token: &str) {
    if json {
        println!(
            "{}",
            json!({"key_id": key_id, "expires_at": expires_at, "token": token})
        );
    } else {
        eprintln!("key {key_id} created, expires {expires_at}; the token below is shown only once");
        println!("{token}");
    }
}

fn key_json(k: &ApiKey) -> Value {
    json!({
        "key_id": k.key_id,
        "kind": k.kind,
        "organisation": k.organisation,
        "description": k.description,
        "created_at": k.created_at,
        "expires_at": k.expires_at,
        "revoked_at": (!k.revoked_at.is_empty()).then_some(&k.revoked_at),
        "vendor_schools": k.vendor_schools,
    })
}

fn audit_json(r: &ListAuditEventsResponse) -> Value {
    Value::Array(
        r.events
            .iter()
            .map(|e| {
                json!({
                    "id": e.id,
                    "at": e.at,
                    "key_id": e.key_id,
                    "principal_kind": e.principal_kind,
                    "organisation": e.organisation,
                    "rpc": e.rpc,
                    "purpose": e.purpose,
                    "request_scope": e.request_scope,
                    "enrolment_ids": e.enrolment_ids,
                })
            })
            .collect(),
    )
}

fn audit_text(r: &ListAuditEventsResponse) -> String {
    let rows: Vec<Vec<String>> = r
        .events
        .iter()
        .map(|e| {
            vec![
                e.at.clone(),
                e.key_id.clone(),
                format!("{} {}", e.principal_kind, e.organisation)
                    .trim()
                    .to_owned(),
                e.rpc.rsplit('/').next().unwrap_or_default().to_owned(),
                e.request_scope.clone(),
                e.enrolment_ids.len().to_string(),
                e.purpose.clone(),
            ]
        })
        .collect();
    table::render(
        &[
            "at",
            "key_id",
            "who",
            "call",
            "asked for",
            "your pupils",
            "purpose",
        ],
        &rows,
    )
}

async fn run_query(channel: AuthChannel, json: bool, query: QueryCommand) -> anyhow::Result<()> {
    let mut client = QueryServiceClient::new(channel);
    match query {
        QueryCommand::School { urn, period } => {
            let r = client
                .school_summary(SchoolSummaryRequest {
                    school_urn: urn,
                    period: Some(period_of(&period)),
                })
                .await
                .map_err(grpc)?
                .into_inner();
            let school = r.school.unwrap_or_default();
            let m = r.measures.unwrap_or_default();
            let value = json!({"school": school_json(&school), "from": r.from, "to": r.to, "measures": measures_json(&m)});
            print(json, value, || {
                let mut out = format!(
                    "{} {} ({}), {} to {}\n\n",
                    school.urn, school.name, school.phase, r.from, r.to
                );
                out.push_str(&table::render(MEASURE_HEADERS, &[measure_cells(&m)]));
                out.push_str(&format!("\nsessions by code: {}\n", codes_line(&m)));
                out
            });
        }
        QueryCommand::La { code, period } => {
            let r = client
                .la_summary(LaSummaryRequest {
                    la_code: code,
                    period: Some(period_of(&period)),
                })
                .await
                .map_err(grpc)?
                .into_inner();
            print(json, la_json(&r), || la_text(&r));
        }
        QueryCommand::AtRisk {
            la,
            school,
            severe,
            purpose,
            period,
        } => {
            let level = if severe {
                RiskLevel::Severe
            } else {
                RiskLevel::Persistent
            };
            // Every page, in order: the list a caseworker asked for, worst first.
            let request = AtRiskPupilsRequest {
                la_code: la.unwrap_or_default(),
                school_urn: school.unwrap_or_default(),
                period: Some(period_of(&period)),
                level: level as i32,
                purpose,
                ..Default::default()
            };
            let mut r = client
                .at_risk_pupils(request.clone())
                .await
                .map_err(grpc)?
                .into_inner();
            while !r.next_page_token.is_empty() {
                let next = client
                    .at_risk_pupils(AtRiskPupilsRequest {
                        page_token: r.next_page_token.clone(),
                        ..request.clone()
                    })
                    .await
                    .map_err(grpc)?
                    .into_inner();
                r.pupils.extend(next.pupils);
                r.next_page_token = next.next_page_token;
            }
            print(json, at_risk_json(&r), || at_risk_text(&r));
        }
    }
    Ok(())
}

/// The demo, run with an admin's credentials: it registers a vendor for the synthetic schools and
/// makes a vendor key and an LA user's key, then sends as the vendor and queries as the LA.
/// What `rollcall demo` generates and how it sends it.
struct DemoRun<'a> {
    spec: LaSpec,
    /// Concurrent vendor streams.
    streams: usize,
    /// Seconds to wait for every feed to be processed.
    timeout: u64,
    /// Where to write the LA's DfE year-to-date export, if anywhere.
    export_dir: Option<&'a std::path::Path>,
}

async fn demo(
    gateway: &str,
    query: &str,
    admin: &Credentials,
    json: bool,
    run: DemoRun<'_>,
) -> anyhow::Result<()> {
    let DemoRun {
        spec,
        streams,
        timeout,
        export_dir,
    } = run;
    let started = Instant::now();
    let la = SyntheticLa::generate(spec);
    let pupils = la
        .final_marks()
        .keys()
        .map(|(urn, upn, _, _)| (*urn, upn.clone()))
        .collect::<std::collections::HashSet<_>>()
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
    let admin_channel = rollcall_cli::connect(query, admin).await?;
    let imported = rollcall_cli::import_synthetic_schools(
        &mut RegistryServiceClient::new(admin_channel.clone()),
        &la.schools,
    )
    .await
    .map_err(grpc)?;
    eprintln!("demo: imported {imported} schools into the registry");
    let keys =
        rollcall_cli::synthetic_keys(admin_channel, "demo-mis", la.spec.la_code, &la.schools)
            .await
            .map_err(grpc)?;
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
    let gateway_channel = rollcall_cli::connect(gateway, &as_vendor).await?;
    let query_channel = rollcall_cli::connect(query, &as_la).await?;

    // Each stream is one vendor sending its schools' feeds day by day.
    let submit_started = Instant::now();
    let streams = streams.max(1);
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
        let mut client = FeedServiceClient::new(gateway_channel.clone());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::with_capacity(feeds.len());
            for feed in &feeds {
                ids.push(
                    rollcall_cli::submit_feed(&mut client, feed, "2024")
                        .await
                        .map_err(grpc)?
                        .feed_id,
                );
            }
            anyhow::Ok(ids)
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.extend(task.await??);
    }
    let acknowledged = submit_started.elapsed();
    eprintln!(
        "demo: {} feeds acknowledged by the gateway in {:.1}s ({:.0} marks/s over {streams} streams); waiting for the pipeline",
        ids.len(),
        acknowledged.as_secs_f64(),
        la.marks_sent() as f64 / acknowledged.as_secs_f64()
    );
    let receipts = rollcall_cli::wait_processed(
        &mut FeedServiceClient::new(gateway_channel),
        &ids,
        Duration::from_secs(timeout),
    )
    .await?;
    let processed = submit_started.elapsed();
    let outcome = |f: fn(&rollcall_proto::feed::v1::ValidationOutcome) -> u32| -> u64 {
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
    let mut client = QueryServiceClient::new(query_channel.clone());
    let summary = client
        .la_summary(LaSummaryRequest {
            la_code: format!("{:03}", la.spec.la_code),
            period: Some(period.clone()),
        })
        .await
        .map_err(grpc)?
        .into_inner();
    let at_risk = client
        .at_risk_pupils(AtRiskPupilsRequest {
            la_code: format!("{:03}", la.spec.la_code),
            period: Some(period),
            level: RiskLevel::Persistent as i32,
            purpose: "demo: at-risk counts for the synthetic la".into(),
            ..Default::default()
        })
        .await
        .map_err(grpc)?
        .into_inner();
    // The LA's figures in the DfE's published layout, as the LA user would export them.
    let mut exported = Value::Null;
    if let Some(dir) = export_dir {
        let out = dir.join(format!("ees-ytd-{:03}.csv", la.spec.la_code));
        let request = EesYearToDateRequest {
            la_codes: vec![format!("{:03}", la.spec.la_code)],
            ..Default::default()
        };
        let echo = json!({"export": "ees-ytd", "la_codes": request.la_codes});
        let stream = ExportServiceClient::new(query_channel)
            .ees_year_to_date(request)
            .await
            .map_err(grpc)?
            .into_inner();
        let written = export::write(stream, &out, echo).await?;
        eprintln!(
            "demo: wrote the DfE year-to-date layout for LA {:03} to {} ({} rows, sha256 {}, manifest beside it)",
            la.spec.la_code,
            written.path.display(),
            written.rows,
            &written.sha256[..16]
        );
        exported = json!({"file": written.path.display().to_string(), "rows": written.rows, "sha256": written.sha256});
    }
    let value = json!({
        "export": exported,
        "sent": {"schools": la.schools.len(), "pupils": pupils, "feeds": ids.len(), "marks": la.marks_sent()},
        "processed": {"marks_written": written, "marks_superseded": superseded, "marks_rejected": rejected},
        "summary": la_json(&summary),
        "at_risk": {"persistent": at_risk.persistent_count, "severe": at_risk.severe_count},
        "timings": {"acknowledged_seconds": acknowledged.as_secs_f64(), "processed_seconds": processed.as_secs_f64(), "total_seconds": started.elapsed().as_secs_f64()},
    });
    print(json, value, || {
        let mut out = la_text(&summary);
        out.push_str(&format!(
            "\npupils at risk: {} persistently absent (10%+ of possible sessions), {} of them severely absent (50%+)\n",
            at_risk.persistent_count, at_risk.severe_count
        ));
        out
    });
    Ok(())
}

/// Writes the synthetic LA as the CSV files `schools import` and `submit` read.
fn synth(spec: LaSpec, out: &std::path::Path, json: bool) -> anyhow::Result<()> {
    let la = SyntheticLa::generate(spec);
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    csvfile::write(
        &out.join("schools.csv"),
        csvfile::SCHOOL_COLUMNS,
        la.schools.iter().map(|s| {
            vec![
                format!("{:06}", s.urn),
                format!("{:03}", s.la_code),
                s.name.clone(),
                s.phase.clone(),
                s.school_type.clone(),
                yes_no(s.independent),
            ]
        }),
    )?;
    for feed in &la.feeds {
        let stem = format!("{:06}-{}", feed.urn, feed.day);
        // Independent schools' files carry only the columns they have.
        let independent = la
            .schools
            .iter()
            .any(|s| s.urn == feed.urn && s.independent);
        let columns = if independent {
            csvfile::INDEPENDENT_ROLL_COLUMNS
        } else {
            csvfile::ROLL_COLUMNS
        };
        csvfile::write(
            &out.join(format!("{stem}-roll.csv")),
            columns,
            feed.roll.iter().map(|p| {
                columns
                    .iter()
                    .map(|c| csvfile::pupil_field(p, c).to_owned())
                    .collect()
            }),
        )?;
        csvfile::write(
            &out.join(format!("{stem}-marks.csv")),
            csvfile::MARK_COLUMNS,
            feed.marks.iter().map(|m| {
                vec![
                    m.upn.clone(),
                    m.date.clone(),
                    m.session.clone(),
                    m.code.clone(),
                    m.minutes_late.clone(),
                ]
            }),
        )?;
    }
    let first = &la.feeds[0];
    let stem = out.join(format!("{:06}-{}", first.urn, first.day));
    let value = json!({
        "dir": out.display().to_string(),
        "schools": la.schools.len(),
        "feeds": la.feeds.len(),
        "marks": la.marks_sent(),
    });
    print(json, value, || {
        format!(
            "wrote {} schools and {} feeds ({} marks) to {}\n\ntry:\n  rollcall schools import {}\n  rollcall submit --school {:06} --roll {}-roll.csv --marks {}-marks.csv\n",
            la.schools.len(),
            la.feeds.len(),
            la.marks_sent(),
            out.display(),
            out.join("schools.csv").display(),
            first.urn,
            stem.display(),
            stem.display(),
        )
    });
    Ok(())
}

fn spec_named(name: &str) -> LaSpec {
    match name {
        "small" => LaSpec::small(),
        _ => LaSpec::demo(),
    }
}

fn print(json: bool, value: Value, text: impl FnOnce() -> String) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&value).expect("json values serialise")
        );
    } else {
        print!("{}", text());
    }
}

fn period_of(p: &PeriodArgs) -> Period {
    Period {
        from: p.from.clone().unwrap_or_default(),
        to: p.to.clone().unwrap_or_default(),
    }
}

fn yes_no(b: bool) -> String {
    if b { "Y" } else { "N" }.to_owned()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const MEASURE_HEADERS: &[&str] = &[
    "enrolments",
    "possible",
    "attendance",
    "absence",
    "authorised",
    "unauthorised",
    "persistent",
    "pa",
    "severe",
    "sa",
];

fn measure_cells(m: &Measures) -> Vec<String> {
    vec![
        m.enrolments.to_string(),
        m.possible_sessions.to_string(),
        table::perc(m.attendance_perc),
        table::perc(m.overall_absence_perc),
        table::perc(m.authorised_absence_perc),
        table::perc(m.unauthorised_absence_perc),
        m.persistent_absentees.to_string(),
        table::perc(m.persistent_absence_perc),
        m.severe_absentees.to_string(),
        table::perc(m.severe_absence_perc),
    ]
}

fn codes_line(m: &Measures) -> String {
    let mut codes: Vec<_> = m.sessions_by_code.iter().collect();
    codes.sort();
    codes
        .iter()
        .map(|(c, n)| format!("{c}={n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn measures_json(m: &Measures) -> Value {
    json!({
        "enrolments": m.enrolments, "possible_sessions": m.possible_sessions, "present_sessions": m.present_sessions,
        "approved_educational_activity": m.approved_educational_activity, "authorised_absence": m.authorised_absence,
        "unauthorised_absence": m.unauthorised_absence, "overall_absence": m.overall_absence, "late_sessions": m.late_sessions,
        "not_possible_sessions": m.not_possible_sessions, "attendance_perc": m.attendance_perc,
        "overall_absence_perc": m.overall_absence_perc, "authorised_absence_perc": m.authorised_absence_perc,
        "unauthorised_absence_perc": m.unauthorised_absence_perc, "persistent_absentees": m.persistent_absentees,
        "severe_absentees": m.severe_absentees, "persistent_absence_perc": m.persistent_absence_perc,
        "severe_absence_perc": m.severe_absence_perc,
        "sessions_by_code": m.sessions_by_code.iter().collect::<std::collections::BTreeMap<_, _>>(),
    })
}

fn school_json(s: &rollcall_proto::query::v1::School) -> Value {
    json!({"urn": s.urn, "la_code": s.la_code, "name": s.name, "phase": s.phase, "school_type": s.school_type, "independent": s.independent})
}

fn la_json(r: &rollcall_proto::query::v1::LaSummaryResponse) -> Value {
    json!({
        "la_code": r.la_code, "la_name": r.la_name, "from": r.from, "to": r.to,
        "schools": r.schools.iter().map(|row| json!({
            "school": school_json(&row.school.clone().unwrap_or_default()),
            "measures": measures_json(&row.measures.clone().unwrap_or_default()),
        })).collect::<Vec<_>>(),
        "total": measures_json(&r.total.clone().unwrap_or_default()),
    })
}

fn at_risk_json(r: &AtRiskPupilsResponse) -> Value {
    json!({
        "from": r.from, "to": r.to, "persistent_count": r.persistent_count, "severe_count": r.severe_count,
        "pupils": r.pupils.iter().map(|p| json!({
            "school_urn": p.school_urn, "upn": p.upn, "forename": p.forename, "surname": p.surname,
            "year_group": p.year_group, "possible_sessions": p.possible_sessions, "overall_absence": p.overall_absence,
            "authorised_absence": p.authorised_absence, "unauthorised_absence": p.unauthorised_absence,
            "overall_absence_perc": p.overall_absence_perc, "severe": p.severe,
        })).collect::<Vec<_>>(),
    })
}

fn at_risk_text(r: &AtRiskPupilsResponse) -> String {
    let rows: Vec<Vec<String>> = r
        .pupils
        .iter()
        .map(|p| {
            vec![
                p.school_urn.clone(),
                p.upn.clone(),
                format!("{} {}", p.forename, p.surname),
                p.year_group.clone(),
                p.possible_sessions.to_string(),
                p.overall_absence.to_string(),
                p.authorised_absence.to_string(),
                p.unauthorised_absence.to_string(),
                table::perc(p.overall_absence_perc),
                yes_no(p.severe),
            ]
        })
        .collect();
    let mut out = table::render(
        &[
            "urn", "upn", "name", "year", "possible", "absent", "auth", "unauth", "absence",
            "severe",
        ],
        &rows,
    );
    out.push_str(&format!(
        "\n{} to {}: {} persistently absent (10%+), {} severely absent (50%+)\n",
        r.from, r.to, r.persistent_count, r.severe_count
    ));
    out
}

fn la_text(r: &rollcall_proto::query::v1::LaSummaryResponse) -> String {
    let mut headers = vec!["urn", "school", "phase", "independent"];
    headers.extend_from_slice(MEASURE_HEADERS);
    let mut rows: Vec<Vec<String>> = r
        .schools
        .iter()
        .map(|row| {
            let s = row.school.clone().unwrap_or_default();
            let mut cells = vec![s.urn, s.name, s.phase, yes_no(s.independent)];
            cells.extend(measure_cells(&row.measures.clone().unwrap_or_default()));
            cells
        })
        .collect();
    let mut total = vec![
        String::new(),
        format!("{} total", r.la_name),
        String::new(),
        String::new(),
    ];
    total.extend(measure_cells(&r.total.clone().unwrap_or_default()));
    rows.push(total);
    format!(
        "LA {} {}, {} to {}\n\n{}",
        r.la_code,
        r.la_name,
        r.from,
        r.to,
        table::render(&headers, &rows)
    )
}

fn receipt_json(r: &FeedReceipt) -> Value {
    let outcome = r.outcome.as_ref().map(|o| {
        json!({
            "roll_accepted": o.roll_accepted, "roll_rejected": o.roll_rejected, "marks_accepted": o.marks_accepted,
            "marks_rejected": o.marks_rejected, "records_warned": o.records_warned, "marks_written": o.marks_written,
            "marks_superseded": o.marks_superseded, "findings_omitted": o.findings_omitted,
            "findings": o.findings.iter().map(|f| json!({
                "code": f.code, "severity": f.severity, "record_kind": f.record_kind, "record_index": f.record_index,
                "field": f.field, "message": f.message,
            })).collect::<Vec<_>>(),
        })
    });
    let parking = r
        .parking
        .as_ref()
        .map(|p| json!({"sqlstate": p.sqlstate, "reason": p.reason, "field": p.field}));
    json!({
        "feed_id": r.feed_id, "school_urn": r.school_urn, "status": status_name(r), "duplicate": r.duplicate,
        "roll_records": r.roll_records, "mark_records": r.mark_records, "outcome": outcome,
        "parking": parking,
    })
}

fn status_name(r: &FeedReceipt) -> &'static str {
    match r.status() {
        rollcall_proto::feed::v1::FeedStatus::Enqueued => "enqueued",
        rollcall_proto::feed::v1::FeedStatus::Processed => "processed",
        rollcall_proto::feed::v1::FeedStatus::Parked => "parked",
        rollcall_proto::feed::v1::FeedStatus::Unspecified => "unknown",
    }
}

fn receipt_text(r: &FeedReceipt) -> String {
    let mut out = format!(
        "feed {} for school {}: {}{}\n{} roll records, {} marks\n",
        r.feed_id,
        r.school_urn,
        status_name(r),
        if r.duplicate {
            " (already received under this idempotency key)"
        } else {
            ""
        },
        r.roll_records,
        r.mark_records
    );
    if let Some(p) = &r.parking {
        out.push_str(&format!(
            "parked: the database refused the feed ({}{}{}); nothing of it was stored and later feeds went on. Ask the LA's operations team to replay it once fixed, or send a corrected feed under a new idempotency key\n",
            if p.sqlstate.is_empty() { String::new() } else { format!("sqlstate {}: ", p.sqlstate) },
            p.reason,
            if p.field.is_empty() { String::new() } else { format!("; at {}", p.field) },
        ));
    }
    if let Some(o) = &r.outcome {
        out.push_str(&format!(
            "roll: {} accepted, {} rejected; marks: {} accepted, {} rejected ({} stored, {} older than what is held); {} records with warnings\n",
            o.roll_accepted, o.roll_rejected, o.marks_accepted, o.marks_rejected, o.marks_written, o.marks_superseded, o.records_warned
        ));
        if !o.findings.is_empty() {
            let rows: Vec<Vec<String>> = o
                .findings
                .iter()
                .map(|f| {
                    vec![
                        f.severity.clone(),
                        f.code.clone(),
                        f.record_kind.clone(),
                        f.record_index.to_string(),
                        f.field.clone(),
                        f.message.clone(),
                    ]
                })
                .collect();
            out.push('\n');
            out.push_str(&table::render(
                &["severity", "code", "record", "index", "field", "message"],
                &rows,
            ));
        }
        if o.findings_omitted > 0 {
            out.push_str(&format!(
                "{} more findings not listed: fix the ones above and send the feed again\n",
                o.findings_omitted
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};
    use rollcall_proto::feed::v1::{FeedStatus, Finding, ValidationOutcome};
    use rollcall_proto::query::v1::{AtRiskPupil, LaSummaryResponse, School, SchoolRow};

    use super::*;

    fn keys(value: &Value) -> Vec<&str> {
        let mut keys: Vec<&str> = value
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        keys
    }

    fn receipt(outcome: Option<ValidationOutcome>) -> FeedReceipt {
        FeedReceipt {
            feed_id: "f-1".into(),
            school_urn: "140001".into(),
            status: if outcome.is_some() {
                FeedStatus::Processed
            } else {
                FeedStatus::Enqueued
            } as i32,
            roll_records: 2,
            mark_records: 4,
            outcome,
            ..Default::default()
        }
    }

    fn outcome() -> ValidationOutcome {
        ValidationOutcome {
            roll_accepted: 2,
            marks_accepted: 3,
            marks_rejected: 1,
            marks_written: 3,
            findings: vec![Finding {
                code: "UNKNOWN_CODE".into(),
                severity: "error".into(),
                record_kind: "mark".into(),
                record_index: 3,
                field: "code".into(),
                message: "not a national attendance code".into(),
            }],
            ..Default::default()
        }
    }

    fn measures(possible: u64, absence: u64) -> Measures {
        Measures {
            enrolments: 2,
            possible_sessions: possible,
            overall_absence: absence,
            attendance_perc: 100.0 * (possible - absence) as f64 / possible as f64,
            overall_absence_perc: 100.0 * absence as f64 / possible as f64,
            persistent_absentees: 1,
            persistent_absence_perc: 50.0,
            sessions_by_code: [
                ("/".to_owned(), possible - absence),
                ("N".to_owned(), absence),
            ]
            .into(),
            ..Default::default()
        }
    }

    fn la() -> LaSummaryResponse {
        let school = |urn: &str, name: &str, independent: bool| School {
            urn: urn.into(),
            la_code: "937".into(),
            name: name.into(),
            phase: "primary".into(),
            school_type: if independent {
                "independent"
            } else {
                "academy"
            }
            .into(),
            independent,
        };
        LaSummaryResponse {
            la_code: "937".into(),
            la_name: "Warwickshire".into(),
            from: "2025-09-08".into(),
            to: "2025-10-03".into(),
            schools: vec![
                SchoolRow {
                    school: Some(school("140001", "Kenilworth Primary School", false)),
                    measures: Some(measures(40, 4)),
                },
                SchoolRow {
                    school: Some(school("140002", "Rugby House School", true)),
                    measures: Some(measures(8, 1)),
                },
            ],
            total: Some(measures(48, 5)),
        }
    }

    #[test]
    fn a_receipt_in_json_has_its_counts_and_every_finding() {
        let value = receipt_json(&receipt(Some(outcome())));
        assert_eq!(
            keys(&value),
            [
                "duplicate",
                "feed_id",
                "mark_records",
                "outcome",
                "parking",
                "roll_records",
                "school_urn",
                "status"
            ]
        );
        assert_eq!(value["status"], "processed");
        assert!(value["parking"].is_null());
        let outcome = &value["outcome"];
        assert_eq!(
            keys(outcome),
            [
                "findings",
                "findings_omitted",
                "marks_accepted",
                "marks_rejected",
                "marks_superseded",
                "marks_written",
                "records_warned",
                "roll_accepted",
                "roll_rejected"
            ]
        );
        assert_eq!(
            outcome["findings"][0],
            json!({"code": "UNKNOWN_CODE", "severity": "error", "record_kind": "mark", "record_index": 3, "field": "code", "message": "not a national attendance code"})
        );
        let enqueued = receipt_json(&receipt(None));
        assert_eq!(
            (&enqueued["status"], &enqueued["outcome"]),
            (&json!("enqueued"), &Value::Null)
        );
    }

    #[test]
    fn a_receipt_as_text_lists_every_finding() {
        let text = receipt_text(&receipt(Some(outcome())));
        assert!(
            text.starts_with("feed f-1 for school 140001: processed\n2 roll records, 4 marks\n"),
            "{text}"
        );
        assert!(text.contains("marks: 3 accepted, 1 rejected"), "{text}");
        let header = text
            .lines()
            .find(|l| l.starts_with("severity"))
            .expect("a findings table");
        assert_eq!(
            header.split_whitespace().collect::<Vec<_>>(),
            ["severity", "code", "record", "index", "field", "message"]
        );
        assert!(
            text.contains(
                "error     UNKNOWN_CODE  mark        3  code   not a national attendance code"
            ),
            "{text}"
        );
    }

    #[test]
    fn the_la_summary_in_json_has_a_row_per_school_and_the_total() {
        let value = la_json(&la());
        assert_eq!(
            keys(&value),
            ["from", "la_code", "la_name", "schools", "to", "total"]
        );
        let rows = value["schools"].as_array().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(keys(&rows[0]), ["measures", "school"]);
        assert_eq!(
            keys(&rows[1]["school"]),
            [
                "independent",
                "la_code",
                "name",
                "phase",
                "school_type",
                "urn"
            ]
        );
        assert_eq!(rows[1]["school"]["independent"], true);
        assert_eq!(
            rows[0]["measures"]["sessions_by_code"],
            json!({"/": 36, "N": 4})
        );
        assert_eq!(value["total"]["possible_sessions"], 48);
        assert_eq!(value["total"]["persistent_absentees"], 1);
    }

    #[test]
    fn the_la_summary_as_a_table_marks_independent_schools_and_ends_with_the_total() {
        let text = la_text(&la());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "LA 937 Warwickshire, 2025-09-08 to 2025-10-03");
        assert!(
            lines[2]
                .starts_with("urn     school                     phase    independent  enrolments"),
            "{text}"
        );
        assert!(
            lines[4].starts_with("140001  Kenilworth Primary School  primary  N"),
            "{text}"
        );
        assert!(
            lines[5].starts_with("140002  Rugby House School         primary  Y"),
            "{text}"
        );
        assert!(lines[6].starts_with("        Warwickshire total"), "{text}");
        // Columns line up: every row is as wide as the dashes under the header.
        let width = lines[3].len();
        assert!(lines[4..].iter().all(|l| l.len() == width), "{text}");
        assert!(
            lines[6].contains("89.6%") && lines[6].contains("10.4%"),
            "{text}"
        );
    }

    #[test]
    fn pupils_at_risk_in_json_and_as_a_table() {
        let r = AtRiskPupilsResponse {
            from: "2025-09-08".into(),
            to: "2025-10-03".into(),
            pupils: vec![AtRiskPupil {
                school_urn: "140002".into(),
                upn: "H801200001001".into(),
                forename: "Ada".into(),
                surname: "Example".into(),
                year_group: "8".into(),
                possible_sessions: 2,
                overall_absence: 1,
                unauthorised_absence: 1,
                overall_absence_perc: 50.0,
                severe: true,
                ..Default::default()
            }],
            persistent_count: 1,
            severe_count: 1,
            next_page_token: String::new(),
        };
        let value = at_risk_json(&r);
        assert_eq!(
            keys(&value),
            ["from", "persistent_count", "pupils", "severe_count", "to"]
        );
        assert_eq!(
            keys(&value["pupils"][0]),
            [
                "authorised_absence",
                "forename",
                "overall_absence",
                "overall_absence_perc",
                "possible_sessions",
                "school_urn",
                "severe",
                "surname",
                "unauthorised_absence",
                "upn",
                "year_group"
            ]
        );
        let text = at_risk_text(&r);
        assert!(text.contains("140002  H801200001001  Ada Example     8         2       1     0       1    50.0%  Y"), "{text}");
        assert!(
            text.ends_with(
                "2025-09-08 to 2025-10-03: 1 persistently absent (10%+), 1 severely absent (50%+)\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn the_command_line_parses_as_documented() {
        crate::Cli::command().debug_assert();
        let cli = crate::Cli::try_parse_from([
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
            crate::Cli::try_parse_from(["rollcall", "query", "at-risk"]).is_err(),
            "--la or --school is required"
        );
        assert!(
            crate::Cli::try_parse_from(["rollcall", "query", "at-risk", "--la", "937"]).is_err(),
            "--purpose is required"
        );
        assert!(
            crate::Cli::try_parse_from([
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
        let cli = crate::Cli::try_parse_from([
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
        let Command::Submit {
            extracted_at, key, ..
        } = cli.command
        else {
            panic!("submit")
        };
        assert_eq!(
            extracted_at.unwrap().to_rfc3339(),
            "2025-10-06T16:00:00+00:00"
        );
        assert_eq!(key, None);
    }

    #[test]
    fn synthetic_csv_files_read_back_as_the_feeds() {
        let dir = tempfile::tempdir().unwrap();
        synth(LaSpec::small(), dir.path(), true).unwrap();
        let la = SyntheticLa::generate(LaSpec::small());
        let schools = csvfile::read_schools(&dir.path().join("schools.csv")).unwrap();
        assert_eq!(schools.len(), la.schools.len());
        assert!(
            schools
                .iter()
                .zip(&la.schools)
                .all(|(read, s)| read.urn == format!("{:06}", s.urn)
                    && read.independent == s.independent
                    && read.name == s.name)
        );
        for feed in &la.feeds {
            let file = |kind: &str| {
                dir.path()
                    .join(format!("{:06}-{}-{kind}.csv", feed.urn, feed.day))
            };
            let roll = csvfile::read_roll(&file("roll")).unwrap();
            let marks = csvfile::read_marks(&file("marks")).unwrap();
            assert_eq!(roll, feed.roll);
            assert_eq!(marks, feed.marks);
        }
        let independent = la.schools.iter().find(|s| s.independent).unwrap();
        let header = std::fs::read_to_string(dir.path().join(format!(
            "{:06}-{}-roll.csv",
            independent.urn, la.spec.first_day
        )))
        .unwrap();
        assert_eq!(
            header.lines().next(),
            Some("upn,forename,surname,date_of_birth,year_group,admission_date,leaving_date")
        );
    }
}
