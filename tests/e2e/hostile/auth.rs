//! Every way a credential can be wrong, against the real services over TLS: no credential,
//! malformed, unknown, revoked and expired API keys, keys of a kind the method does not allow or
//! for another organisation, signed tokens with `alg: none`, a symmetric algorithm, a wrong
//! audience or issuer, an expired or not-yet-valid time, a tampered payload, and client
//! certificates of another vendor, of no vendor and from a CA the services do not trust. Each
//! must be refused with its own code and record nothing; the same calls with good credentials
//! (the controls, run first) are answered.

use base64::Engine as _;
use chrono::{TimeZone, Utc};
use rollcall_proto::admin::v1::{RevokeKeyRequest, SetVendorSchoolsRequest};
use rollcall_proto::feed::v1::feed_service_client::FeedServiceClient;
use rollcall_proto::query::v1::{
    ImportSchoolsRequest, LaSummaryRequest, query_service_client::QueryServiceClient,
};
use tonic::Code;

use super::records::{mark, person};
use super::stack::{self, CERT_VENDOR, OTHER_VENDOR, Stack};
use super::{Refusal, Report, Row, refusal};
use crate::harness::{FeedSpec, TEST_VENDOR, school};

const ESTAB: u16 = 3104;
/// The test vendor's school.
const URN: &str = "140001";
/// The other vendor's school, and the school whose own key the catalogue holds.
const OTHER_URN: &str = "140002";
/// The certificate vendor's school.
const CERT_URN: &str = "140003";

/// The credentials a case may present, made at run time.
pub struct Keys {
    vendor: String,
    la: String,
    operations: String,
    exporter: String,
    admin: String,
    /// A school key for [`OTHER_URN`].
    school: String,
    /// A key of [`OTHER_VENDOR`].
    other_vendor: String,
    revoked: String,
    expired: String,
    signer: jsonwebtoken::EncodingKey,
    stranger: jsonwebtoken::EncodingKey,
    /// The JWKS file's text, as anyone may read it.
    jwks: String,
}

/// What a case presents: an `authorization` header (or none), a client certificate, or a
/// plaintext connection to a TLS listener.
pub struct Presented {
    header: Option<String>,
    certificate: Option<Certificate>,
    plaintext: bool,
}

#[derive(Clone, Copy)]
enum Certificate {
    Vendor,
    OtherVendor,
    Nameless,
    Stranger,
}

fn bearer(token: &str) -> Presented {
    header(&format!("Bearer {token}"))
}

fn header(value: &str) -> Presented {
    Presented {
        header: Some(value.to_owned()),
        certificate: None,
        plaintext: false,
    }
}

fn certificate(certificate: Certificate, header: Option<String>) -> Presented {
    Presented {
        header,
        certificate: Some(certificate),
        plaintext: false,
    }
}

