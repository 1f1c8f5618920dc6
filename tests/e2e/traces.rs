//! One feed, one trace: the service binaries export their spans over OTLP to a receiver this
//! test runs, and the feed's trace runs connected from the vendor's call (its `traceparent`)
//! through the gateway, the feeds topic, the validator, the validated topic and the aggregator to
//! the transaction that made it queryable. No attribute of any span carries a pupil's UPN, name
//! or date of birth.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
    trace_service_server::{TraceService, TraceServiceServer},
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use rollcall_proto::feed::v1::GetFeedReceiptRequest;
use rollcall_proto::feed::v1::feed_service_client::FeedServiceClient;
use rollcall_proto::query::v1::{
    ImportSchoolsRequest, Period, SchoolSummaryRequest, query_service_client::QueryServiceClient,
    registry_service_client::RegistryServiceClient,
};

use crate::harness::{FeedSpec, Pipeline, mark, pupil, school, upn};
use crate::processes::Processes;

/// The trace the "vendor" starts: its id, and the id of its client span.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

/// One span as the receiver got it.
#[derive(Clone, Debug)]
struct Received {
    service: String,
    name: String,
    trace_id: String,
    span_id: String,
    parent: String,
    /// Every attribute value, as text.
    values: Vec<String>,
}

#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<Received>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource in request.into_inner().resource_spans {
            let service = resource
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|a| a.key == "service.name")
                .and_then(|a| text(a.value.as_ref()?.value.as_ref()?))
                .unwrap_or_default();
            for span in resource.scope_spans.into_iter().flat_map(|s| s.spans) {
                spans.push(Received {
                    service: service.clone(),
                    name: span.name,
                    trace_id: hex::encode(&span.trace_id),
                    span_id: hex::encode(&span.span_id),
                    parent: hex::encode(&span.parent_span_id),
                    values: span
                        .attributes
                        .iter()
                        .filter_map(|a| text(a.value.as_ref()?.value.as_ref()?))
                        .collect(),
                });
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn text(value: &Value) -> Option<String> {
    Some(match value {
        Value::StringValue(s) => s.clone(),
        Value::IntValue(i) => i.to_string(),
        Value::BoolValue(b) => b.to_string(),
        Value::DoubleValue(d) => d.to_string(),
        _ => return None,
    })
}

#[tokio::test]
async fn one_feed_is_one_connected_trace_across_the_three_processes() {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector = listener.local_addr().unwrap();
    let serving = receiver.clone();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(serving))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );

    let pipeline = Pipeline::start().await;
    let mut processes = Processes::start(
        &pipeline,
        "traces",
        &[(
            "ROLLCALL__TELEMETRY__OTLP_ENDPOINT",
            format!("http://{collector}"),
        )],
    )
    .await;
    let connect = async |url: String, token: &str| {
        rollcall_client::connect(&url, &rollcall_client::Credentials::token(token))
            .await
            .unwrap()
    };
    let admin = connect(processes.query_url(), &pipeline.admin_token).await;
    RegistryServiceClient::new(admin)
        .import_schools(ImportSchoolsRequest {
            schools: vec![school("100001", "937", false)],
        })
        .await
        .unwrap();
    pipeline
        .register_for_test_vendor(&["100001".to_owned()])
        .await;

    // The vendor's feed, sent inside the vendor's own trace.
    let pupils = [upn(937, 501), upn(937, 502)];
    let feed = FeedSpec {
        urn: "100001".into(),
        key: "traced".into(),
        extracted_at: Utc.with_ymd_and_hms(2025, 10, 6, 16, 0, 0).unwrap(),
        roll: pupils.iter().map(|u| pupil(u, "2025-09-03")).collect(),
        marks: pupils
            .iter()
            .flat_map(|u| {
                [
                    mark(u, "2025-10-06", "AM", "/"),
                    mark(u, "2025-10-06", "PM", "I"),
                ]
            })
            .collect(),
    };
    let mut feeds =
        FeedServiceClient::new(connect(processes.gateway_url(), &pipeline.vendor_token).await);
    let mut request = tonic::Request::new(tokio_stream::iter(feed.requests()));
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE_ID}-{CLIENT_SPAN}-01").parse().unwrap(),
    );
    let receipt = feeds.submit_feed(request).await.unwrap().into_inner();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = feeds
            .get_feed_receipt(GetFeedReceiptRequest {
                feed_id: receipt.feed_id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        if now.processed_at.is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "the feed was not processed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let queryable = Instant::now();
    // A query RPC has its span too.
    let la = connect(processes.query_url(), &pipeline.la_token).await;
    QueryServiceClient::new(la)
        .school_summary(SchoolSummaryRequest {
            as_at: String::new(),
            school_urn: "100001".into(),
            period: Some(Period {
                from: "2025-09-01".into(),
                to: "2025-12-31".into(),
            }),
        })
        .await
        .unwrap();

    // The trace at the receiver: every step, in the processes that did it.
    let expected: BTreeSet<(&str, &str)> = [
        (
            "rollcall-gateway",
            "/rollcall.feed.v1.FeedService/SubmitFeed",
        ),
        ("rollcall-gateway", "kafka.produce"),
        ("rollcall-validator", "validator.feed"),
        ("rollcall-validator", "kafka.produce"),
        ("rollcall-aggregator", "aggregator.feed"),
        ("rollcall-aggregator", "db.transaction"),
    ]
    .into();
    let deadline = Instant::now() + Duration::from_secs(30);
    let trace = loop {
        let trace: Vec<Received> = receiver
            .spans
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.trace_id == TRACE_ID)
            .cloned()
            .collect();
        let seen: BTreeSet<(&str, &str)> = trace
            .iter()
            .map(|s| (s.service.as_str(), s.name.as_str()))
            .collect();
        if expected.iter().all(|step| seen.contains(step)) {
            break trace;
        }
        assert!(
            Instant::now() < deadline,
            "the trace lacks steps: {:?}",
            expected.difference(&seen).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!(
        "traces: the feed's trace was whole at the receiver {} ms after the feed was queryable",
        queryable.elapsed().as_millis()
    );

    // Connected: every span's parent is in the trace, up to the vendor's own span.
    let ids: BTreeMap<&str, &Received> = trace.iter().map(|s| (s.span_id.as_str(), s)).collect();
    for span in &trace {
        assert!(
            span.parent == CLIENT_SPAN || ids.contains_key(span.parent.as_str()),
            "{} in {} has a parent outside the trace",
            span.name,
            span.service
        );
    }
    // The aggregator's span descends from the gateway's call, through the validator.
    let mut chain = Vec::new();
    let mut at = trace.iter().find(|s| s.name == "aggregator.feed").unwrap();
    loop {
        chain.push((at.service.as_str(), at.name.as_str()));
        match ids.get(at.parent.as_str()) {
            Some(parent) => at = parent,
            None => break,
        }
    }
    assert_eq!(
        chain,
        [
            ("rollcall-aggregator", "aggregator.feed"),
            ("rollcall-validator", "kafka.produce"),
            ("rollcall-validator", "validator.feed"),
            ("rollcall-gateway", "kafka.produce"),
            (
                "rollcall-gateway",
                "/rollcall.feed.v1.FeedService/SubmitFeed"
            ),
        ]
    );

    processes.stop().await;
    let spans = receiver.spans.lock().unwrap().clone();
    assert!(
        spans.iter().any(|s| s.service == "rollcall-query"
            && s.name == "/rollcall.query.v1.QueryService/SchoolSummary"),
        "the query's call has its span"
    );
    // Each worker's batches have spans of their own, which the feeds' spans link to.
    for (service, batch) in [
        ("rollcall-validator", "validator.batch"),
        ("rollcall-aggregator", "aggregator.batch"),
    ] {
        assert!(
            spans
                .iter()
                .any(|s| s.service == service && s.name == batch),
            "{service} has {batch} spans"
        );
    }
    // No personal data in any attribute of any span any service sent.
    let personal: Vec<String> = feed
        .roll
        .iter()
        .flat_map(|p| {
            [
                p.upn.clone(),
                p.forename.clone(),
                p.surname.clone(),
                p.date_of_birth.clone(),
            ]
        })
        .collect();
    for span in &spans {
        for value in &span.values {
            for item in &personal {
                assert!(
                    !value.contains(item.as_str()),
                    "{} in {} carries personal data",
                    span.name,
                    span.service
                );
            }
        }
    }
    assert!(spans.iter().all(|s| !s.service.is_empty()));
    pipeline.stop().await;
}
