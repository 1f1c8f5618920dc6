//! `FindPupils` and `PupilTimeline`: one pupil across the LA, for those responsible for them.
//! Both are pupil-level reads: a purpose is required, and the audit event (with the enrolments
//! returned) is committed before the answer leaves. A pupil of a school the caller may not see
//! is not found, and the answer is the same as for a pupil who does not exist.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rollcall_db::{Enrolment, NewAuditEvent, Pool, PupilAccess, PupilSearch};
use rollcall_domain::Upn;
use rollcall_proto::query::v1::{
    AbsenceSpell, AttributeChange, EnrolmentTimeline, FindPupilsRequest, FindPupilsResponse,
    FoundPupil, Household, HouseholdMember, PupilEnrolment, PupilTimelineRequest,
    PupilTimelineResponse, SessionCorrection, TimelineSession, TimelineWeek,
};
use rollcall_server::auth::principal;
use rollcall_server::{ApiError, ErrorCode};
use tonic::{Request, Response, Status};

use crate::grpc::{measures, period, school_message};
use crate::measures::Standing;
use crate::scope::required_purpose;
use crate::timeline;

const FIND_RPC: &str = "rollcall.query.v1.QueryService/FindPupils";
const TIMELINE_RPC: &str = "rollcall.query.v1.QueryService/PupilTimeline";

/// The longest name a search may give: as long as a roll's names may be.
const MAX_NAME: usize = 100;

pub async fn find_pupils(
    pool: &Pool,
    request: Request<FindPupilsRequest>,
) -> Result<Response<FindPupilsResponse>, Status> {
    let caller = principal(&request)?;
    let access = pupil_access(&caller)?;
    let request = request.into_inner();
    let purpose = required_purpose(&request.purpose)?;
    let birth;
    let upn;
    let search = match (
        request.upn.trim(),
        request.surname.trim(),
        request.date_of_birth.trim(),
        request.forename.trim(),
    ) {
        (u, "", "", "") if !u.is_empty() => {
            upn = parse_upn(u)?;
            PupilSearch::Upn(upn.as_str())
        }
        ("", surname, dob, "") if !surname.is_empty() && !dob.is_empty() => {
            birth = crate::period::parse_date("date_of_birth", dob)?;
            PupilSearch::SurnameAndBirth(name("surname", surname)?, birth)
        }
        ("", surname, "", forename) if !surname.is_empty() && !forename.is_empty() => {
            PupilSearch::Names {
                forename: name("forename", forename)?,
                surname: name("surname", surname)?,
            }
        }
        _ => {
            return Err(ApiError::invalid(
                "search: give exactly one of upn; surname with date_of_birth; forename with surname",
            )
            .into());
        }
    };
    let found = rollcall_db::find_pupils(pool, &access, search)
        .await
        .map_err(|err| ApiError::database("cannot search enrolments", &err))?;
    if found.len() as i64 > rollcall_db::MAX_FOUND {
        return Err(ApiError::new(
            ErrorCode::InvalidArgument,
            format!(
                "search: more than {} enrolments match; give the upn or the date of birth",
                rollcall_db::MAX_FOUND
            ),
        )
        .into());
    }
    let schools = schools_of(pool, &found).await?;
    let ids: Vec<i64> = found.iter().map(|e| e.id).collect();
    audit(pool, &caller, FIND_RPC, purpose, search_label(search), &ids).await?;

    let mut pupils: Vec<FoundPupil> = Vec::new();
    for e in found {
        let enrolment = enrolment_message(&e, &schools);
        match pupils.last_mut() {
            Some(p) if p.upn == e.upn => p.enrolments.push(enrolment),
            _ => pupils.push(FoundPupil {
                upn: e.upn.clone(),
                forename: e.forename.clone().unwrap_or_default(),
                surname: e.surname.clone().unwrap_or_default(),
                date_of_birth: date(e.date_of_birth),
                enrolments: vec![enrolment],
            }),
        }
    }
    Ok(Response::new(FindPupilsResponse { pupils }))
}