#[derive(Clone, Copy)]
enum Call {
    /// A good feed for this school.
    Submit(&'static str),
    /// LA 937's summary.
    LaSummary,
}

enum Answer {
    Refused(Refusal),
    /// No gRPC answer: the connection is refused (what the server does to it, for the doc)
    /// before any service reads a call, so the call fails at the client's transport with one of
    /// these codes and no Rollcall code. Which one depends on timing (the TLS alert, a closed
    /// stream, or a TLS record read as an HTTP/2 frame), so each that was seen is allowed.
    Unanswered(&'static str, &'static [Code]),
    Ok,
}

struct AuthCase {
    name: &'static str,
    input: &'static str,
    present: fn(&Keys) -> Presented,
    call: Call,
    answer: Answer,
}

/// Signed token claims for an LA 937 user, changed by `change`.
fn claims(
    change: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) -> serde_json::Value {
    let mut claims = serde_json::json!({
        "iss": stack::ISSUER, "aud": stack::AUDIENCE, "sub": "attendance.officer",
        "exp": Utc::now().timestamp() + 600, "la_code": "937",
    });
    change(claims.as_object_mut().unwrap());
    claims
}

fn es256(key: &jsonwebtoken::EncodingKey, kid: Option<&str>, claims: &serde_json::Value) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn jwt(
    keys: &Keys,
    change: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) -> String {
    es256(&keys.signer, Some(stack::KID), &claims(change))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A token that says it needs no signature.
fn alg_none(claims: &serde_json::Value) -> String {
    let header = serde_json::json!({"alg": "none", "typ": "JWT", "kid": stack::KID});
    format!(
        "{}.{}.",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

fn unauthenticated(code: &'static str, message: &'static str) -> Answer {
    Answer::Refused(refusal(Code::Unauthenticated, code, message))
}

fn malformed() -> Answer {
    unauthenticated("CREDENTIALS_MALFORMED", "authorization must be")
}

fn not_recognised() -> Answer {
    unauthenticated("CREDENTIALS_INVALID", "credentials not recognised")
}

/// Refused by the method's policy: `message` names the caller's kind.
fn kind_refused(message: &'static str) -> Answer {
    Answer::Refused(refusal(
        Code::PermissionDenied,
        "PERMISSION_DENIED",
        message,
    ))
}

fn not_the_senders() -> Answer {
    Answer::Refused(refusal(
        Code::PermissionDenied,
        "OUTSIDE_ORGANISATION",
        "you are not registered to send feeds for this school",
    ))
}

#[rustfmt::skip]
fn controls() -> Vec<AuthCase> {
    let case = |name, present, call| AuthCase { name, input: "", present, call, answer: Answer::Ok };
    vec![
        case("control: the vendor's key", |k| bearer(&k.vendor), Call::Submit(URN)),
        case("control: the vendor's certificate", |_| certificate(Certificate::Vendor, None), Call::Submit(CERT_URN)),
        case("control: the other vendor's certificate for its school", |_| certificate(Certificate::OtherVendor, None), Call::Submit(OTHER_URN)),
        case("control: the school's key", |k| bearer(&k.school), Call::Submit(OTHER_URN)),
        case("control: an LA key", |k| bearer(&k.la), Call::LaSummary),
        case("control: an LA user's signed token", |k| bearer(&jwt(k, |_| {})), Call::LaSummary),
    ]
}

#[rustfmt::skip]
fn catalogue() -> Vec<AuthCase> {
    use Call::{LaSummary, Submit};
    let case = |name, input, present, call, answer| AuthCase { name, input, present, call, answer };
    let la_only = "a la credential may not call this method";
    vec![
        case("no-credentials", "a feed with no authorization header and no certificate", |_| Presented { header: None, certificate: None, plaintext: false }, Submit(URN), unauthenticated("CREDENTIALS_MISSING", "credentials required")),
        case("basic-authorization", "`Basic` credentials", |_| header("Basic dXNlcjpwYXNz"), Submit(URN), malformed()),
        case("bearer-nothing", "`Bearer ` and nothing after it", |_| header("Bearer "), Submit(URN), malformed()),
        case("bearer-lowercase-scheme", "the vendor's key after `bearer` in lower case", |k| header(&format!("bearer {}", k.vendor)), Submit(URN), malformed()),
        case("api-key-truncated", "the vendor's key without its last two characters", |k| bearer(&k.vendor[..k.vendor.len() - 2]), Submit(URN), malformed()),
        case("api-key-sql", "SQL text after `rc_`", |_| bearer("rc_'--;DROP/**/TABLE/**/api_keys"), Submit(URN), malformed()),
        case("api-key-unknown", "a well-formed key no one issued", |_| bearer(&rollcall_server::auth::Token::generate().reveal()), Submit(URN), not_recognised()),
        case("api-key-wrong-secret", "the vendor's key id with another secret", |k| bearer(&forge(&k.vendor)), Submit(URN), not_recognised()),
        case("api-key-revoked", "a revoked vendor key", |k| bearer(&k.revoked), Submit(URN), unauthenticated("CREDENTIALS_REVOKED", "this api key has been revoked")),
        case("api-key-revoked-wrong-secret", "a revoked key's id with another secret (its state is not told)", |k| bearer(&forge(&k.revoked)), Submit(URN), not_recognised()),
        case("api-key-expired", "a vendor key past its expiry", |k| bearer(&k.expired), Submit(URN), unauthenticated("CREDENTIALS_EXPIRED", "credentials have expired")),
        case("la-key-sends-a-feed", "an LA key sending a feed", |k| bearer(&k.la), Submit(URN), kind_refused(la_only)),
        case("operations-key-sends-a-feed", "an operations key sending a feed", |k| bearer(&k.operations), Submit(URN), kind_refused("a operations credential may not call this method")),
        case("exporter-key-sends-a-feed", "an exporter key sending a feed", |k| bearer(&k.exporter), Submit(URN), kind_refused("a exporter credential may not call this method")),
        case("admin-key-sends-a-feed", "an admin key sending a feed", |k| bearer(&k.admin), Submit(URN), kind_refused("a admin credential may not call this method")),
        case("vendor-key-reads-a-summary", "a vendor key asking for an LA summary", |k| bearer(&k.vendor), LaSummary, kind_refused("a vendor credential may not call this method")),
        case("school-key-for-another-school", "a school's key sending another school's feed", |k| bearer(&k.school), Submit(URN), not_the_senders()),
        case("another-vendors-key", "another vendor's key sending this vendor's school", |k| bearer(&k.other_vendor), Submit(URN), not_the_senders()),
        case("jwt-alg-none", "a token with `alg: none` and no signature", |_| bearer(&alg_none(&claims(|_| {}))), LaSummary, malformed()),
        case("jwt-alg-none-sends-a-feed", "the same token sending a feed", |_| bearer(&alg_none(&claims(|_| {}))), Submit(URN), malformed()),
        case("jwt-hs256-with-the-jwks", "HS256 signed with the published JWKS as the secret", |k| bearer(&hs256(&k.jwks)), LaSummary, not_recognised()),
        case("jwt-wrong-audience", "a token for another audience", |k| bearer(&jwt(k, |c| { c.insert("aud".into(), "someone-else".into()); })), LaSummary, not_recognised()),
        case("jwt-wrong-issuer", "a token from another issuer", |k| bearer(&jwt(k, |c| { c.insert("iss".into(), "https://idp.evil.test".into()); })), LaSummary, not_recognised()),
        case("jwt-expired", "a token expired ten minutes ago", |k| bearer(&jwt(k, |c| { c.insert("exp".into(), (Utc::now().timestamp() - 600).into()); })), LaSummary, unauthenticated("CREDENTIALS_EXPIRED", "credentials have expired")),
        case("jwt-not-yet-valid", "a token whose `nbf` is an hour ahead", |k| bearer(&jwt(k, |c| { c.insert("nbf".into(), (Utc::now().timestamp() + 3600).into()); })), LaSummary, not_recognised()),
        case("jwt-without-expiry", "a token with no `exp`", |k| bearer(&jwt(k, |c| { c.remove("exp"); })), LaSummary, not_recognised()),
        case("jwt-without-subject", "a token with no `sub`", |k| bearer(&jwt(k, |c| { c.remove("sub"); })), LaSummary, not_recognised()),
        case("jwt-unknown-kid", "a token naming a key the JWKS does not hold", |k| bearer(&es256(&k.signer, Some("idp-2"), &claims(|_| {}))), LaSummary, not_recognised()),
        case("jwt-without-kid", "a token naming no key", |k| bearer(&es256(&k.signer, None, &claims(|_| {}))), LaSummary, not_recognised()),
        case("jwt-signed-by-another-key", "a token signed by another key under the JWKS's key id", |k| bearer(&es256(&k.stranger, Some(stack::KID), &claims(|_| {}))), LaSummary, not_recognised()),
        case("jwt-payload-tampered", "a good token with its payload swapped for another LA's", |k| bearer(&tampered(k)), LaSummary, not_recognised()),
        case("jwt-not-an-la", "a token for LA `999`", |k| bearer(&jwt(k, |c| { c.insert("la_code".into(), "999".into()); })), LaSummary, not_recognised()),
        case("jwt-another-las-user", "an LA 330 user's token asking for LA 937", |k| bearer(&jwt(k, |c| { c.insert("la_code".into(), "330".into()); })), LaSummary, Answer::Refused(refusal(Code::PermissionDenied, "OUTSIDE_ORGANISATION", "this school or la is outside your organisation"))),
        case("jwt-la-user-sends-a-feed", "an LA user's good token sending a feed", |k| bearer(&jwt(k, |_| {})), Submit(URN), kind_refused(la_only)),
        case("jwt-garbage", "`a.b.c` as the token", |_| bearer("a.b.c"), LaSummary, malformed()),
        case("another-vendors-certificate", "another vendor's certificate (same CA) sending this vendor's school", |_| certificate(Certificate::OtherVendor, None), Submit(CERT_URN), not_the_senders()),
        case("certificate-naming-no-vendor", "a certificate from the CA with no common name", |_| certificate(Certificate::Nameless, None), Submit(CERT_URN), unauthenticated("CREDENTIALS_INVALID", "the client certificate names no vendor")),
        case("certificate-with-a-bad-key", "the vendor's certificate with an unknown API key beside it (the key is judged)", |_| certificate(Certificate::Vendor, Some(format!("Bearer {}", rollcall_server::auth::Token::generate().reveal()))), Submit(CERT_URN), not_recognised()),
        case("certificate-from-another-ca", "the vendor's name on a certificate from a CA the services do not trust", |_| certificate(Certificate::Stranger, None), Submit(CERT_URN), Answer::Unanswered("the TLS handshake is refused", &[Code::Unknown, Code::Cancelled])),
        case("plaintext-to-a-tls-listener", "the vendor's key over plaintext HTTP/2 to the TLS port", |k| Presented { plaintext: true, ..bearer(&k.vendor) }, Submit(URN), Answer::Unanswered("the connection is closed", &[Code::Unknown, Code::Internal])),
    ]
}

/// The key's id with a secret of its own.
fn forge(token: &str) -> String {
    let key_id = token.split('_').nth(1).unwrap();
    format!("rc_{key_id}_{}", "ab".repeat(32))
}

/// The key-confusion attack: HS256 keyed with what the JWKS publishes.
fn hs256(jwks: &str) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(stack::KID.into());
    let secret = jsonwebtoken::EncodingKey::from_secret(jwks.as_bytes());
    jsonwebtoken::encode(&header, &claims(|_| {}), &secret).unwrap()
}

/// A good token's header and signature around another LA's claims.
fn tampered(keys: &Keys) -> String {
    let good = jwt(keys, |_| {});
    let parts: Vec<&str> = good.split('.').collect();
    let other = claims(|c| {
        c.insert("la_code".into(), "330".into());
    });
    format!(
        "{}.{}.{}",
        parts[0],
        b64(other.to_string().as_bytes()),
        parts[2]
    )
}

impl Answer {
    fn describe(&self) -> String {
        match self {
            Answer::Refused(refusal) => refusal.to_string(),
            Answer::Unanswered(what, codes) => {
                let codes: Vec<String> = codes
                    .iter()
                    .map(|c| format!("`{}`", super::code_name(*c)))
                    .collect();
                format!(
                    "no gRPC answer: {what}; the call fails in the client's transport ({})",
                    codes.join(" or ")
                )
            }
            Answer::Ok => "`OK`".into(),
        }
    }
}

pub fn rows() -> Vec<Row> {
    catalogue()
        .iter()
        .map(|c| Row::new(c.name, c.input, c.answer.describe()))
        .collect()
}

/// Makes the keys the cases present: through the admin API, and an expired one straight in
/// the database (no API makes a key in the past).
async fn keys(stack: &Stack) -> Keys {
    let pipeline = &stack.pipeline;
    let revoked = pipeline.key("vendor", TEST_VENDOR).await;
    pipeline
        .keys()
        .await
        .revoke_key(RevokeKeyRequest {
            key_id: revoked.split('_').nth(1).unwrap().to_owned(),
        })
        .await
        .unwrap();
    let token = rollcall_server::auth::Token::generate();
    let pool = rollcall_db::connect(&pipeline.settings.database.url, 1)
        .await
        .unwrap();
    rollcall_db::create_api_key(
        &pool,
        &rollcall_db::NewApiKey {
            key_id: token.key_id.clone(),
            secret_sha256: token.secret_sha256(),
            kind: "vendor".into(),
            organisation: TEST_VENDOR.into(),
            description: "expired".into(),
            expires_at: Utc::now() - chrono::Duration::minutes(5),
        },
    )
    .await
    .unwrap();
    pool.close().await;
    Keys {
        vendor: pipeline.vendor_token.clone(),
        la: pipeline.la_token.clone(),
        operations: pipeline.key("operations", "").await,
        exporter: pipeline.key("exporter", "").await,
        admin: pipeline.admin_token.clone(),
        school: pipeline.key("school", OTHER_URN).await,
        other_vendor: pipeline.key("vendor", OTHER_VENDOR).await,
        revoked,
        expired: token.reveal(),
        signer: stack.idp.key.clone(),
        stranger: stack.idp.stranger.clone(),
        jwks: std::fs::read_to_string(&stack.idp.jwks).unwrap(),
    }
}

/// Makes the call as the case presents itself: the error is the status, or for a connection
/// that never carried a call, `UNAVAILABLE` as the client reports it.
async fn call(stack: &Stack, case: &AuthCase, keys: &Keys, n: usize) -> Result<(), tonic::Status> {
    let presented = (case.present)(keys);
    let credentials = match presented.certificate {
        None => stack.credentials(None),
        Some(which) => stack.with_certificate(
            match which {
                Certificate::Vendor => &stack.pki.vendor,
                Certificate::OtherVendor => &stack.pki.other_vendor,
                Certificate::Nameless => &stack.pki.nameless,
                Certificate::Stranger => &stack.pki.stranger,
            },
            None,
        ),
    };
    let url = match case.call {
        Call::Submit(_) => stack.gateway_url(),
        Call::LaSummary => stack.query_url(),
    };
    let url = if presented.plaintext {
        url.replace("https://", "http://")
    } else {
        url
    };
    let channel = rollcall_client::connect(&url, &credentials)
        .await
        .map_err(|err| tonic::Status::unavailable(format!("connect: {err}")))?;
    let authorise = |request: &mut tonic::metadata::MetadataMap| {
        if let Some(value) = &presented.header {
            request.insert("authorization", value.parse().unwrap());
        }
    };
    match case.call {
        Call::Submit(urn) => {
            let pupil = person(ESTAB, n as u16);
            let feed = FeedSpec {
                urn: urn.into(),
                key: format!("auth-{n}"),
                extracted_at: Utc.with_ymd_and_hms(2025, 10, 6, 16, 0, 0).unwrap(),
                marks: vec![mark(&pupil.upn, "2025-10-06", "AM", "/")],
                roll: vec![pupil],
            };
            let mut request = tonic::Request::new(tokio_stream::iter(feed.requests()));
            authorise(request.metadata_mut());
            FeedServiceClient::new(channel)
                .submit_feed(request)
                .await
                .map(|_| ())
        }
        Call::LaSummary => {
            let mut request = tonic::Request::new(LaSummaryRequest {
                as_at: String::new(),
                la_code: "937".into(),
                period: None,
            });
            authorise(request.metadata_mut());
            QueryServiceClient::new(channel)
                .la_summary(request)
                .await
                .map(|_| ())
        }
    }
}

pub async fn run(stack: &Stack, report: &mut Report) {
    let pipeline = &stack.pipeline;
    pipeline
        .import_schools(vec![school(URN, "937", false)])
        .await;
    // Into the registry only: `import_schools` would register them to the test vendor too.
    pipeline
        .registry()
        .await
        .import_schools(ImportSchoolsRequest {
            schools: vec![
                school(OTHER_URN, "937", false),
                school(CERT_URN, "937", false),
            ],
        })
        .await
        .unwrap();
    for (vendor, urn) in [(CERT_VENDOR, CERT_URN), (OTHER_VENDOR, OTHER_URN)] {
        pipeline
            .keys()
            .await
            .set_vendor_schools(SetVendorSchoolsRequest {
                vendor: vendor.into(),
                school_urns: vec![urn.into()],
            })
            .await
            .unwrap();
    }
    let keys = keys(stack).await;
    let before = stack.feeds_received().await;
    let mut n = 0;
    let mut sent = 0;
    for control in controls() {
        n += 1;
        sent += usize::from(matches!(control.call, Call::Submit(_)));
        if let Err(status) = call(stack, &control, &keys, n).await {
            report.fail(control.name, format!("refused: {status:?}"));
        }
    }
    for case in catalogue() {
        n += 1;
        report.cases += 1;
        let got = call(stack, &case, &keys, n).await;
        match &case.answer {
            Answer::Refused(want) => report.refused(case.name, got, want),
            Answer::Unanswered(_, codes) => match got {
                Err(status)
                    if codes.contains(&status.code()) && super::stable_code(&status).is_empty() => {
                }
                other => report.fail(case.name, format!("answered {other:?}, expected no answer")),
            },
            Answer::Ok => unreachable!("controls are not cases"),
        }
    }
    for n in 1..=n {
        let pupil = person(ESTAB, n as u16);
        report.personal.extend([
            pupil.upn,
            pupil.forename,
            pupil.surname,
            pupil.date_of_birth,
        ]);
    }
    let recorded = stack.feeds_received().await - before;
    if recorded != sent as i64 {
        report.fail(
            "credentials group",
            format!("{recorded} feeds recorded, expected only the {sent} controls'"),
        );
    }
}
