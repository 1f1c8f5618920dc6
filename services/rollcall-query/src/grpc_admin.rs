//! The `KeyService` (admins manage API keys and vendor registrations) and the `AuditService`
//! (an LA or a school sees who viewed its pupils). The `PipelineService` is in
//! `grpc_pipeline.rs`.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rollcall_db::{ApiKeyRow, Pool, PupilAccess};
use rollcall_domain::Urn;
use rollcall_proto::admin::v1::{
    ApiKey, CreateKeyRequest, CreateKeyResponse, ListKeysRequest, ListKeysResponse,
    RevokeKeyRequest, RevokeKeyResponse, SetVendorSchoolsRequest, SetVendorSchoolsResponse,
    key_service_server::KeyService,
};
use rollcall_proto::query::v1::{
    AuditEvent, ListAuditEventsRequest, ListAuditEventsResponse, audit_service_server::AuditService,
};
use rollcall_server::auth::{check_new_key, principal};
use rollcall_server::{ApiError, ErrorCode};
use tonic::{Request, Response, Status};

/// The longest a key may be made to last.
const MAX_VALID_DAYS: u32 = 3 * 366;
const MAX_DESCRIPTION: usize = 200;

pub struct Keys {
    pool: Pool,
    default_valid_days: u32,
}

impl Keys {
    pub fn new(pool: Pool, default_valid_days: u32) -> Keys {
        Keys {
            pool,
            default_valid_days,
        }
    }
}

#[tonic::async_trait]
impl KeyService for Keys {
    async fn create_key(
        &self,
        request: Request<CreateKeyRequest>,
    ) -> Result<Response<CreateKeyResponse>, Status> {
        let admin = principal(&request)?;
        let request = request.into_inner();
        let kind = request.kind.trim().to_ascii_lowercase();
        let organisation =
            check_new_key(&kind, &request.organisation).map_err(ApiError::invalid)?;
        let days = match request.valid_days {
            0 => self.default_valid_days,
            n if n <= MAX_VALID_DAYS => n,
            _ => {
                return Err(
                    ApiError::invalid(format!("valid_days: at most {MAX_VALID_DAYS}")).into(),
                );
            }
        };
        let description = request.description.trim();
        if description.chars().count() > MAX_DESCRIPTION {
            return Err(ApiError::invalid(format!(
                "description: at most {MAX_DESCRIPTION} characters"
            ))
            .into());
        }
        let (row, token) =
            rollcall_server::auth::issue_key(&self.pool, &kind, &organisation, description, days)
                .await
                .map_err(|err| ApiError::database("cannot store the key", &err))?;
        tracing::info!(key_id = %row.key_id, kind = %row.kind, by = admin.key_id(), "api key created");
        Ok(Response::new(CreateKeyResponse {
            key: Some(key_message(&row)),
            token,
        }))
    }

    async fn list_keys(
        &self,
        _request: Request<ListKeysRequest>,
    ) -> Result<Response<ListKeysResponse>, Status> {
        let keys = rollcall_db::list_api_keys(&self.pool)
            .await
            .map_err(|err| ApiError::database("cannot read keys", &err))?;
        Ok(Response::new(ListKeysResponse {
            keys: keys.iter().map(key_message).collect(),
        }))
    }

    async fn revoke_key(
        &self,
        request: Request<RevokeKeyRequest>,
    ) -> Result<Response<RevokeKeyResponse>, Status> {
        let admin = principal(&request)?;
        let key_id = request.into_inner().key_id.trim().to_owned();
        let found = rollcall_db::revoke_api_key(&self.pool, &key_id)
            .await
            .map_err(|err| ApiError::database("cannot revoke the key", &err))?;
        if !found {
            return Err(ApiError::new(ErrorCode::NotFound, "no key with this id").into());
        }
        let row = rollcall_db::find_api_key(&self.pool, &key_id)
            .await
            .map_err(|err| ApiError::database("cannot read the key", &err))?
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no key with this id"))?;
        tracing::info!(key_id = %row.key_id, by = admin.key_id(), "api key revoked");
        Ok(Response::new(RevokeKeyResponse {
            key: Some(key_message(&row)),
        }))
    }

    async fn set_vendor_schools(
        &self,
        request: Request<SetVendorSchoolsRequest>,
    ) -> Result<Response<SetVendorSchoolsResponse>, Status> {
        let request = request.into_inner();
        let vendor = check_new_key("vendor", &request.vendor)
            .map_err(|err| ApiError::invalid(err.replace("organisation", "vendor")))?;
        let mut urns = Vec::with_capacity(request.school_urns.len());
        for (index, urn) in request.school_urns.iter().enumerate() {
            let urn = Urn::parse(urn.trim())
                .map_err(|err| ApiError::invalid(format!("school_urns[{index}]: {err}")))?;
            urns.push(urn.get() as i32);
        }
        urns.sort_unstable();
        urns.dedup();
        rollcall_db::set_vendor_schools(&self.pool, &vendor, &urns)
            .await
            .map_err(|err| ApiError::database("cannot register the vendor's schools", &err))?;
        tracing::info!(vendor = %vendor, schools = urns.len(), "vendor schools registered");
        Ok(Response::new(SetVendorSchoolsResponse {
            school_urns: urns.iter().map(|u| format!("{u:06}")).collect(),
        }))
    }
}

pub struct Audit {
    pool: Pool,
}

impl Audit {
    pub fn new(pool: Pool) -> Audit {
        Audit { pool }
    }
}

#[tonic::async_trait]
impl AuditService for Audit {
    async fn list_audit_events(
        &self,
        request: Request<ListAuditEventsRequest>,
    ) -> Result<Response<ListAuditEventsResponse>, Status> {
        let viewer = PupilAccess::of(&principal(&request)?).ok_or_else(|| {
            ApiError::new(
                ErrorCode::PermissionDenied,
                "only la and school users see the audit trail of their pupils",
            )
        })?;
        let request = request.into_inner();
        let since = match request.since.trim() {
            "" => Utc::now() - Duration::days(30),
            day => NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .map_err(|_| ApiError::invalid("since: must be a date YYYY-MM-DD"))?
                .and_hms_opt(0, 0, 0)
                .expect("midnight exists")
                .and_utc(),
        };
        let limit = match request.limit {
            0 => 100,
            n => i64::from(n.min(10_000)),
        };
        let events = rollcall_db::list_audit_events(&self.pool, &viewer, since, limit)
            .await
            .map_err(|err| ApiError::database("cannot read the audit trail", &err))?;
        Ok(Response::new(ListAuditEventsResponse {
            events: events
                .into_iter()
                .map(|e| AuditEvent {
                    id: e.id,
                    at: rfc3339(e.at),
                    key_id: e.key_id,
                    principal_kind: e.principal_kind,
                    organisation: e.organisation,
                    rpc: e.rpc,
                    purpose: e.purpose,
                    request_scope: e.request_scope,
                    enrolment_ids: e.enrolment_ids,
                })
                .collect(),
        }))
    }
}

fn key_message(row: &ApiKeyRow) -> ApiKey {
    ApiKey {
        key_id: row.key_id.clone(),
        kind: row.kind.clone(),
        organisation: row.organisation.clone(),
        description: row.description.clone(),
        created_at: rfc3339(row.created_at),
        expires_at: rfc3339(row.expires_at),
        revoked_at: row.revoked_at.map(rfc3339).unwrap_or_default(),
        vendor_schools: row
            .vendor_schools
            .iter()
            .map(|u| format!("{u:06}"))
            .collect(),
    }
}

pub(crate) fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
