//! The `QueryService` and `RegistryService` handlers: each turns its request into the domain's
//! terms, calls what answers it (`figures.rs`, `scope.rs`, `rollcall-db`) and turns the answer
//! into messages. With `grpc_admin.rs` and `grpc_export.rs`, the only place in the query service
//! that sees protobuf types.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rollcall_db::{Access, Pool, Scope};
use rollcall_domain::{LaCode, Rate, Urn, codes, text};
use rollcall_proto::query::v1::{
    ApproachingPersistentRequest, ApproachingPersistentResponse, AtRiskPupilsRequest,
    AtRiskPupilsResponse, FindPupilsRequest, FindPupilsResponse, ImportCalendarRequest,
    ImportCalendarResponse, ImportSchoolsRequest, ImportSchoolsResponse, LaSummaryRequest,
    LaSummaryResponse, ListSchoolsRequest, ListSchoolsResponse, Measures, Period,
    PupilTimelineRequest, PupilTimelineResponse, School, SchoolRow, SchoolSummaryRequest,
    SchoolSummaryResponse, query_service_server::QueryService,
    registry_service_server::RegistryService,
};
use rollcall_server::ApiError;
use rollcall_server::auth::principal;
use tonic::{Request, Response, Status};

use crate::figures;
use crate::measures::Standing;
use crate::scope::{parse_la, parse_urn, visible_school};

/// The longest school name or type the registry holds: room for any school's full name.
const SCHOOL_TEXT_CHARS: usize = 200;

const PHASES: &[&str] = &[
    "primary",
    "secondary",
    "special",
    "all-through",
    "nursery",
    "alternative-provision",
];

pub struct Query {
    pool: Pool,
}

impl Query {
    pub fn new(pool: Pool) -> Query {
        Query { pool }
    }
}

#[tonic::async_trait]
impl QueryService for Query {
    async fn school_summary(
        &self,
        request: Request<SchoolSummaryRequest>,
    ) -> Result<Response<SchoolSummaryResponse>, Status> {
        let access = Access::of(&principal(&request)?);
        let request = request.into_inner();
        let urn = parse_urn("school_urn", &request.school_urn)?;
        let (from, to) = period(request.period.as_ref())?;
        let as_at = crate::period::as_at("as_at", &request.as_at)?;
        let school = visible_school(&self.pool, &access, urn).await?;
        let standing = figures::standings(
            &self.pool,
            &access,
            Scope::School(school.urn),
            (from, to),
            as_at,
        )
        .await?
        .remove(&school.urn)
        .unwrap_or_default();
        Ok(Response::new(SchoolSummaryResponse {
            school: Some(school_message(school)),
            from: from.to_string(),
            to: to.to_string(),
            measures: Some(measures(&standing)),
        }))
    }

    async fn la_summary(
        &self,
        request: Request<LaSummaryRequest>,
    ) -> Result<Response<LaSummaryResponse>, Status> {
        let access = Access::of(&principal(&request)?);
        let request = request.into_inner();
        let la = parse_la("la_code", &request.la_code)?;
        if !access.covers_la(la.get() as i16) {
            return Err(ApiError::outside_organisation().into());
        }
        let (from, to) = period(request.period.as_ref())?;
        let as_at = crate::period::as_at("as_at", &request.as_at)?;
        let schools = rollcall_db::list_schools(&self.pool, &access, Some(la.get() as i16))
            .await
            .map_err(|err| ApiError::database("cannot read the school registry", &err))?;
        let standings = figures::standings(
            &self.pool,
            &access,
            Scope::La(la.get() as i16),
            (from, to),
            as_at,
        )
        .await?;
        let mut total = Standing::default();
        let rows = schools
            .into_iter()
            .map(|s| {
                let standing = standings.get(&s.urn).cloned().unwrap_or_default();
                total.add(&standing);
                SchoolRow {
                    measures: Some(measures(&standing)),
                    school: Some(school_message(s)),
                }
            })
            .collect();
        Ok(Response::new(LaSummaryResponse {
            la_code: la.get().to_string(),
            la_name: la.name().to_owned(),
            from: from.to_string(),
            to: to.to_string(),
            schools: rows,
            total: Some(measures(&total)),
        }))
    }

