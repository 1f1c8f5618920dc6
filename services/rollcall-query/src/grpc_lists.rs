//! The pupil lists an attendance team works from: pupils at risk (persistent or severe absence)
//! and pupils approaching persistent absence. Each row carries the pupil, their figures over the
//! period and the explanation of their place on the list (`explain.rs`); every list is a
//! pupil-level read, audited with the caller's purpose before a name leaves.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rollcall_db::{EnrolmentCounts, Pool, Principal, PupilAccess, Scope};
use rollcall_proto::query::v1::{
    AbsentSession, ApproachingPersistentRequest, ApproachingPersistentResponse, ApproachingPupil,
    AtRiskPupil, AtRiskPupilsRequest, AtRiskPupilsResponse, FlagExplanation, RiskLevel, Trend,
};
use rollcall_server::ApiError;
use rollcall_server::auth::principal;
use tonic::{Request, Response, Status};

use crate::explain::{self, Explanation};
use crate::figures::{self, AtRiskPage};
use crate::grpc::{page_request, period};
use crate::grpc_pupil::{audit, pupil_access, session_name, spell_message, urn};
use crate::measures::absence_perc;
use crate::scope::{pupil_scope, required_purpose, scope_label};

const AT_RISK_RPC: &str = "rollcall.query.v1.QueryService/AtRiskPupils";
const APPROACHING_RPC: &str = "rollcall.query.v1.QueryService/ApproachingPersistent";

/// How near to persistent absence the approaching list looks when the request does not say.
const DEFAULT_WITHIN: u32 = 4;

/// What every list request gives: who asks, why, for what, over when.
struct ListRequest<'a> {
    caller: Principal,
    access: PupilAccess,
    purpose: &'a str,
    scope: Scope,
    period: (NaiveDate, NaiveDate),
    as_at: Option<DateTime<Utc>>,
}

impl<'a> ListRequest<'a> {
    async fn check(
        pool: &Pool,
        caller: Principal,
        (la_code, school_urn): (&str, &str),
        purpose: &'a str,
        period_asked: Option<&rollcall_proto::query::v1::Period>,
        as_at: &str,
    ) -> Result<ListRequest<'a>, ApiError> {
        let access = pupil_access(&caller)?;
        let purpose = required_purpose(purpose)?;
        let scope = pupil_scope(pool, access.schools(), la_code, school_urn).await?;
        Ok(ListRequest {
            period: period(period_asked)?,
            as_at: crate::period::as_at("as_at", as_at)?,
            caller,
            access,
            purpose,
            scope,
        })
    }

    /// The page's rows with their pupils and explanations, audited: enrolments the caller may no
    /// longer see are left out. Recorded, and committed, before a single name leaves.
    async fn rows(
        &self,
        pool: &Pool,
        rpc: &str,
        page: Vec<EnrolmentCounts>,
    ) -> Result<Vec<(EnrolmentCounts, AtRiskPupil)>, ApiError> {
        let ids: Vec<i64> = page.iter().map(|e| e.enrolment_id).collect();
        let details: HashMap<i64, rollcall_db::Enrolment> =
            rollcall_db::enrolments_by_id(pool, &self.access, &ids)
                .await
                .map_err(|err| ApiError::database("cannot read enrolments", &err))?
                .into_iter()
                .map(|e| (e.id, e))
                .collect();
        let returned: Vec<i64> = ids
            .into_iter()
            .filter(|id| details.contains_key(id))
            .collect();
        let sessions = rollcall_db::enrolment_sessions(pool, &returned, self.period, self.as_at)
            .await
            .map_err(|err| ApiError::database("cannot read registers", &err))?;
        let sessions = explain::by_enrolment(&sessions);
        let rows = page
            .into_iter()
            .filter_map(|e| {
                let d = details.get(&e.enrolment_id)?;
                let explanation = sessions
                    .get(&e.enrolment_id)
                    .and_then(|s| explain::explain(s))
                    .map(|x| explanation_message(&x, e.school_urn));
                let c = &e.counters;
                let pupil = AtRiskPupil {
                    school_urn: urn(e.school_urn),
                    upn: d.upn.clone(),
                    forename: d.forename.clone().unwrap_or_default(),
                    surname: d.surname.clone().unwrap_or_default(),
                    year_group: d.year_group.clone().unwrap_or_default(),
                    possible_sessions: c.possible(),
                    overall_absence: c.overall_absence(),
                    authorised_absence: c.authorised(),
                    unauthorised_absence: c.unauthorised(),
                    overall_absence_perc: absence_perc(c),
                    severe: c.is_severe(),
                    explanation,
                };
                Some((e, pupil))
            })
            .collect();
        audit(
            pool,
            &self.caller,
            rpc,
            self.purpose,
            scope_label(self.scope),
            &returned,
        )
        .await?;
        Ok(rows)
    }
}

