//! The audit trail of pupil-level reads: written in the same call, before the answer leaves, and
//! read back by an LA (every event touching its pupils) or a school (its own pupils only).

use chrono::{DateTime, Utc};

use crate::access::{Principal, PupilAccess};
use crate::{Pool, Result};

/// One call that returned pupil-level data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAuditEvent<'a> {
    pub principal: &'a Principal,
    /// The gRPC method, e.g. `rollcall.query.v1.QueryService/AtRiskPupils`.
    pub rpc: &'a str,
    /// Why the caller asked, in their words (required on every pupil-level request).
    pub purpose: &'a str,
    /// What was asked for, e.g. `la 937`.
    pub request_scope: String,
    /// The enrolments returned.
    pub enrolment_ids: &'a [i64],
}

/// Records `event` durably (committed when this returns) and returns its id.
pub async fn record_audit_event(pool: &Pool, event: &NewAuditEvent<'_>) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "with event as (
             insert into audit_events (key_id, principal_kind, organisation, rpc, purpose,
                                       request_scope)
             values ($1, $2, $3, $4, $5, $6)
             returning id
         ),
         rows as (
             insert into audit_enrolments (event_id, enrolment_id, school_urn, la_code)
             select event.id, e.id, e.school_urn, s.la_code
             from event, enrolments e join schools s on s.urn = e.school_urn
             where e.id = any($7)
         )
         select id from event",
    )
    .bind(event.principal.key_id())
    .bind(event.principal.kind().name())
    .bind(event.principal.kind().organisation())
    .bind(event.rpc)
    .bind(event.purpose)
    .bind(&event.request_scope)
    .bind(event.enrolment_ids)
    .fetch_one(pool.pg())
    .await?;
    Ok(id)
}

/// Adds enrolments to an event already recorded: a streaming export records its event before
/// the first row and each school's pupils before that school's rows leave. Committed when this
/// returns; an enrolment already recorded for the event is not added twice.
pub async fn append_audit_enrolments(
    pool: &Pool,
    event_id: i64,
    enrolment_ids: &[i64],
) -> Result<()> {
    sqlx::query(
        "insert into audit_enrolments (event_id, enrolment_id, school_urn, la_code)
         select $1, e.id, e.school_urn, s.la_code
         from enrolments e join schools s on s.urn = e.school_urn
         where e.id = any($2)
         on conflict do nothing",
    )
    .bind(event_id)
    .bind(enrolment_ids)
    .execute(pool.pg())
    .await?;
    Ok(())
}

/// An audit event as the viewer may see it: only the enrolments within the viewer's access.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditEventRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub key_id: String,
    pub principal_kind: String,
    pub organisation: String,
    pub rpc: String,
    pub purpose: String,
    pub request_scope: String,
    pub enrolment_ids: Vec<i64>,
}

/// Events since `since` that returned at least one of the viewer's pupils, newest first, at most
/// `limit`, each with only the viewer's enrolments.
pub async fn list_audit_events(
    pool: &Pool,
    viewer: &PupilAccess,
    since: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<AuditEventRow>> {
    let access = viewer.schools();
    let rows = sqlx::query_as(
        "select a.id, a.at, a.key_id, a.principal_kind, a.organisation, a.rpc, a.purpose,
                a.request_scope, array_agg(r.enrolment_id order by r.enrolment_id) as enrolment_ids
         from audit_events a
         join audit_enrolments r on r.event_id = a.id
         where a.at >= $1
           and ($2 or r.la_code = any($3) or r.school_urn = any($4))
         group by a.id
         order by a.at desc, a.id desc
         limit $5",
    )
    .bind(since)
    .bind(access.everything)
    .bind(&access.la_codes)
    .bind(&access.urns)
    .bind(limit)
    .fetch_all(pool.pg())
    .await?;
    Ok(rows)
}
