//! The `rollcall` command-line client, and the client pieces the demo, the benchmarks and the
//! end-to-end tests share: connecting with credentials (and TLS), streaming a feed to the gateway,
//! waiting for receipts, importing the school registry, making the keys a synthetic LA needs.

pub mod csvfile;
pub mod export;
pub mod table;

#[cfg(test)]
mod client_tests;

use std::time::{Duration, Instant};

use rollcall_domain::validation::{RawMark, RawPupil};
use rollcall_proto::admin::v1::{
    CreateKeyRequest, SetVendorSchoolsRequest, key_service_client::KeyServiceClient,
};
use rollcall_proto::feed::v1::{
    FeedHeader, FeedReceipt, FeedStatus, GetFeedReceiptRequest, MarkChunk, MarkRecord, RollChunk,
    RollRecord, SubmitFeedRequest, feed_service_client::FeedServiceClient,
    submit_feed_request::Part,
};
use rollcall_proto::query::v1::{
    ImportSchoolsRequest, School, registry_service_client::RegistryServiceClient,
};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// A channel that sends the caller's bearer token with every call.
pub type AuthChannel = InterceptedService<Channel, Bearer>;

/// Adds `authorization: Bearer <token>` to each call (nothing when there is no token: a vendor
/// on mutual TLS is identified by its certificate).
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// How to reach and prove who we are to a service.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    /// An API key (`rc_...`) or a signed token.
    pub token: Option<String>,
    /// PEM CA certificate that signed the server's certificate (for `https://` addresses).
    pub ca_cert: Option<std::path::PathBuf>,
    /// PEM client certificate and key, for a vendor on mutual TLS.
    pub client_cert: Option<std::path::PathBuf>,
    pub client_key: Option<std::path::PathBuf>,
}

impl Credentials {
    pub fn token(token: impl Into<String>) -> Credentials {
        Credentials {
            token: Some(token.into()),
            ..Credentials::default()
        }
    }
}

/// A channel carrying `token` (when there is one).
pub fn with_token(channel: Channel, token: Option<&str>) -> anyhow::Result<AuthChannel> {
    let value = token
        .map(|t| {
            format!("Bearer {t}")
                .parse::<MetadataValue<Ascii>>()
                .map_err(|_| anyhow::anyhow!("the token is not printable ascii"))
        })
        .transpose()?;
    Ok(InterceptedService::new(channel, Bearer(value)))
}

/// The endpoint for `url` with TLS set up from `credentials` when the address is `https://`.
pub fn endpoint(
    url: &str,
    credentials: &Credentials,
) -> anyhow::Result<tonic::transport::Endpoint> {
    let mut endpoint = tonic::transport::Endpoint::from_shared(url.to_owned())
        .map_err(|_| anyhow::anyhow!("invalid address {url}"))?;
    if url.starts_with("https://") {
        let read = |path: &std::path::Path| {
            std::fs::read(path)
                .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", path.display()))
        };
        let mut tls = ClientTlsConfig::new();
        if let Some(ca) = &credentials.ca_cert {
            tls = tls.ca_certificate(Certificate::from_pem(read(ca)?));
        }
        match (&credentials.client_cert, &credentials.client_key) {
            (Some(cert), Some(key)) => {
                tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
            }
            (None, None) => {}
            _ => anyhow::bail!("a client certificate needs both --client-cert and --client-key"),
        }
        endpoint = endpoint
            .tls_config(tls)
            .map_err(|err| anyhow::anyhow!("tls: {err}"))?;
    }
    Ok(endpoint)
}

