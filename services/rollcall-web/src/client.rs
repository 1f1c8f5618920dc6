//! The dashboard as a client of the query service: one channel, every call carrying the
//! signed-in user's own credential, so that authorisation, scoping and the audit trail are the
//! query service's; and what the user acts for, asked of the query service at sign-in.

use std::time::Duration;

use rollcall_proto::query::v1::{
    LaSummaryRequest, ListAuditEventsRequest, ListSchoolsRequest, PipelineCountsRequest,
    audit_service_client::AuditServiceClient, pipeline_service_client::PipelineServiceClient,
    query_service_client::QueryServiceClient, registry_service_client::RegistryServiceClient,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::config::WebConfig;
use crate::error::WebError;
use crate::session::{Credential, Role};

/// How long one call to the query service may take before the page says it is unavailable.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A lazily connected channel to the query service.
pub fn channel(web: &WebConfig) -> anyhow::Result<Channel> {
    let mut endpoint = Endpoint::from_shared(web.query_url.clone())?
        .connect_timeout(Duration::from_secs(5))
        .timeout(CALL_TIMEOUT);
    if web.query_url.starts_with("https://") {
        let mut tls = ClientTlsConfig::new().with_enabled_roots();
        if !web.query_ca_cert.as_os_str().is_empty() {
            let pem = std::fs::read(&web.query_ca_cert).map_err(|err| {
                anyhow::anyhow!("cannot read {}: {err}", web.query_ca_cert.display())
            })?;
            tls = tls.ca_certificate(Certificate::from_pem(pem));
        }
        endpoint = endpoint.tls_config(tls)?;
    }
    Ok(endpoint.connect_lazy())
}

/// `message` as a request carrying `credential` as its bearer token.
pub fn request<T>(credential: &Credential, message: T) -> Result<tonic::Request<T>, WebError> {
    let mut request = tonic::Request::new(message);
    let value = format!("Bearer {}", credential.expose())
        .parse()
        .map_err(|_| WebError::SignInAgain)?;
    request.metadata_mut().insert("authorization", value);
    Ok(request)
}

/// Whether the query service answers its standard health check as serving: the dashboard's
/// readiness (`/readyz`). No credential: health is open to load balancers.
pub async fn health(channel: Channel) -> Result<(), String> {
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
    let answer = tonic_health::pb::health_client::HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map_err(|status| format!("{:?}", status.code()).to_lowercase())?;
    match answer.into_inner().status() {
        ServingStatus::Serving => Ok(()),
        other => Err(format!("{other:?}").to_lowercase()),
    }
}

pub fn query(channel: &Channel) -> QueryServiceClient<Channel> {
    QueryServiceClient::new(channel.clone())
}

pub fn audit(channel: &Channel) -> AuditServiceClient<Channel> {
    AuditServiceClient::new(channel.clone())
}

pub fn pipeline(channel: &Channel) -> PipelineServiceClient<Channel> {
    PipelineServiceClient::new(channel.clone())
}

pub fn registry(channel: &Channel) -> RegistryServiceClient<Channel> {
    RegistryServiceClient::new(channel.clone())
}

/// Why a credential cannot sign in to the dashboard.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The query service does not accept it (unknown, revoked, expired, malformed).
    NotAccepted,
    /// A vendor's or a national exporter's: no page here is theirs.
    NoPages,
    /// An LA or school with no school in the registry yet.
    NoSchools,
}

/// What `credential` acts for, from what the query service lets it call: pipeline counts
/// (operations and admins); the audit trail (LA and school users), then the schools it sees and
/// whether it may ask for their LA's summary (an LA user) or not (a school's). There is no "who
/// am I" call; these are the cheapest calls that tell.
pub async fn identify(channel: &Channel, credential: &Credential) -> Result<Role, IdentifyError> {
    let counts = pipeline(channel)
        .pipeline_counts(request(credential, PipelineCountsRequest {})?)
        .await;
    match counts {
        Ok(_) => return Ok(Role::Operations),
        Err(status) => refusal(&status)?,
    }
    let audit = audit(channel)
        .list_audit_events(request(
            credential,
            ListAuditEventsRequest {
                since: String::new(),
                limit: 1,
            },
        )?)
        .await;
    if let Err(status) = audit {
        refusal(&status)?;
        return Err(IdentifyError::Refused(Refusal::NoPages));
    }
    let schools = registry(channel)
        .list_schools(request(credential, ListSchoolsRequest::default())?)
        .await
        .map_err(|status| match refusal(&status) {
            Err(err) => err,
            Ok(()) => IdentifyError::Unavailable,
        })?
        .into_inner()
        .schools;
    let Some(first) = schools.first() else {
        return Err(IdentifyError::Refused(Refusal::NoSchools));
    };
    let summary = query(channel)
        .la_summary(request(
            credential,
            LaSummaryRequest {
                as_at: String::new(),
                la_code: first.la_code.clone(),
                // A day the LA cannot have marks for: only whether it may ask matters here.
                period: Some(rollcall_proto::query::v1::Period {
                    from: "2000-09-01".into(),
                    to: "2000-09-01".into(),
                }),
            },
        )?)
        .await;
    match summary {
        Ok(summary) => {
            let summary = summary.into_inner();
            Ok(Role::La {
                code: summary.la_code,
                name: summary.la_name,
            })
        }
        Err(status) if status.code() == tonic::Code::PermissionDenied && schools.len() == 1 => {
            Ok(Role::School {
                urn: first.urn.clone(),
                name: first.name.clone(),
            })
        }
        Err(status) => {
            refusal(&status)?;
            Err(IdentifyError::Refused(Refusal::NoPages))
        }
    }
}

#[derive(Debug)]
pub enum IdentifyError {
    Refused(Refusal),
    Unavailable,
}

impl From<WebError> for IdentifyError {
    fn from(_: WebError) -> IdentifyError {
        IdentifyError::Refused(Refusal::NotAccepted)
    }
}

/// `Ok` when `status` only says this kind may not call the method (so asking on tells more);
/// otherwise why identification stops.
fn refusal(status: &tonic::Status) -> Result<(), IdentifyError> {
    match status.code() {
        tonic::Code::PermissionDenied => Ok(()),
        tonic::Code::Unauthenticated => Err(IdentifyError::Refused(Refusal::NotAccepted)),
        _ => Err(IdentifyError::Unavailable),
    }
}
