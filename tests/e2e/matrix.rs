//! The authorisation matrix, end to end: every RPC, the exports' included, × every kind of
//! caller × its own and another organisation, each cell the exact status it must get.

use rollcall_proto::admin::v1::{
    CreateKeyRequest, ListKeysRequest, RevokeKeyRequest, SetVendorSchoolsRequest,
    key_service_client::KeyServiceClient,
};
use rollcall_proto::export::v1::{
    CensusTermRequest, EesYearToDateRequest, PupilSessionsRequest, Term,
    export_service_client::ExportServiceClient,
};
use rollcall_proto::feed::v1::{
    GetFeedReceiptRequest, GetReconciliationRequest, ListFeedFindingsRequest, ListFeedsRequest,
    WatchReceiptsRequest, feed_service_client::FeedServiceClient,
};
use rollcall_proto::query::v1::{
    ApproachingPersistentRequest, AtRiskPupilsRequest, FindPupilsRequest, GetSchoolReplayRequest,
    ImportCalendarRequest, ImportSchoolsRequest, LaSummaryRequest, ListAuditEventsRequest,
    ListDeadLetterGroupsRequest, ListDeadLettersRequest, ListParkedFeedsRequest,
    ListSchoolsRequest, PipelineCountsRequest, PupilTimelineRequest, ReplayParkedFeedRequest,
    RequestSchoolReplayRequest, SchoolStatusRequest, SchoolSummaryRequest, SenderStatusRequest,
    audit_service_client::AuditServiceClient, pipeline_service_client::PipelineServiceClient,
    registry_service_client::RegistryServiceClient,
};
use tonic::Code;

use crate::harness::{Pipeline, school, upn};
use crate::security::{OTHER_LA, OTHER_URN, OWN_LA, OWN_URN, VENDOR, one_pupil_feed, period};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rpc {
    SubmitFeed,
    ValidateFeed,
    GetFeedReceipt,
    ListFeedFindings,
    WatchReceipts,
    GetReconciliation,
    ListFeeds,
    SchoolSummary,
    LaSummary,
    AtRiskPupils,
    ApproachingPersistent,
    FindPupils,
    PupilTimeline,
    ListAuditEvents,
    ImportSchools,
    ListSchools,
    PipelineCounts,
    ListDeadLetterGroups,
    ListDeadLetters,
    ListParkedFeeds,
    ReplayParkedFeed,
    RequestSchoolReplay,
    GetSchoolReplay,
    SchoolStatus,
    SenderStatus,
    ImportCalendar,
    CreateKey,
    ListKeys,
    RevokeKey,
    SetVendorSchools,
    EesYearToDate,
    PupilSessions,
    CensusTerm,
}

/// The kinds of caller, in the order of the matrix's columns.
const KINDS: [&str; 6] = ["vendor", "la", "school", "operations", "exporter", "admin"];

const OK: Code = Code::Ok;
const PD: Code = Code::PermissionDenied;
/// A pupil of a school the caller may not see is not found, as if it did not exist.
const NF: Code = Code::NotFound;