pub async fn at_risk_pupils(
    pool: &Pool,
    request: Request<AtRiskPupilsRequest>,
) -> Result<Response<AtRiskPupilsResponse>, Status> {
    let caller = principal(&request)?;
    let request = request.into_inner();
    let list = ListRequest::check(
        pool,
        caller,
        (&request.la_code, &request.school_urn),
        &request.purpose,
        request.period.as_ref(),
        &request.as_at,
    )
    .await?;
    let severe_only = request.level() == RiskLevel::Severe;
    let page = page_request(request.page_size, &request.page_token)?;
    let AtRiskPage {
        pupils,
        next: next_page_token,
        persistent: persistent_count,
        severe: severe_count,
    } = figures::at_risk(
        pool,
        &list.access,
        list.scope,
        list.period,
        list.as_at,
        severe_only,
        page,
    )
    .await?;
    let pupils = list
        .rows(pool, AT_RISK_RPC, pupils)
        .await?
        .into_iter()
        .map(|(_, pupil)| pupil)
        .collect();
    Ok(Response::new(AtRiskPupilsResponse {
        from: list.period.0.to_string(),
        to: list.period.1.to_string(),
        pupils,
        persistent_count,
        severe_count,
        next_page_token,
    }))
}

pub async fn approaching_persistent(
    pool: &Pool,
    request: Request<ApproachingPersistentRequest>,
) -> Result<Response<ApproachingPersistentResponse>, Status> {
    let caller = principal(&request)?;
    let request = request.into_inner();
    let within = match request.within_sessions {
        0 => DEFAULT_WITHIN,
        n if n > rollcall_db::APPROACHING_HORIZON => {
            return Err(ApiError::invalid(format!(
                "within_sessions: at most {} further absent sessions",
                rollcall_db::APPROACHING_HORIZON
            ))
            .into());
        }
        n => n,
    };
    let list = ListRequest::check(
        pool,
        caller,
        (&request.la_code, &request.school_urn),
        &request.purpose,
        request.period.as_ref(),
        &request.as_at,
    )
    .await?;
    let page = page_request(request.page_size, &request.page_token)?;
    let (pupils, next_page_token, approaching_count) = figures::approaching(
        pool,
        &list.access,
        list.scope,
        list.period,
        list.as_at,
        within,
        page,
    )
    .await?;
    let pupils = list
        .rows(pool, APPROACHING_RPC, pupils)
        .await?
        .into_iter()
        .map(|(e, pupil)| ApproachingPupil {
            pupil: Some(pupil),
            sessions_to_persistent: u32::try_from(e.counters.sessions_to_persistent())
                .unwrap_or(u32::MAX),
        })
        .collect();
    Ok(Response::new(ApproachingPersistentResponse {
        from: list.period.0.to_string(),
        to: list.period.1.to_string(),
        pupils,
        approaching_count,
        next_page_token,
    }))
}

fn explanation_message(x: &Explanation, school_urn: i32) -> FlagExplanation {
    FlagExplanation {
        absence_by_code: x
            .absence_by_code
            .iter()
            .map(|(code, n)| ((*code).to_owned(), *n))
            .collect(),
        latest_absences: x
            .latest_absences
            .iter()
            .map(|(date, session, code)| AbsentSession {
                date: date.to_string(),
                session: session_name(*session).to_owned(),
                code: (*code).to_owned(),
                school_urn: urn(school_urn),
            })
            .collect(),
        current_spell: x
            .current_spell
            .as_ref()
            .map(|s| spell_message(s, school_urn)),
        recent_from: x.recent.0.to_string(),
        recent_to: x.recent.1.to_string(),
        recent_possible_sessions: x.recent_counters.possible(),
        recent_overall_absence: x.recent_counters.overall_absence(),
        recent_overall_absence_perc: absence_perc(&x.recent_counters),
        trend: match x.trend {
            explain::Trend::Worsening => Trend::Worsening,
            explain::Trend::Steady => Trend::Steady,
            explain::Trend::Improving => Trend::Improving,
            explain::Trend::TooSoon => Trend::TooSoon,
        }
        .into(),
    }
}