    async fn at_risk_pupils(
        &self,
        request: Request<AtRiskPupilsRequest>,
    ) -> Result<Response<AtRiskPupilsResponse>, Status> {
        crate::grpc_lists::at_risk_pupils(&self.pool, request).await
    }

    async fn approaching_persistent(
        &self,
        request: Request<ApproachingPersistentRequest>,
    ) -> Result<Response<ApproachingPersistentResponse>, Status> {
        crate::grpc_lists::approaching_persistent(&self.pool, request).await
    }

    async fn find_pupils(
        &self,
        request: Request<FindPupilsRequest>,
    ) -> Result<Response<FindPupilsResponse>, Status> {
        crate::grpc_pupil::find_pupils(&self.pool, request).await
    }

    async fn pupil_timeline(
        &self,
        request: Request<PupilTimelineRequest>,
    ) -> Result<Response<PupilTimelineResponse>, Status> {
        crate::grpc_pupil::pupil_timeline(&self.pool, request).await
    }
}

pub struct Registry {
    pool: Pool,
}

impl Registry {
    pub fn new(pool: Pool) -> Registry {
        Registry { pool }
    }
}

#[tonic::async_trait]
impl RegistryService for Registry {
    async fn import_schools(
        &self,
        request: Request<ImportSchoolsRequest>,
    ) -> Result<Response<ImportSchoolsResponse>, Status> {
        let request = request.into_inner();
        let mut schools = Vec::with_capacity(request.schools.len());
        let mut problems = Vec::new();
        for (index, s) in request.schools.iter().enumerate() {
            match school_row(s) {
                Ok(row) => schools.push(row),
                Err(problem) => problems.push(format!("school {index}: {problem}")),
            }
        }
        // The registry is imported whole or not at all: a half-imported registry would make the
        // validator reject feeds for schools that were meant to be there.
        if !problems.is_empty() {
            return Err(ApiError::invalid(problems.join("; ")).into());
        }
        let imported = rollcall_db::upsert_schools(&self.pool, &schools)
            .await
            .map_err(|err| ApiError::database("cannot write the school registry", &err))?;
        tracing::info!(imported, "school registry imported");
        Ok(Response::new(ImportSchoolsResponse { imported }))
    }

    async fn import_calendar(
        &self,
        request: Request<ImportCalendarRequest>,
    ) -> Result<Response<ImportCalendarResponse>, Status> {
        let request = request.into_inner();
        let mut rows = Vec::with_capacity(request.ranges.len());
        let mut problems = Vec::new();
        for (index, range) in request.ranges.iter().enumerate() {
            match crate::grpc_pipeline::calendar_row(range) {
                Ok(row) => rows.push(row),
                Err(problem) => problems.push(format!("range {index}: {problem}")),
            }
        }
        // Whole or not at all, as the registry.
        if !problems.is_empty() {
            return Err(ApiError::invalid(problems.join("; ")).into());
        }
        let imported = rollcall_db::replace_calendars(&self.pool, &rows)
            .await
            .map_err(|err| ApiError::database("cannot write the calendars", &err))?;
        tracing::info!(imported, "school calendars imported");
        Ok(Response::new(ImportCalendarResponse { imported }))
    }

    async fn list_schools(
        &self,
        request: Request<ListSchoolsRequest>,
    ) -> Result<Response<ListSchoolsResponse>, Status> {
        let access = Access::of(&principal(&request)?);
        let la = match request.get_ref().la_code.trim() {
            "" => None,
            la => Some(parse_la("la_code", la)?.get() as i16),
        };
        let schools = rollcall_db::list_schools(&self.pool, &access, la)
            .await
            .map_err(|err| ApiError::database("cannot read the school registry", &err))?;
        Ok(Response::new(ListSchoolsResponse {
            schools: schools.into_iter().map(school_message).collect(),
        }))
    }
}