/// The expected status of each RPC for each kind of caller, asking about its own organisation and
/// about another one. Operations, exporter and admin act for no organisation, so both cells are
/// the same; ListAuditEvents names no organisation (it is always the caller's own).
#[rustfmt::skip]
const MATRIX: &[(Rpc, [(Code, Code); 6])] = &[
    //                      vendor     la         school     operations exporter   admin
    (Rpc::SubmitFeed,       [(OK, PD), (PD, PD), (OK, PD), (PD, PD), (PD, PD), (PD, PD)]),
    (Rpc::ValidateFeed,     [(OK, PD), (PD, PD), (OK, PD), (PD, PD), (PD, PD), (PD, PD)]),
    (Rpc::GetFeedReceipt,   [(OK, PD), (OK, PD), (OK, PD), (OK, OK), (PD, PD), (PD, PD)]),
    (Rpc::ListFeeds,        [(OK, PD), (OK, PD), (OK, PD), (OK, OK), (PD, PD), (PD, PD)]),
    (Rpc::ListFeedFindings, [(OK, PD), (OK, PD), (OK, PD), (OK, OK), (PD, PD), (PD, PD)]),
    // Names no school: each caller's stream carries only what it may see (tests/e2e/watch.rs).
    (Rpc::WatchReceipts,    [(OK, OK), (OK, OK), (OK, OK), (OK, OK), (PD, PD), (PD, PD)]),
    (Rpc::GetReconciliation,
                            [(OK, PD), (OK, PD), (OK, PD), (OK, OK), (PD, PD), (PD, PD)]),
    (Rpc::SchoolSummary,    [(PD, PD), (OK, PD), (OK, PD), (PD, PD), (OK, OK), (PD, PD)]),
    (Rpc::LaSummary,        [(PD, PD), (OK, PD), (PD, PD), (PD, PD), (OK, OK), (PD, PD)]),
    (Rpc::AtRiskPupils,     [(PD, PD), (OK, PD), (OK, PD), (PD, PD), (PD, PD), (PD, PD)]),
    (Rpc::ApproachingPersistent,
                            [(PD, PD), (OK, PD), (OK, PD), (PD, PD), (PD, PD), (PD, PD)]),
    (Rpc::FindPupils,       [(PD, PD), (OK, NF), (OK, NF), (PD, PD), (PD, PD), (PD, PD)]),
    (Rpc::PupilTimeline,    [(PD, PD), (OK, NF), (OK, NF), (PD, PD), (PD, PD), (PD, PD)]),
    (Rpc::ListAuditEvents,  [(PD, PD), (OK, OK), (OK, OK), (PD, PD), (PD, PD), (PD, PD)]),
    (Rpc::ImportSchools,    [(PD, PD), (PD, PD), (PD, PD), (PD, PD), (PD, PD), (OK, OK)]),
    (Rpc::ListSchools,      [(OK, OK), (OK, OK), (OK, OK), (OK, OK), (OK, OK), (OK, OK)]),
    (Rpc::PipelineCounts,   [(PD, PD), (PD, PD), (PD, PD), (OK, OK), (PD, PD), (OK, OK)]),
    (Rpc::ListDeadLetterGroups,
                            [(PD, PD), (PD, PD), (PD, PD), (OK, OK), (PD, PD), (OK, OK)]),
    (Rpc::ListDeadLetters,  [(PD, PD), (PD, PD), (PD, PD), (OK, OK), (PD, PD), (OK, OK)]),
    (Rpc::ListParkedFeeds,  [(PD, PD), (PD, PD), (PD, PD), (OK, OK), (PD, PD), (OK, OK)]),
    // No parked feed has id 0: allowed callers are told so.
    (Rpc::ReplayParkedFeed, [(PD, PD), (PD, PD), (PD, PD), (NF, NF), (PD, PD), (NF, NF)]),
    // A dry run, for the target school; no school replay has id 0.
    (Rpc::RequestSchoolReplay,
                            [(PD, PD), (PD, PD), (PD, PD), (OK, OK), (PD, PD), (OK, OK)]),
    (Rpc::GetSchoolReplay,  [(PD, PD), (PD, PD), (PD, PD), (NF, NF), (PD, PD), (NF, NF)]),
    (Rpc::SchoolStatus,     [(PD, PD), (PD, PD), (PD, PD), (OK, OK), (PD, PD), (OK, OK)]),
    (Rpc::SenderStatus,     [(PD, PD), (PD, PD), (PD, PD), (OK, OK), (PD, PD), (OK, OK)]),
    (Rpc::ImportCalendar,   [(PD, PD), (PD, PD), (PD, PD), (PD, PD), (PD, PD), (OK, OK)]),
    (Rpc::CreateKey,        [(PD, PD), (PD, PD), (PD, PD), (PD, PD), (PD, PD), (OK, OK)]),
    (Rpc::ListKeys,         [(PD, PD), (PD, PD), (PD, PD), (PD, PD), (PD, PD), (OK, OK)]),
    (Rpc::RevokeKey,        [(PD, PD), (PD, PD), (PD, PD), (PD, PD), (PD, PD), (OK, OK)]),
    (Rpc::SetVendorSchools, [(PD, PD), (PD, PD), (PD, PD), (PD, PD), (PD, PD), (OK, OK)]),
    (Rpc::EesYearToDate,    [(PD, PD), (OK, PD), (PD, PD), (PD, PD), (OK, OK), (PD, PD)]),
    (Rpc::PupilSessions,    [(PD, PD), (OK, PD), (OK, PD), (PD, PD), (PD, PD), (PD, PD)]),
    (Rpc::CensusTerm,       [(PD, PD), (OK, PD), (OK, PD), (PD, PD), (PD, PD), (PD, PD)]),
];