pub async fn pupil_timeline(
    pool: &Pool,
    request: Request<PupilTimelineRequest>,
) -> Result<Response<PupilTimelineResponse>, Status> {
    let caller = principal(&request)?;
    let access = pupil_access(&caller)?;
    let request = request.into_inner();
    let purpose = required_purpose(&request.purpose)?;
    let upn = parse_upn(&request.upn)?;
    let (from, to) = period(request.period.as_ref())?;
    let as_at = crate::period::as_at("as_at", &request.as_at)?;
    let record = rollcall_db::pupil_record(pool, &access, upn.as_str(), (from, to), as_at)
        .await
        .map_err(|err| ApiError::database("cannot read the pupil's record", &err))?;
    let Some(latest) = record.enrolments.last().cloned() else {
        return Err(
            ApiError::new(ErrorCode::NotFound, "no pupil with this upn you may see").into(),
        );
    };
    let ids: Vec<i64> = record.enrolments.iter().map(|e| e.id).collect();
    let (has_key, members) = rollcall_db::household(pool, &access, &ids)
        .await
        .map_err(|err| ApiError::database("cannot read the pupil's household", &err))?;
    let member_ids: Vec<i64> = members.iter().map(|e| e.id).collect();
    let member_sessions = rollcall_db::enrolment_sessions(pool, &member_ids, (from, to), as_at)
        .await
        .map_err(|err| ApiError::database("cannot read the household's registers", &err))?;
    let everyone: Vec<Enrolment> = record.enrolments.iter().chain(&members).cloned().collect();
    let schools = schools_of(pool, &everyone).await?;
    // The household's pupils are pupil-level data too: audited with the pupil's.
    let audited: Vec<i64> = ids.iter().chain(&member_ids).copied().collect();
    audit(
        pool,
        &caller,
        TIMELINE_RPC,
        purpose,
        "pupil".to_owned(),
        &audited,
    )
    .await?;
    let household = household_message(has_key, &members, &member_sessions, &schools);

    let urn_of: HashMap<i64, i32> = record
        .enrolments
        .iter()
        .map(|e| (e.id, e.school_urn))
        .collect();
    let counters = timeline::counters(&record.sessions);
    let mut overall = Standing::default();
    let enrolments = record
        .enrolments
        .iter()
        .map(|e| {
            let (c, dual) = counters.get(&e.id).cloned().unwrap_or_default();
            let mut standing = Standing::default();
            standing.add_enrolment(&c);
            overall.add_enrolment(&c);
            EnrolmentTimeline {
                enrolment: Some(enrolment_message(e, &schools)),
                measures: Some(measures(&standing)),
                dual_registered: dual,
            }
        })
        .collect();
    let weeks = timeline::weeks(&record.sessions)
        .into_iter()
        .map(|(monday, sessions)| TimelineWeek {
            monday: monday.to_string(),
            sessions: sessions
                .into_iter()
                .map(|s| TimelineSession {
                    date: s.date.to_string(),
                    session: session_name(s.session).to_owned(),
                    school_urn: urn(urn_of[&s.enrolment_id]),
                    code: s.code.code().to_owned(),
                    category: s.code.category().as_str().to_owned(),
                    minutes_late: s.minutes_late.and_then(|m| u32::try_from(m).ok()),
                    recorded_at: time(s.recorded_at),
                })
                .collect(),
        })
        .collect();
    let spells = timeline::spells(&record.sessions)
        .iter()
        .map(|s| spell_message(s, urn_of[&s.enrolment_id]))
        .collect();
    let corrections = record
        .corrections
        .iter()
        .map(|c| SessionCorrection {
            date: c.date.to_string(),
            session: session_name(c.session).to_owned(),
            school_urn: urn(urn_of[&c.enrolment_id]),
            before: c.before.code().to_owned(),
            after: c.after.code().to_owned(),
            recorded_at: time(c.recorded_at),
            feed_id: c.feed_id.map(|f| f.to_string()).unwrap_or_default(),
        })
        .collect();
    let attribute_changes = timeline::attribute_changes(&record.attributes)
        .into_iter()
        .map(|c| AttributeChange {
            school_urn: urn(c.school_urn),
            field: c.field.to_owned(),
            before: c.before,
            after: c.after,
            recorded_at: time(Some(c.recorded_at)),
        })
        .collect();
    Ok(Response::new(PupilTimelineResponse {
        upn: latest.upn.clone(),
        forename: latest.forename.clone().unwrap_or_default(),
        surname: latest.surname.clone().unwrap_or_default(),
        date_of_birth: date(latest.date_of_birth),
        from: from.to_string(),
        to: to.to_string(),
        as_at: time(as_at),
        enrolments,
        overall: Some(measures(&overall)),
        weeks,
        spells,
        corrections,
        attribute_changes,
        household: Some(household),
    }))
}

