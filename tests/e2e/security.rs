//! Who may send and who may see, end to end (the authorisation matrix is in `matrix.rs`): each
//! way a credential is refused, a vendor's feed for a school it is not registered for, rate limits, the audit trail,
//! signed tokens for LA users, TLS and mutual TLS, and no personal data in any service's logs.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use rollcall_proto::admin::v1::SetVendorSchoolsRequest;
use rollcall_proto::query::v1::{
    AtRiskPupilsRequest, ImportSchoolsRequest, LaSummaryRequest, ListSchoolsRequest, Period,
    registry_service_client::RegistryServiceClient,
};
use tonic::Code;

use crate::harness::{FeedSpec, Pipeline, mark, pupil, school, upn};

pub(crate) const OWN_URN: &str = "100001";
pub(crate) const OTHER_URN: &str = "200001";
pub(crate) const OWN_LA: &str = "937";
pub(crate) const OTHER_LA: &str = "330";
pub(crate) const VENDOR: &str = "matrix-mis";

pub(crate) fn one_pupil_feed(urn: &str, la: u16, key: &str) -> FeedSpec {
    let pupil_upn = upn(la, 1);
    FeedSpec {
        urn: urn.into(),
        key: key.into(),
        extracted_at: Utc.with_ymd_and_hms(2025, 10, 6, 16, 0, 0).unwrap(),
        roll: vec![pupil(&pupil_upn, "2025-09-03")],
        marks: vec![
            mark(&pupil_upn, "2025-10-06", "AM", "N"),
            mark(&pupil_upn, "2025-10-06", "PM", "/"),
        ],
    }
}

pub(crate) fn period() -> Option<Period> {
    Some(Period {
        from: "2025-09-01".into(),
        to: "2025-12-31".into(),
    })
}

/// The Rollcall error code a refusal carried.
pub(crate) fn stable_code(status: &tonic::Status) -> String {
    status
        .metadata()
        .get("rollcall-error-code")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn bad_credentials_are_each_unauthenticated_with_their_own_code() {
    let pipeline = Pipeline::start().await;
    let la_summary = async |authorization: Option<&str>| {
        let channel =
            tonic::transport::Endpoint::from_shared(format!("http://{}", pipeline.query_addr))
                .unwrap()
                .connect()
                .await
                .unwrap();
        let mut request = tonic::Request::new(LaSummaryRequest {
            as_at: String::new(),
            la_code: OWN_LA.into(),
            period: period(),
        });
        if let Some(value) = authorization {
            request
                .metadata_mut()
                .insert("authorization", value.parse().unwrap());
        }
        rollcall_proto::query::v1::query_service_client::QueryServiceClient::new(channel)
            .la_summary(request)
            .await
    };
    let refused = async |authorization: Option<&str>| {
        let status = la_summary(authorization).await.unwrap_err();
        assert_eq!(
            status.code(),
            Code::Unauthenticated,
            "{authorization:?}: {status:?}"
        );
        stable_code(&status)
    };

    let good = pipeline.key("la", OWN_LA).await;
    assert!(la_summary(Some(&format!("Bearer {good}"))).await.is_ok());

    assert_eq!(refused(None).await, "CREDENTIALS_MISSING");
    for malformed in [
        "Basic dXNlcjpwYXNz",
        "Bearer ",
        "Bearer rc_nothex_nothex",
        "Bearer not-a-token-at-all",
        &format!("Bearer {}", &good[..good.len() - 2]),
    ] {
        assert_eq!(
            refused(Some(malformed)).await,
            "CREDENTIALS_MALFORMED",
            "{malformed}"
        );
    }
    // Well-formed but unknown, and a known key id with the wrong secret.
    let unknown = rollcall_server::auth::Token::generate().reveal();
    assert_eq!(
        refused(Some(&format!("Bearer {unknown}"))).await,
        "CREDENTIALS_INVALID"
    );
    let key_id = good.split('_').nth(1).unwrap();
    let forged = format!("rc_{key_id}_{}", "ab".repeat(32));
    assert_eq!(
        refused(Some(&format!("Bearer {forged}"))).await,
        "CREDENTIALS_INVALID"
    );

    // Revoked with the CLI, as an admin would.
    let (ok, stdout, stderr) = crate::cli::rollcall_as(
        &pipeline,
        &pipeline.admin_token,
        &["--json", "keys", "revoke", key_id],
    )
    .await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("revoked_at"), "{stdout}");
    assert_eq!(
        refused(Some(&format!("Bearer {good}"))).await,
        "CREDENTIALS_REVOKED"
    );

    // Expired: a key whose time ran out (made in the past, straight in the database).
    let token = rollcall_server::auth::Token::generate();
    let pool = rollcall_db::connect(&pipeline.settings.database.url, 1)
        .await
        .unwrap();
    rollcall_db::create_api_key(
        &pool,
        &rollcall_db::NewApiKey {
            key_id: token.key_id.clone(),
            secret_sha256: token.secret_sha256(),
            kind: "la".into(),
            organisation: OWN_LA.into(),
            description: "expired".into(),
            expires_at: Utc::now() - chrono::Duration::minutes(1),
        },
    )
    .await
    .unwrap();
    pool.close().await;
    assert_eq!(
        refused(Some(&format!("Bearer {}", token.reveal()))).await,
        "CREDENTIALS_EXPIRED"
    );

    // Health stays open for load balancers.
    let channel =
        tonic::transport::Endpoint::from_shared(format!("http://{}", pipeline.query_addr))
            .unwrap()
            .connect()
            .await
            .unwrap();
    tonic_health::pb::health_client::HealthClient::new(channel)
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .unwrap();
    pipeline.stop().await;
}