/// What "own" and "other" point at: a school and its LA, and a feed of that school.
struct Target {
    urn: &'static str,
    la: &'static str,
    feed_id: String,
}

fn code_of<T>(result: Result<tonic::Response<T>, tonic::Status>) -> Code {
    match result {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

/// Calls `rpc` as the holder of `token`, about `target`, and returns the status code.
async fn call(pipeline: &Pipeline, rpc: Rpc, token: &str, target: &Target, n: usize) -> Code {
    let query = pipeline.channel(pipeline.query_addr, Some(token)).await;
    let gateway = pipeline.channel(pipeline.gateway_addr, Some(token)).await;
    match rpc {
        Rpc::SubmitFeed => {
            let la: u16 = target.la.parse().unwrap();
            let feed = one_pupil_feed(target.urn, la, &format!("matrix-{n}"));
            let result = FeedServiceClient::new(gateway)
                .submit_feed(tokio_stream::iter(feed.requests()))
                .await;
            code_of(result)
        }
        Rpc::ValidateFeed => {
            let la: u16 = target.la.parse().unwrap();
            let feed = one_pupil_feed(target.urn, la, &format!("matrix-dry-{n}"));
            let result = FeedServiceClient::new(gateway)
                .validate_feed(tokio_stream::iter(feed.requests()))
                .await;
            code_of(result)
        }
        Rpc::ListFeeds => code_of(
            FeedServiceClient::new(gateway)
                .list_feeds(ListFeedsRequest {
                    school_urn: target.urn.to_owned(),
                    ..ListFeedsRequest::default()
                })
                .await,
        ),
        Rpc::GetFeedReceipt => code_of(
            FeedServiceClient::new(gateway)
                .get_feed_receipt(GetFeedReceiptRequest {
                    feed_id: target.feed_id.clone(),
                })
                .await,
        ),
        Rpc::GetReconciliation => code_of(
            FeedServiceClient::new(gateway.clone())
                .get_reconciliation(GetReconciliationRequest {
                    school_urn: target.urn.into(),
                    from: "2025-10-06".into(),
                    to: "2025-10-10".into(),
                })
                .await,
        ),
        Rpc::WatchReceipts => code_of(
            FeedServiceClient::new(gateway)
                .watch_receipts(WatchReceiptsRequest::default())
                .await,
        ),
        Rpc::ListFeedFindings => code_of(
            FeedServiceClient::new(gateway)
                .list_feed_findings(ListFeedFindingsRequest {
                    feed_id: target.feed_id.clone(),
                    ..Default::default()
                })
                .await,
        ),
        Rpc::SchoolSummary => code_of(
            pipeline
                .query_as(token)
                .await
                .school_summary(SchoolSummaryRequest {
                    as_at: String::new(),
                    school_urn: target.urn.into(),
                    period: period(),
                })
                .await,
        ),
        Rpc::LaSummary => code_of(
            pipeline
                .query_as(token)
                .await
                .la_summary(LaSummaryRequest {
                    as_at: String::new(),
                    la_code: target.la.into(),
                    period: period(),
                })
                .await,
        ),
        Rpc::AtRiskPupils => code_of(
            pipeline
                .query_as(token)
                .await
                .at_risk_pupils(AtRiskPupilsRequest {
                    school_urn: target.urn.into(),
                    period: period(),
                    purpose: "authorisation matrix".into(),
                    ..Default::default()
                })
                .await,
        ),
        Rpc::ApproachingPersistent => code_of(
            pipeline
                .query_as(token)
                .await
                .approaching_persistent(ApproachingPersistentRequest {
                    school_urn: target.urn.into(),
                    period: period(),
                    purpose: "authorisation matrix".into(),
                    ..Default::default()
                })
                .await,
        ),
        // Found nothing is NOT_FOUND here, so the cell says the pupil stayed hidden.
        Rpc::FindPupils => match pipeline
            .query_as(token)
            .await
            .find_pupils(FindPupilsRequest {
                upn: upn(target.la.parse().unwrap(), 1),
                purpose: "authorisation matrix".into(),
                ..Default::default()
            })
            .await
        {
            Ok(found) if found.get_ref().pupils.is_empty() => Code::NotFound,
            other => code_of(other),
        },
        Rpc::PupilTimeline => code_of(
            pipeline
                .query_as(token)
                .await
                .pupil_timeline(PupilTimelineRequest {
                    upn: upn(target.la.parse().unwrap(), 1),
                    purpose: "authorisation matrix".into(),
                    period: period(),
                    ..Default::default()
                })
                .await,
        ),
        Rpc::ListAuditEvents => code_of(
            AuditServiceClient::new(query)
                .list_audit_events(ListAuditEventsRequest::default())
                .await,
        ),
        Rpc::ImportSchools => code_of(
            RegistryServiceClient::new(query)
                .import_schools(ImportSchoolsRequest {
                    schools: vec![
                        school(OWN_URN, OWN_LA, false),
                        school(OTHER_URN, OTHER_LA, false),
                    ],
                })
                .await,
        ),
        Rpc::ListSchools => code_of(
            RegistryServiceClient::new(query)
                .list_schools(ListSchoolsRequest {
                    la_code: target.la.into(),
                })
                .await,
        ),
        Rpc::PipelineCounts => code_of(
            PipelineServiceClient::new(query)
                .pipeline_counts(PipelineCountsRequest {})
                .await,
        ),
        Rpc::ListDeadLetterGroups => code_of(
            PipelineServiceClient::new(query)
                .list_dead_letter_groups(ListDeadLetterGroupsRequest::default())
                .await,
        ),
        Rpc::ListDeadLetters => code_of(
            PipelineServiceClient::new(query)
                .list_dead_letters(ListDeadLettersRequest {
                    code: "UPN_CHECK_LETTER".into(),
                    sender: "test-mis".into(),
                    school_urn: target.urn.into(),
                    ..Default::default()
                })
                .await,
        ),
        Rpc::ListParkedFeeds => code_of(
            PipelineServiceClient::new(query)
                .list_parked_feeds(ListParkedFeedsRequest {})
                .await,
        ),
        Rpc::ReplayParkedFeed => code_of(
            PipelineServiceClient::new(query)
                .replay_parked_feed(ReplayParkedFeedRequest { id: 0 })
                .await,
        ),
        Rpc::RequestSchoolReplay => code_of(
            PipelineServiceClient::new(query)
                .request_school_replay(RequestSchoolReplayRequest {
                    school_urn: target.urn.into(),
                    from: String::new(),
                    dry_run: true,
                })
                .await,
        ),
        Rpc::GetSchoolReplay => code_of(
            PipelineServiceClient::new(query)
                .get_school_replay(GetSchoolReplayRequest { id: 0 })
                .await,
        ),
        Rpc::SchoolStatus => code_of(
            PipelineServiceClient::new(query)
                .school_status(SchoolStatusRequest {
                    la_code: target.la.into(),
                    ..Default::default()
                })
                .await,
        ),
        Rpc::SenderStatus => code_of(
            PipelineServiceClient::new(query)
                .sender_status(SenderStatusRequest::default())
                .await,
        ),
        Rpc::ImportCalendar => code_of(
            RegistryServiceClient::new(query)
                .import_calendar(ImportCalendarRequest { ranges: vec![] })
                .await,
        ),
        Rpc::CreateKey => code_of(
            KeyServiceClient::new(query)
                .create_key(CreateKeyRequest {
                    kind: "operations".into(),
                    description: "matrix".into(),
                    ..Default::default()
                })
                .await,
        ),
        Rpc::ListKeys => code_of(
            KeyServiceClient::new(query)
                .list_keys(ListKeysRequest {})
                .await,
        ),
        Rpc::RevokeKey => {
            let victim = pipeline.key("operations", "").await;
            let key_id = victim.split('_').nth(1).unwrap().to_owned();
            code_of(
                KeyServiceClient::new(query)
                    .revoke_key(RevokeKeyRequest { key_id })
                    .await,
            )
        }
        Rpc::SetVendorSchools => code_of(
            KeyServiceClient::new(query)
                .set_vendor_schools(SetVendorSchoolsRequest {
                    vendor: VENDOR.into(),
                    school_urns: vec![OWN_URN.into()],
                })
                .await,
        ),
        Rpc::EesYearToDate => code_of(
            ExportServiceClient::new(query)
                .ees_year_to_date(EesYearToDateRequest {
                    la_codes: vec![target.la.into()],
                    ..Default::default()
                })
                .await,
        ),
        Rpc::PupilSessions => code_of(
            ExportServiceClient::new(query)
                .pupil_sessions(PupilSessionsRequest {
                    school_urn: target.urn.into(),
                    from: "2025-09-01".into(),
                    to: "2025-12-31".into(),
                    purpose: "authorisation matrix".into(),
                    ..Default::default()
                })
                .await,
        ),
        Rpc::CensusTerm => code_of(
            ExportServiceClient::new(query)
                .census_term(CensusTermRequest {
                    school_urn: target.urn.into(),
                    academic_year: "2025/26".into(),
                    term: Term::Autumn as i32,
                    purpose: "authorisation matrix".into(),
                    ..Default::default()
                })
                .await,
        ),
    }
}

#[tokio::test]
async fn the_authorisation_matrix() {
    let pipeline = Pipeline::start().await;
    pipeline
        .import_schools(vec![
            school(OWN_URN, OWN_LA, false),
            school(OTHER_URN, OTHER_LA, false),
        ])
        .await;
    // One feed in each school (sent by the harness's own vendor), for the receipts.
    let own_feed = one_pupil_feed(OWN_URN, 937, "seed")
        .submit(&pipeline)
        .await
        .unwrap();
    let other_feed = one_pupil_feed(OTHER_URN, 330, "seed")
        .submit(&pipeline)
        .await
        .unwrap();
    pipeline.wait_processed(&own_feed.feed_id).await;
    pipeline.wait_processed(&other_feed.feed_id).await;
    pipeline
        .keys()
        .await
        .set_vendor_schools(SetVendorSchoolsRequest {
            vendor: VENDOR.into(),
            school_urns: vec![OWN_URN.into()],
        })
        .await
        .unwrap();
    let mut tokens = Vec::new();
    for kind in KINDS {
        let organisation = match kind {
            "vendor" => VENDOR,
            "la" => OWN_LA,
            "school" => OWN_URN,
            _ => "",
        };
        tokens.push(pipeline.key(kind, organisation).await);
    }
    let own = Target {
        urn: OWN_URN,
        la: OWN_LA,
        feed_id: own_feed.feed_id,
    };
    let other = Target {
        urn: OTHER_URN,
        la: OTHER_LA,
        feed_id: other_feed.feed_id,
    };

    let mut wrong = Vec::new();
    let mut n = 0;
    for (rpc, cells) in MATRIX {
        for (i, kind) in KINDS.iter().enumerate() {
            for (target, expected) in [(&own, cells[i].0), (&other, cells[i].1)] {
                n += 1;
                let got = call(&pipeline, *rpc, &tokens[i], target, n).await;
                if got != expected {
                    wrong.push(format!(
                        "{rpc:?} as {kind} about school {}: expected {expected:?}, got {got:?}",
                        target.urn
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "matrix cells wrong:\n{}",
        wrong.join("\n")
    );
    // Every method of every Rollcall service is a row, read from the compiled protos themselves.
    let descriptors: prost_types::FileDescriptorSet =
        prost::Message::decode(rollcall_proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut methods: Vec<String> = descriptors
        .file
        .iter()
        .flat_map(|f| &f.service)
        .flat_map(|s| &s.method)
        .map(|m| m.name().to_owned())
        .collect();
    methods.sort();
    let mut rows: Vec<String> = MATRIX.iter().map(|(rpc, _)| format!("{rpc:?}")).collect();
    rows.sort();
    assert_eq!(rows, methods, "the matrix covers every rpc");

    // Listing is allowed to everyone but filtered to what each may see.
    let listed = |token: String, la: &'static str| {
        let pipeline = &pipeline;
        async move {
            RegistryServiceClient::new(pipeline.channel(pipeline.query_addr, Some(&token)).await)
                .list_schools(ListSchoolsRequest { la_code: la.into() })
                .await
                .unwrap()
                .into_inner()
                .schools
                .into_iter()
                .map(|s| s.urn)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(tokens[1].clone(), "").await, vec![OWN_URN]);
    assert!(listed(tokens[1].clone(), OTHER_LA).await.is_empty());
    assert_eq!(listed(tokens[0].clone(), "").await, vec![OWN_URN]);
    assert_eq!(
        listed(tokens[4].clone(), "").await,
        vec![OWN_URN, OTHER_URN]
    );
    pipeline.stop().await;
}