/// Connects to `url` with `credentials`.
pub async fn connect(url: &str, credentials: &Credentials) -> anyhow::Result<AuthChannel> {
    let channel = endpoint(url, credentials)?.connect().await.map_err(|err| {
        // The transport nests the same words several times; its innermost cause says it all.
        let mut cause: &dyn std::error::Error = &err;
        while let Some(source) = cause.source() {
            cause = source;
        }
        anyhow::anyhow!(
            "cannot connect to {url}: {}",
            lowercase_first(&cause.to_string())
        )
    })?;
    with_token(channel, credentials.token.as_deref())
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The keys a synthetic LA needs, made with an admin's channel: one vendor sending for every
/// school, and a user of the LA.
pub struct SyntheticKeys {
    pub vendor_token: String,
    pub la_token: String,
}

/// Registers vendor `vendor` for every school of `schools` and makes a key for it and one for a
/// user of LA `la_code`.
pub async fn synthetic_keys(
    admin: AuthChannel,
    vendor: &str,
    la_code: u16,
    schools: &[rollcall_synth::School],
) -> Result<SyntheticKeys, tonic::Status> {
    let mut keys = KeyServiceClient::new(admin);
    keys.set_vendor_schools(SetVendorSchoolsRequest {
        vendor: vendor.to_owned(),
        school_urns: schools.iter().map(|s| format!("{:06}", s.urn)).collect(),
    })
    .await?;
    let mut create = async |kind: &str, organisation: String, description: &str| {
        keys.create_key(CreateKeyRequest {
            kind: kind.to_owned(),
            organisation,
            description: description.to_owned(),
            valid_days: 1,
        })
        .await
        .map(|r| r.into_inner().token)
    };
    Ok(SyntheticKeys {
        vendor_token: create("vendor", vendor.to_owned(), "synthetic la vendor").await?,
        la_token: create("la", format!("{la_code:03}"), "synthetic la user").await?,
    })
}

/// Records per stream message: well under gRPC's default 4 MiB message limit.
pub const CHUNK_RECORDS: usize = 5_000;

/// A feed ready to send: header fields and the records as text.
pub struct Submission<'a> {
    pub school_urn: String,
    pub extracted_at: chrono::DateTime<chrono::Utc>,
    pub idempotency_key: String,
    pub code_set: &'a str,
    pub roll: &'a [RawPupil],
    pub marks: &'a [RawMark],
}

/// Streams one feed to the gateway (header, then roll and mark chunks) and returns its receipt.
pub async fn submit(
    client: &mut FeedServiceClient<AuthChannel>,
    feed: &Submission<'_>,
) -> Result<FeedReceipt, tonic::Status> {
    client
        .submit_feed(tokio_stream::iter(requests(feed)))
        .await
        .map(tonic::Response::into_inner)
}

/// The stream's messages: the header, then roll chunks, then mark chunks, each of at most
/// [`CHUNK_RECORDS`] records.
pub fn requests(feed: &Submission<'_>) -> Vec<SubmitFeedRequest> {
    let header = FeedHeader {
        school_urn: feed.school_urn.clone(),
        extracted_at: Some(prost_types::Timestamp {
            seconds: feed.extracted_at.timestamp(),
            nanos: feed.extracted_at.timestamp_subsec_nanos() as i32,
        }),
        idempotency_key: feed.idempotency_key.clone(),
        code_set: feed.code_set.to_owned(),
    };
    let mut requests = vec![SubmitFeedRequest {
        part: Some(Part::Header(header)),
    }];
    for chunk in feed.roll.chunks(CHUNK_RECORDS) {
        let records = chunk.iter().map(roll_record).collect();
        requests.push(SubmitFeedRequest {
            part: Some(Part::Roll(RollChunk { records })),
        });
    }
    for chunk in feed.marks.chunks(CHUNK_RECORDS) {
        let records = chunk.iter().map(mark_record).collect();
        requests.push(SubmitFeedRequest {
            part: Some(Part::Marks(MarkChunk { records })),
        });
    }
    requests
}

/// Streams a synthetic school's feed, as its vendor would.
pub async fn submit_feed(
    client: &mut FeedServiceClient<AuthChannel>,
    feed: &rollcall_synth::Feed,
    code_set: &str,
) -> Result<FeedReceipt, tonic::Status> {
    submit(
        client,
        &Submission {
            school_urn: format!("{:06}", feed.urn),
            extracted_at: feed.extracted_at,
            idempotency_key: feed.idempotency_key.clone(),
            code_set,
            roll: &feed.roll,
            marks: &feed.marks,
        },
    )
    .await
}