#[tokio::test]
async fn keys_are_managed_with_the_cli() {
    let pipeline = Pipeline::start().await;
    let admin = pipeline.admin_token.clone();
    let cli = async |token: &str, args: &[&str]| crate::cli::json_as(&pipeline, token, args).await;
    let made = cli(
        &admin,
        &[
            "keys",
            "create",
            "--kind",
            "la",
            "--org",
            OWN_LA,
            "--description",
            "attendance team",
        ],
    )
    .await;
    let token = made["token"].as_str().unwrap().to_owned();
    let key_id = made["key_id"].as_str().unwrap().to_owned();
    assert!(token.starts_with(&format!("rc_{key_id}_")));
    let listed = cli(&admin, &["keys", "list"]).await;
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_id"] == key_id.as_str())
        .unwrap();
    assert_eq!(row["kind"], "la");
    assert_eq!(row["organisation"], OWN_LA);
    assert!(
        !listed.to_string().contains(&token[20..]),
        "secrets are never listed"
    );

    // The new key works, and an LA key cannot manage keys.
    let (ok, _, stderr) = crate::cli::rollcall_as(&pipeline, &token, &["keys", "list"]).await;
    assert!(!ok && stderr.contains("[PERMISSION_DENIED]"), "{stderr}");
    // Bootstrap writes an admin key straight in the database, for a fresh install.
    let (ok, stdout, stderr) = crate::cli::rollcall_as(
        &pipeline,
        "",
        &[
            "keys",
            "bootstrap",
            "--database-url",
            &pipeline.settings.database.url,
        ],
    )
    .await;
    assert!(ok, "{stderr}");
    let bootstrap = stdout.trim();
    cli(bootstrap, &["keys", "list"]).await;
    pipeline.stop().await;
}

