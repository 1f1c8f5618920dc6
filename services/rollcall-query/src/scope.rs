//! What a request may cover, checked against the caller before anything is read: the purpose a
//! pupil-level request must give, the LA or school it names, and how the audit trail names it.

use rollcall_db::{Access, Pool, School, Scope};
use rollcall_domain::{LaCode, Urn, text};
use rollcall_server::{ApiError, ErrorCode};

/// The longest purpose recorded with a pupil-level query.
const MAX_PURPOSE: usize = 500;

/// The purpose a pupil-level request must give, trimmed.
pub fn required_purpose(purpose: &str) -> Result<&str, ApiError> {
    let purpose = purpose.trim();
    if purpose.is_empty() || text::check(purpose, MAX_PURPOSE).is_err() {
        return Err(ApiError::invalid(format!(
            "purpose: required, at most {MAX_PURPOSE} characters and no control characters: why you need these pupils' details"
        )));
    }
    Ok(purpose)
}

/// The scope of a pupil-level request naming exactly one of an LA and a school, checked
/// against the caller's access.
pub async fn pupil_scope(
    pool: &Pool,
    access: &Access,
    la_code: &str,
    school_urn: &str,
) -> Result<Scope, ApiError> {
    match (la_code.trim(), school_urn.trim()) {
        (la, "") if !la.is_empty() => {
            let la = parse_la("la_code", la)?.get() as i16;
            if !access.covers_la(la) {
                return Err(ApiError::outside_organisation());
            }
            Ok(Scope::La(la))
        }
        ("", urn) if !urn.is_empty() => {
            let urn = parse_urn("school_urn", urn)?;
            visible_school(pool, access, urn).await?;
            Ok(Scope::School(urn.get() as i32))
        }
        _ => Err(ApiError::invalid(
            "exactly one of la_code and school_urn is required",
        )),
    }
}

/// How an audit record names a scope.
pub fn scope_label(scope: Scope) -> String {
    match scope {
        Scope::La(la) => format!("la {la:03}"),
        Scope::School(urn) => format!("school {urn:06}"),
    }
}

/// The school, when it is in the registry and within `access`.
pub async fn visible_school(pool: &Pool, access: &Access, urn: Urn) -> Result<School, ApiError> {
    let school = rollcall_db::get_school(pool, urn.get() as i32)
        .await
        .map_err(|err| ApiError::database("cannot read the school registry", &err))?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                "no school with this urn in the registry",
            )
        })?;
    if !access.covers(school.urn, school.la_code) {
        return Err(ApiError::outside_organisation());
    }
    Ok(school)
}

pub fn parse_urn(field: &str, s: &str) -> Result<Urn, ApiError> {
    Urn::parse(s.trim()).map_err(|err| ApiError::invalid(format!("{field}: {err}")))
}

pub fn parse_la(field: &str, s: &str) -> Result<LaCode, ApiError> {
    LaCode::parse(s.trim()).map_err(|err| ApiError::invalid(format!("{field}: {err}")))
}
