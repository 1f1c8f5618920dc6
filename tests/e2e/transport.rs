//! TLS on the listeners, mutual TLS for MIS vendors (the certificate names the vendor), and signed
//! tokens for LA users, with certificates and keys made here by rcgen for each test (no private
//! key is committed).

use std::path::PathBuf;

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use rollcall_proto::admin::v1::SetVendorSchoolsRequest;
use rollcall_proto::feed::v1::feed_service_client::FeedServiceClient;
use rollcall_proto::query::v1::{
    AtRiskPupilsRequest, LaSummaryRequest, ListSchoolsRequest, Period,
    registry_service_client::RegistryServiceClient,
};
use tonic::Code;

use crate::harness::{FeedSpec, Pipeline, mark, pupil, school, upn};

/// A CA, a server certificate for 127.0.0.1 and localhost, a vendor's client certificate from
/// the same CA, and a client certificate from a CA the server does not trust.
struct Pki {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    vendor_cert: PathBuf,
    vendor_key: PathBuf,
    stranger_cert: PathBuf,
    stranger_key: PathBuf,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn leaf(
    issuer: &CertifiedIssuer<'static, KeyPair>,
    names: &[&str],
    common_name: &str,
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let authority = ca("rollcall test ca");
    let (server_cert, server_key) = leaf(
        &authority,
        &["127.0.0.1", "localhost"],
        "rollcall",
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let (vendor_cert, vendor_key) = leaf(
        &authority,
        &[],
        "cert-mis",
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let (stranger_cert, stranger_key) = leaf(
        &ca("someone else's ca"),
        &[],
        "cert-mis",
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    Pki {
        ca: write("ca.pem", &authority.pem()),
        server_cert: write("server.pem", &server_cert),
        server_key: write("server.key", &server_key),
        vendor_cert: write("vendor.pem", &vendor_cert),
        vendor_key: write("vendor.key", &vendor_key),
        stranger_cert: write("stranger.pem", &stranger_cert),
        stranger_key: write("stranger.key", &stranger_key),
        _dir: dir,
    }
}

async fn tls_pipeline(pki: &Pki) -> Pipeline {
    let mut pipeline = Pipeline::start_with(Pipeline::shared_broker(), |s| {
        s.tls.plaintext = false;
        s.tls.cert = pki.server_cert.clone();
        s.tls.key = pki.server_key.clone();
        s.tls.client_ca = pki.ca.clone();
    })
    .await;
    pipeline.ca_cert = Some(pki.ca.clone());
    pipeline
}

fn feed(urn: &str, la: u16, key: &str) -> FeedSpec {
    let pupil_upn = upn(la, 7);
    FeedSpec {
        urn: urn.into(),
        key: key.into(),
        extracted_at: chrono::Utc::now() - chrono::Duration::hours(1),
        roll: vec![pupil(&pupil_upn, "2025-09-03")],
        marks: vec![mark(&pupil_upn, "2025-10-06", "AM", "/")],
    }
}

#[tokio::test]
async fn every_call_runs_over_tls_and_plaintext_clients_get_nothing() {
    let pki = pki();
    let pipeline = tls_pipeline(&pki).await;
    pipeline
        .import_schools(vec![school("100001", "937", false)])
        .await;
    let receipt = feed("100001", 937, "tls").submit(&pipeline).await.unwrap();
    pipeline.wait_processed(&receipt.feed_id).await;
    let summary = pipeline
        .query()
        .await
        .la_summary(LaSummaryRequest {
            as_at: String::new(),
            la_code: "937".into(),
            period: Some(Period {
                from: "2025-09-01".into(),
                to: "2025-12-31".into(),
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.total.unwrap().possible_sessions, 1);

    // A plaintext client cannot talk to a TLS listener, with or without a token.
    for addr in [pipeline.gateway_addr, pipeline.query_addr] {
        let plain = rollcall_client::connect(
            &format!("http://{addr}"),
            &rollcall_client::Credentials::token(pipeline.admin_token.clone()),
        )
        .await;
        if let Ok(channel) = plain {
            let result = RegistryServiceClient::new(channel)
                .list_schools(ListSchoolsRequest::default())
                .await;
            assert!(result.is_err(), "plaintext call to {addr} answered");
        }
    }

    // The CLI over TLS, trusting the CA it is given.
    let output = tokio::process::Command::new(crate::harness::bin("rollcall"))
        .args(["--query", &format!("https://{}", pipeline.query_addr)])
        .args(["--ca-cert", pki.ca.to_str().unwrap()])
        .args(["--json", "schools", "list"])
        .env("ROLLCALL_TOKEN", &pipeline.admin_token)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("100001"),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    pipeline.stop().await;
}

#[tokio::test]
async fn a_vendor_certificate_identifies_the_vendor_over_mutual_tls() {
    let pki = pki();
    let pipeline = tls_pipeline(&pki).await;
    pipeline
        .import_schools(vec![
            school("100001", "937", false),
            school("200001", "330", false),
        ])
        .await;
    pipeline
        .keys()
        .await
        .set_vendor_schools(SetVendorSchoolsRequest {
            vendor: "cert-mis".into(),
            school_urns: vec!["100001".into()],
        })
        .await
        .unwrap();
    let with_cert = |cert: &PathBuf, key: &PathBuf| rollcall_client::Credentials {
        ca_cert: Some(pki.ca.clone()),
        client_cert: Some(cert.clone()),
        client_key: Some(key.clone()),
        ..Default::default()
    };
    let url = format!("https://{}", pipeline.gateway_addr);

    // No token: the certificate is the credential.
    let mut vendor = FeedServiceClient::new(
        rollcall_client::connect(&url, &with_cert(&pki.vendor_cert, &pki.vendor_key))
            .await
            .unwrap(),
    );
    let own = feed("100001", 937, "mtls");
    let receipt = vendor
        .submit_feed(tokio_stream::iter(own.requests()))
        .await
        .unwrap()
        .into_inner();
    pipeline.wait_processed(&receipt.feed_id).await;
    let other = feed("200001", 330, "mtls");
    let status = vendor
        .submit_feed(tokio_stream::iter(other.requests()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    // Without a certificate or a token: unauthenticated.
    let mut anonymous = FeedServiceClient::new(
        rollcall_client::connect(
            &url,
            &rollcall_client::Credentials {
                ca_cert: Some(pki.ca.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap(),
    );
    let status = anonymous
        .submit_feed(tokio_stream::iter(own.requests()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    // A certificate from a CA the server does not trust gets no answer at all.
    let stranger =
        rollcall_client::connect(&url, &with_cert(&pki.stranger_cert, &pki.stranger_key)).await;
    if let Ok(channel) = stranger {
        let result = FeedServiceClient::new(channel)
            .submit_feed(tokio_stream::iter(own.requests()))
            .await;
        assert!(result.is_err(), "an untrusted certificate was accepted");
    }
    pipeline.stop().await;
}

/// An identity provider's signing key and the JWKS file that publishes its public half.
struct Idp {
    _dir: tempfile::TempDir,
    jwks: PathBuf,
    key: jsonwebtoken::EncodingKey,
}

const ISSUER: &str = "https://idp.warwickshire.test";
const AUDIENCE: &str = "rollcall";

fn idp() -> Idp {
    let dir = tempfile::tempdir().unwrap();
    let pair = KeyPair::generate().unwrap(); // ECDSA P-256
    let point = pair.public_key_raw(); // 0x04 || x || y
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let jwks = serde_json::json!({"keys": [{
        "kty": "EC", "crv": "P-256", "kid": "idp-1", "alg": "ES256", "use": "sig",
        "x": b64(&point[1..33]), "y": b64(&point[33..65]),
    }]});
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, jwks.to_string()).unwrap();
    Idp {
        jwks: path,
        key: jsonwebtoken::EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap(),
        _dir: dir,
    }
}

fn jwt(key: &jsonwebtoken::EncodingKey, claims: serde_json::Value) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("idp-1".into());
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

fn claims(audience: &str, expires_in: i64, la: &str) -> serde_json::Value {
    serde_json::json!({
        "iss": ISSUER, "aud": audience, "sub": "attendance.officer",
        "exp": chrono::Utc::now().timestamp() + expires_in, "la_code": la,
    })
}

#[tokio::test]
async fn la_users_sign_in_with_their_identity_providers_tokens() {
    let provider = idp();
    let pipeline = Pipeline::start_with(Pipeline::shared_broker(), |s| {
        s.auth.jwt.jwks_file = provider.jwks.clone();
        s.auth.jwt.issuer = ISSUER.into();
        s.auth.jwt.audience = AUDIENCE.into();
    })
    .await;
    pipeline
        .import_schools(vec![school("100001", "937", false)])
        .await;
    let summary = async |token: &str, la: &str| {
        pipeline
            .query_as(token)
            .await
            .la_summary(LaSummaryRequest {
                as_at: String::new(),
                la_code: la.into(),
                period: None,
            })
            .await
    };
    let refused = async |token: &str| {
        let status = summary(token, "937").await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
        status
            .metadata()
            .get("rollcall-error-code")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };

    let good = jwt(&provider.key, claims(AUDIENCE, 600, "937"));
    summary(&good, "937").await.unwrap();
    assert_eq!(
        summary(&good, "330").await.unwrap_err().code(),
        Code::PermissionDenied
    );
    assert_eq!(
        refused(&jwt(&provider.key, claims(AUDIENCE, -600, "937"))).await,
        "CREDENTIALS_EXPIRED"
    );
    assert_eq!(
        refused(&jwt(&provider.key, claims("someone-else", 600, "937"))).await,
        "CREDENTIALS_INVALID"
    );
    // Signed by a key the JWKS does not hold, under the same key id.
    assert_eq!(
        refused(&jwt(&idp().key, claims(AUDIENCE, 600, "937"))).await,
        "CREDENTIALS_INVALID"
    );
    // A token that picks a symmetric algorithm for itself.
    let mut hs = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs.kid = Some("idp-1".into());
    let forged = jsonwebtoken::encode(
        &hs,
        &claims(AUDIENCE, 600, "937"),
        &jsonwebtoken::EncodingKey::from_secret(b"guess"),
    )
    .unwrap();
    assert_eq!(refused(&forged).await, "CREDENTIALS_INVALID");
    assert_eq!(refused("a.b").await, "CREDENTIALS_MALFORMED");

    // The token's subject is who the audit names.
    let absent = FeedSpec {
        marks: vec![mark(&upn(937, 7), "2025-10-06", "AM", "N")],
        ..feed("100001", 937, "jwt")
    };
    let receipt = absent.submit(&pipeline).await.unwrap();
    pipeline.wait_processed(&receipt.feed_id).await;
    let at_risk = pipeline
        .query_as(&good)
        .await
        .at_risk_pupils(AtRiskPupilsRequest {
            la_code: "937".into(),
            purpose: "jwt audit".into(),
            period: Some(Period {
                from: "2025-09-01".into(),
                to: "2025-12-31".into(),
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(at_risk.pupils.len(), 1);
    let events = crate::cli::json_as(&pipeline, &good, &["audit"]).await;
    assert_eq!(events[0]["key_id"], "jwt:attendance.officer", "{events}");
    assert_eq!(events[0]["purpose"], "jwt audit");
    pipeline.stop().await;
}