/// A pupil as the feed API carries it.
pub fn roll_record(p: &RawPupil) -> RollRecord {
    RollRecord {
        upn: p.upn.clone(),
        forename: p.forename.clone(),
        surname: p.surname.clone(),
        date_of_birth: p.date_of_birth.clone(),
        sex: p.sex.clone(),
        year_group: p.year_group.clone(),
        admission_date: p.admission_date.clone(),
        leaving_date: p.leaving_date.clone(),
        fsm: p.fsm.clone(),
        sen_provision: p.sen_provision.clone(),
        ethnicity: p.ethnicity.clone(),
        looked_after: p.looked_after.clone(),
    }
}

/// A mark as the feed API carries it.
pub fn mark_record(m: &RawMark) -> MarkRecord {
    MarkRecord {
        upn: m.upn.clone(),
        date: m.date.clone(),
        session: m.session.clone(),
        code: m.code.clone(),
        minutes_late: m.minutes_late.clone(),
    }
}

/// Polls until the pipeline is done with every feed (processed, or parked because the database
/// refused it) and returns their receipts in the same order. Feeds are checked in order, one at
/// a time, so a long wait costs one call per poll rather than one per feed; on time-out the
/// error says how many are still waiting and names the first.
pub async fn wait_processed(
    client: &mut FeedServiceClient<AuthChannel>,
    feed_ids: &[String],
    timeout: Duration,
) -> anyhow::Result<Vec<FeedReceipt>> {
    let deadline = Instant::now() + timeout;
    let mut receipts = Vec::with_capacity(feed_ids.len());
    while receipts.len() < feed_ids.len() {
        let next = receipt(client, &feed_ids[receipts.len()]).await?;
        if is_done(&next) {
            receipts.push(next);
            continue;
        }
        if Instant::now() >= deadline {
            let mut waiting = Vec::new();
            for id in &feed_ids[receipts.len()..] {
                if !is_done(&receipt(client, id).await?) {
                    waiting.push(id.as_str());
                }
            }
            anyhow::ensure!(
                waiting.is_empty(),
                "{} of {} feeds not processed or parked within {}s (first waiting: {})",
                waiting.len(),
                feed_ids.len(),
                timeout.as_secs(),
                waiting.first().copied().unwrap_or_default()
            );
            continue;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(receipts)
}

async fn receipt(
    client: &mut FeedServiceClient<AuthChannel>,
    feed_id: &str,
) -> anyhow::Result<FeedReceipt> {
    Ok(client
        .get_feed_receipt(GetFeedReceiptRequest {
            feed_id: feed_id.to_owned(),
        })
        .await
        .map_err(|status| anyhow::anyhow!(describe(&status)))?
        .into_inner())
}

/// Whether the pipeline is done with a feed: stored, or parked with its refusal.
fn is_done(receipt: &FeedReceipt) -> bool {
    matches!(receipt.status(), FeedStatus::Processed | FeedStatus::Parked)
}

/// Imports the synthetic LA's schools into the registry.
pub async fn import_synthetic_schools(
    client: &mut RegistryServiceClient<AuthChannel>,
    schools: &[rollcall_synth::School],
) -> Result<u64, tonic::Status> {
    let schools = schools
        .iter()
        .map(|s| School {
            urn: format!("{:06}", s.urn),
            la_code: format!("{:03}", s.la_code),
            name: s.name.clone(),
            phase: s.phase.clone(),
            school_type: s.school_type.clone(),
            independent: s.independent,
        })
        .collect();
    Ok(client
        .import_schools(ImportSchoolsRequest { schools })
        .await?
        .into_inner()
        .imported)
}

/// The synthetic LA's schools as registry rows, for loading them straight into the database
/// (the benchmark's year, workers' tests) rather than through the registry service.
pub fn synthetic_registry_rows(schools: &[rollcall_synth::School]) -> Vec<rollcall_db::School> {
    schools
        .iter()
        .map(|s| rollcall_db::School {
            urn: s.urn as i32,
            la_code: s.la_code as i16,
            name: s.name.clone(),
            phase: s.phase.clone(),
            school_type: s.school_type.clone(),
            independent: s.independent,
        })
        .collect()
}

/// A gRPC error as one line: the status code in words, the message, and Rollcall's stable error
/// code when the server sent one, e.g. `invalid argument: school_urn: must be six digits
/// [INVALID_ARGUMENT]`.
pub fn describe(status: &tonic::Status) -> String {
    let code = code_words(status.code());
    let message = status.message().trim();
    let mut line = if message.is_empty() {
        code.to_owned()
    } else {
        format!("{code}: {message}")
    };
    if let Some(stable) = status
        .metadata()
        .get("rollcall-error-code")
        .and_then(|v| v.to_str().ok())
    {
        line.push_str(&format!(" [{stable}]"));
    }
    // One line, whatever the server or the transport put in the message.
    line.replace(['\n', '\r'], " ")
}

/// A gRPC status code as lowercase words, e.g. `resource exhausted`.
pub fn code_words(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "cancelled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid argument",
        Code::DeadlineExceeded => "deadline exceeded",
        Code::NotFound => "not found",
        Code::AlreadyExists => "already exists",
        Code::PermissionDenied => "permission denied",
        Code::ResourceExhausted => "resource exhausted",
        Code::FailedPrecondition => "failed precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out of range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_is_one_lowercase_line_with_the_stable_code() {
        let mut status = tonic::Status::invalid_argument("school_urn: must be six digits");
        status.metadata_mut().insert(
            "rollcall-error-code",
            tonic::metadata::MetadataValue::from_static("INVALID_ARGUMENT"),
        );
        assert_eq!(
            describe(&status),
            "invalid argument: school_urn: must be six digits [INVALID_ARGUMENT]"
        );
        let status = tonic::Status::unavailable("tcp connect error\nconnection refused");
        assert_eq!(
            describe(&status),
            "unavailable: tcp connect error connection refused"
        );
        assert_eq!(
            describe(&tonic::Status::resource_exhausted("")),
            "resource exhausted"
        );
    }

    #[test]
    fn a_feed_streams_as_a_header_then_chunks_of_at_most_5000() {
        let roll = vec![RawPupil::default(); 5_001];
        let marks = vec![RawMark::default(); 10_000];
        let extracted_at = chrono::DateTime::from_timestamp(1_760_000_000, 5).unwrap();
        let parts: Vec<_> = requests(&Submission {
            school_urn: "140001".into(),
            extracted_at,
            idempotency_key: "k".into(),
            code_set: "2024",
            roll: &roll,
            marks: &marks,
        })
        .into_iter()
        .map(|r| r.part.unwrap())
        .collect();
        let sizes: Vec<(&str, usize)> = parts
            .iter()
            .map(|p| match p {
                Part::Header(_) => ("header", 0),
                Part::Roll(c) => ("roll", c.records.len()),
                Part::Marks(c) => ("marks", c.records.len()),
            })
            .collect();
        assert_eq!(
            sizes,
            [
                ("header", 0),
                ("roll", 5_000),
                ("roll", 1),
                ("marks", 5_000),
                ("marks", 5_000)
            ]
        );
        let Part::Header(header) = &parts[0] else {
            unreachable!()
        };
        let ts = header.extracted_at.unwrap();
        assert_eq!((ts.seconds, ts.nanos), (1_760_000_000, 5));
        assert_eq!(
            (header.school_urn.as_str(), header.code_set.as_str()),
            ("140001", "2024")
        );
    }

    #[test]
    fn synthetic_records_map_field_by_field() {
        let la = rollcall_synth::SyntheticLa::generate(rollcall_synth::LaSpec::small());
        let feed = &la.feeds[0];
        let p = &feed.roll[0];
        let r = roll_record(p);
        assert_eq!(
            (
                r.upn.as_str(),
                r.date_of_birth.as_str(),
                r.year_group.as_str(),
                r.fsm.as_str()
            ),
            (
                p.upn.as_str(),
                p.date_of_birth.as_str(),
                p.year_group.as_str(),
                p.fsm.as_str()
            )
        );
        let m = &feed.marks[0];
        let r = mark_record(m);
        assert_eq!(
            (r.upn, r.date, r.session, r.code, r.minutes_late),
            (
                m.upn.clone(),
                m.date.clone(),
                m.session.clone(),
                m.code.clone(),
                m.minutes_late.clone()
            )
        );
    }
}