fn school_row(s: &School) -> Result<rollcall_db::School, String> {
    let urn = Urn::parse(s.urn.trim()).map_err(|err| format!("urn: {err}"))?;
    let la = LaCode::parse(s.la_code.trim()).map_err(|err| format!("la_code: {err}"))?;
    if !la.is_current() {
        return Err("la_code: not a current la code".into());
    }
    let phase = s.phase.trim().to_ascii_lowercase();
    if !PHASES.contains(&phase.as_str()) {
        return Err(format!("phase: must be one of {}", PHASES.join(", ")));
    }
    if s.name.trim().is_empty() {
        return Err("name: required".into());
    }
    // Names and types as the registry's own text, under the same rules as a feed's names.
    for (field, value) in [("name", &s.name), ("school_type", &s.school_type)] {
        text::check(value.trim(), SCHOOL_TEXT_CHARS).map_err(|err| format!("{field} {err}"))?;
    }
    Ok(rollcall_db::School {
        urn: urn.get() as i32,
        la_code: la.get() as i16,
        name: s.name.trim().to_owned(),
        phase,
        school_type: s.school_type.trim().to_owned(),
        independent: s.independent,
    })
}

pub(crate) fn school_message(s: rollcall_db::School) -> School {
    School {
        urn: format!("{:06}", s.urn),
        la_code: format!("{:03}", s.la_code),
        name: s.name,
        phase: s.phase,
        school_type: s.school_type,
        independent: s.independent,
    }
}

/// Pupils per page of the at-risk list when the request does not say, and the most it may ask.
const DEFAULT_PAGE_SIZE: usize = 500;
const MAX_PAGE_SIZE: usize = 5000;

/// The page a request asks for: its size (default, at most the maximum) and the offset its
/// token carries (the first page has none).
pub(crate) fn page_request(page_size: u32, page_token: &str) -> Result<rollcall_db::Page, Status> {
    let size = match page_size as usize {
        0 => DEFAULT_PAGE_SIZE,
        n if n > MAX_PAGE_SIZE => {
            return Err(ApiError::invalid(format!("page_size: at most {MAX_PAGE_SIZE}")).into());
        }
        n => n,
    };
    let offset = match page_token.trim() {
        "" => 0,
        token => token.parse().map_err(|_| {
            Status::from(ApiError::invalid(
                "page_token: not a token this service issued",
            ))
        })?,
    };
    Ok(rollcall_db::Page {
        offset,
        size: size as u32,
    })
}

/// The requested period, or the current academic year to date.
pub(crate) fn period(period: Option<&Period>) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let (from, to) = period.map_or(("", ""), |p| (p.from.as_str(), p.to.as_str()));
    crate::period::requested(from, to)
}

/// A standing as the API's `Measures`.
pub(crate) fn measures(standing: &Standing) -> Measures {
    let total = &standing.total;
    let perc = |rate: Option<Rate>| rate.map(Rate::percent).unwrap_or_default();
    let share = |n: u64| {
        if standing.enrolments == 0 {
            0.0
        } else {
            n as f64 / standing.enrolments as f64 * 100.0
        }
    };
    let sessions_by_code: BTreeMap<String, u64> = codes::all()
        .iter()
        .filter_map(|code| {
            let n = total.count(code);
            (n > 0).then(|| (code.code().to_owned(), n))
        })
        .collect();
    Measures {
        enrolments: standing.enrolments,
        possible_sessions: total.possible(),
        present_sessions: total.present(),
        approved_educational_activity: total.aea(),
        authorised_absence: total.authorised(),
        unauthorised_absence: total.unauthorised(),
        overall_absence: total.overall_absence(),
        late_sessions: total.late(),
        not_possible_sessions: total.not_possible(),
        attendance_perc: perc(total.attendance_rate()),
        overall_absence_perc: perc(total.overall_absence_rate()),
        authorised_absence_perc: perc(total.authorised_rate()),
        unauthorised_absence_perc: perc(total.unauthorised_rate()),
        persistent_absentees: standing.persistent,
        severe_absentees: standing.severe,
        persistent_absence_perc: share(standing.persistent),
        severe_absence_perc: share(standing.severe),
        sessions_by_code: sessions_by_code.into_iter().collect(),
    }
}