#[tokio::test]
async fn a_feed_for_a_school_the_vendor_is_not_registered_for_leaves_nothing_behind() {
    let pipeline = Pipeline::start().await;
    // Both schools are in the registry; the vendor is registered for the first only.
    pipeline
        .import_schools(vec![school(OWN_URN, OWN_LA, false)])
        .await;
    pipeline
        .registry()
        .await
        .import_schools(ImportSchoolsRequest {
            schools: vec![school(OTHER_URN, OTHER_LA, false)],
        })
        .await
        .unwrap();
    pipeline
        .keys()
        .await
        .set_vendor_schools(SetVendorSchoolsRequest {
            vendor: VENDOR.into(),
            school_urns: vec![OWN_URN.into()],
        })
        .await
        .unwrap();
    let vendor = pipeline.key("vendor", VENDOR).await;
    let topic = pipeline.settings.kafka.topics.feeds.clone();

    let feed = one_pupil_feed(OTHER_URN, 330, "not-mine");
    let status = pipeline
        .gateway_as(&vendor)
        .await
        .submit_feed(tokio_stream::iter(feed.requests()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(stable_code(&status), "OUTSIDE_ORGANISATION");
    assert!(!status.message().contains(&upn(330, 1)));

    // Nothing in PostgreSQL, nothing in Kafka.
    let pool = rollcall_db::connect(&pipeline.settings.database.url, 1)
        .await
        .unwrap();
    let counts = rollcall_db::pipeline_counts(&pool).await.unwrap();
    assert_eq!(counts.feeds_received, 0);
    pool.close().await;
    assert_eq!(pipeline.message_count(&topic).await, 0);

    // The same vendor's feed for its own school goes through, so the refusal was about the school.
    let mine = one_pupil_feed(OWN_URN, 937, "mine");
    let receipt = pipeline
        .gateway_as(&vendor)
        .await
        .submit_feed(tokio_stream::iter(mine.requests()))
        .await
        .unwrap()
        .into_inner();
    pipeline.wait_processed(&receipt.feed_id).await;
    assert_eq!(pipeline.message_count(&topic).await, 1);
    pipeline.stop().await;
}

#[tokio::test]
async fn a_principal_over_its_rate_limit_is_resource_exhausted_across_connections() {
    let pipeline = Pipeline::start_with(Pipeline::shared_broker(), |s| {
        s.auth.requests_per_second = 0.5;
        s.auth.burst = 3;
    })
    .await;
    let token = pipeline.key("operations", "").await;
    let list = async |token: &str| {
        // A new connection every time: the limit follows the principal, not the connection.
        RegistryServiceClient::new(pipeline.channel(pipeline.query_addr, Some(token)).await)
            .list_schools(ListSchoolsRequest::default())
            .await
    };
    // Each principal has its own bucket of 3 (the admin spent from its own making the key).
    for _ in 0..3 {
        list(&token).await.unwrap();
    }
    let status = list(&token).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(stable_code(&status), "RATE_LIMITED");
    // Another principal has its own budget.
    let other = pipeline.key("exporter", "").await;
    list(&other).await.unwrap();
    // And the first recovers at the configured rate.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    list(&token).await.unwrap();
    pipeline.stop().await;
}

#[tokio::test]
async fn every_pupil_level_answer_is_audited_and_each_viewer_sees_its_own() {
    let pipeline = Pipeline::start().await;
    pipeline
        .import_schools(vec![
            school(OWN_URN, OWN_LA, false),
            school("100002", OWN_LA, true),
            school(OTHER_URN, OTHER_LA, false),
        ])
        .await;
    for feed in [
        one_pupil_feed(OWN_URN, 937, "a"),
        FeedSpec {
            urn: "100002".into(),
            ..one_pupil_feed(OWN_URN, 937, "b")
        },
    ] {
        let receipt = feed.submit(&pipeline).await.unwrap();
        pipeline.wait_processed(&receipt.feed_id).await;
    }
    let la = pipeline.la_token.clone();
    let own_school = pipeline.key("school", OWN_URN).await;
    let other_la = pipeline.key("la", OTHER_LA).await;

    // The purpose is required.
    let status = pipeline
        .query()
        .await
        .at_risk_pupils(AtRiskPupilsRequest {
            la_code: OWN_LA.into(),
            period: period(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with("purpose:"),
        "{}",
        status.message()
    );

    let answer = pipeline
        .query()
        .await
        .at_risk_pupils(AtRiskPupilsRequest {
            la_code: OWN_LA.into(),
            period: period(),
            purpose: "children missing education review".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        answer.pupils.len(),
        2,
        "one N in two sessions at each school"
    );

    let la_key_id = la.split('_').nth(1).unwrap();
    let events = crate::cli::json_as(&pipeline, &la, &["audit"]).await;
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event["key_id"], la_key_id);
    assert_eq!(event["principal_kind"], "la");
    assert_eq!(event["organisation"], OWN_LA);
    assert_eq!(event["purpose"], "children missing education review");
    assert_eq!(event["rpc"], "rollcall.query.v1.QueryService/AtRiskPupils");
    assert_eq!(event["request_scope"], "la 937");
    assert_eq!(event["enrolment_ids"].as_array().unwrap().len(), 2);

    // The school sees the event with only its own pupil; another LA sees nothing.
    let theirs = crate::cli::json_as(&pipeline, &own_school, &["audit"]).await;
    assert_eq!(theirs[0]["enrolment_ids"].as_array().unwrap().len(), 1);
    let none = crate::cli::json_as(&pipeline, &other_la, &["audit"]).await;
    assert!(none.as_array().unwrap().is_empty());

    // The table form names who, the call and the purpose.
    let (ok, table, _) = crate::cli::rollcall_as(&pipeline, &la, &["audit"]).await;
    assert!(
        ok && table.contains(la_key_id) && table.contains("AtRiskPupils"),
        "{table}"
    );
    pipeline.stop().await;
}