/// The household's other pupils, each with their enrolments and measures over the period.
fn household_message(
    has_key: bool,
    members: &[Enrolment],
    sessions: &[rollcall_db::PupilSession],
    schools: &HashMap<i32, rollcall_db::School>,
) -> Household {
    let counters = timeline::counters(sessions);
    let mut out: Vec<(HouseholdMember, Standing)> = Vec::new();
    for e in members {
        let c = counters
            .get(&e.id)
            .map(|(c, _)| c.clone())
            .unwrap_or_default();
        let enrolment = enrolment_message(e, schools);
        match out.last_mut() {
            Some((m, standing)) if m.upn == e.upn => {
                m.enrolments.push(enrolment);
                standing.add_enrolment(&c);
            }
            _ => {
                let mut standing = Standing::default();
                standing.add_enrolment(&c);
                out.push((
                    HouseholdMember {
                        upn: e.upn.clone(),
                        forename: e.forename.clone().unwrap_or_default(),
                        surname: e.surname.clone().unwrap_or_default(),
                        date_of_birth: date(e.date_of_birth),
                        enrolments: vec![enrolment],
                        overall: None,
                    },
                    standing,
                ));
            }
        }
    }
    Household {
        has_key,
        members: out
            .into_iter()
            .map(|(mut m, standing)| {
                m.overall = Some(measures(&standing));
                m
            })
            .collect(),
    }
}

pub(crate) fn spell_message(s: &timeline::Spell, school_urn: i32) -> AbsenceSpell {
    AbsenceSpell {
        school_urn: urn(school_urn),
        first_date: s.first.0.to_string(),
        first_session: session_name(s.first.1).to_owned(),
        last_date: s.last.0.to_string(),
        last_session: session_name(s.last.1).to_owned(),
        sessions: s.sessions(),
        sessions_by_code: s
            .by_code
            .iter()
            .map(|(code, n)| ((*code).to_owned(), *n))
            .collect(),
        current: s.current,
    }
}

pub(crate) fn pupil_access(caller: &rollcall_db::Principal) -> Result<PupilAccess, ApiError> {
    PupilAccess::of(caller).ok_or_else(|| {
        ApiError::new(
            ErrorCode::PermissionDenied,
            "this credential may not see pupil-level data",
        )
    })
}

/// A whole UPN: a search never takes part of one.
fn parse_upn(s: &str) -> Result<Upn, ApiError> {
    Upn::parse(s.trim()).map_err(|err| ApiError::invalid(format!("upn: {err}")))
}

fn name<'a>(field: &str, s: &'a str) -> Result<&'a str, ApiError> {
    rollcall_domain::text::check(s, MAX_NAME)
        .map_err(|err| ApiError::invalid(format!("{field}: {err}")))?;
    Ok(s)
}

/// How the audit trail names a search: which way was asked, never the names or the UPN.
fn search_label(search: PupilSearch<'_>) -> String {
    match search {
        PupilSearch::Upn(_) => "find by upn",
        PupilSearch::SurnameAndBirth(..) => "find by surname and date of birth",
        PupilSearch::Names { .. } => "find by names",
    }
    .to_owned()
}

/// Records the pupil-level read, committed before a single name leaves.
pub(crate) async fn audit(
    pool: &Pool,
    caller: &rollcall_db::Principal,
    rpc: &str,
    purpose: &str,
    request_scope: String,
    ids: &[i64],
) -> Result<(), ApiError> {
    rollcall_db::record_audit_event(
        pool,
        &NewAuditEvent {
            principal: caller,
            rpc,
            purpose,
            request_scope,
            enrolment_ids: ids,
        },
    )
    .await
    .map_err(|err| ApiError::database("cannot record the audit event", &err))?;
    tracing::info!(
        key_id = caller.key_id(),
        kind = caller.kind().name(),
        rpc,
        pupils = ids.len(),
        "pupil-level query answered and audited"
    );
    Ok(())
}

/// The registry rows of the enrolments' schools, by URN.
async fn schools_of(
    pool: &Pool,
    enrolments: &[Enrolment],
) -> Result<HashMap<i32, rollcall_db::School>, ApiError> {
    let mut out = HashMap::new();
    for e in enrolments {
        if out.contains_key(&e.school_urn) {
            continue;
        }
        if let Some(school) = rollcall_db::get_school(pool, e.school_urn)
            .await
            .map_err(|err| ApiError::database("cannot read the school registry", &err))?
        {
            out.insert(e.school_urn, school);
        }
    }
    Ok(out)
}

fn enrolment_message(e: &Enrolment, schools: &HashMap<i32, rollcall_db::School>) -> PupilEnrolment {
    PupilEnrolment {
        school: schools.get(&e.school_urn).cloned().map(school_message),
        admission_date: date(e.admission_date),
        leaving_date: date(e.leaving_date),
        year_group: e.year_group.clone().unwrap_or_default(),
        sex: e.sex.clone().unwrap_or_default(),
        fsm: e.fsm.unwrap_or_default(),
        sen_provision: e.sen_provision.clone().unwrap_or_default(),
        ethnicity: e.ethnicity.clone().unwrap_or_default(),
        looked_after: e.looked_after.unwrap_or_default(),
    }
}

pub(crate) fn urn(urn: i32) -> String {
    format!("{urn:06}")
}

fn date(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

pub(crate) fn session_name(session: i16) -> &'static str {
    if session == 0 { "AM" } else { "PM" }
}
