//! Which days a request covers: the periods the handlers are asked for, parsed and checked, and
//! their defaults (the current academic year to date; an export's year to the latest marks).

use chrono::{DateTime, NaiveDate, Utc};
use rollcall_domain::AcademicYear;
use rollcall_server::ApiError;

/// A date `YYYY-MM-DD` in the request's field `field`.
pub fn parse_date(field: &str, s: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| ApiError::invalid(format!("{field}: must be a date YYYY-MM-DD")))
}

/// The moment a request asks its answer as at (`as_at`, RFC 3339), or `None` for today's.
pub fn as_at(field: &str, s: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    match s.trim() {
        "" => Ok(None),
        s => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| {
                ApiError::invalid(format!(
                    "{field}: must be an RFC 3339 time, e.g. 2025-10-06T16:00:00Z"
                ))
            }),
    }
}

/// A query's period (`period.from`, `period.to`, either empty): `to` defaults to today, `from`
/// to the first day of `to`'s academic year.
pub fn requested(from: &str, to: &str) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let to = match to.trim() {
        "" => Utc::now().date_naive(),
        to => parse_date("period.to", to)?,
    };
    let from = match from.trim() {
        "" => AcademicYear::of(to).first_day(),
        from => parse_date("period.from", from)?,
    };
    if from > to {
        return Err(ApiError::invalid("period: from is after to"));
    }
    Ok((from, to))
}

/// A period named by both ends, within one academic year.
pub fn dates(from: &str, to: &str) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let (from, to) = (parse_date("from", from)?, parse_date("to", to)?);
    check_one_year(from, to)?;
    Ok((from, to))
}

/// The year-to-date period: `to` defaults to the latest date with marks (today when there are
/// none), `from` to the first day of `to`'s academic year.
pub fn year_to_date(
    from: &str,
    to: &str,
    last_marked: Option<NaiveDate>,
) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let to = match to.trim() {
        "" => last_marked.unwrap_or_else(|| Utc::now().date_naive()),
        to => parse_date("to", to)?,
    };
    let from = match from.trim() {
        "" => AcademicYear::of(to).first_day(),
        from => parse_date("from", from)?,
    };
    check_one_year(from, to)?;
    Ok((from, to))
}

fn check_one_year(from: NaiveDate, to: NaiveDate) -> Result<(), ApiError> {
    if from > to {
        return Err(ApiError::invalid("from: after to"));
    }
    if AcademicYear::of(from) != AcademicYear::of(to) {
        return Err(ApiError::invalid(
            "to: must be in the same academic year as from",
        ));
    }
    Ok(())
}

/// The academic year whose stored totals answer `from..=to` exactly, if any: the period starts
/// on the year's first day and stays within it (the caller still checks that no school has
/// marks after `to`). Any other period is counted from the registers.
pub fn whole_year(from: NaiveDate, to: NaiveDate) -> Option<AcademicYear> {
    let year = AcademicYear::of(from);
    (from == year.first_day() && to <= year.last_day()).then_some(year)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn year_to_date_defaults_and_limits() {
        let (from, to) = year_to_date("", "", Some(d("2025-11-20"))).unwrap();
        assert_eq!((from, to), (d("2025-09-01"), d("2025-11-20")));
        assert!(year_to_date("2025-07-01", "2025-09-10", None).is_err());
        assert!(year_to_date("2025-10-01", "2025-09-10", None).is_err());
    }

    #[test]
    fn a_query_period_defaults_to_the_year_to_date() {
        let (from, to) = requested("", "2025-11-20").unwrap();
        assert_eq!((from, to), (d("2025-09-01"), d("2025-11-20")));
        let err = requested("2025-11-21", "2025-11-20").unwrap_err();
        assert_eq!(err.message, "period: from is after to");
        let err = requested("", "20 November").unwrap_err();
        assert!(err.message.starts_with("period.to:"), "{}", err.message);
    }

    #[test]
    fn only_a_period_from_a_years_first_day_is_a_whole_year() {
        assert!(whole_year(d("2025-09-01"), d("2025-11-20")).is_some());
        assert!(whole_year(d("2025-09-02"), d("2025-11-20")).is_none());
        assert!(whole_year(d("2025-09-01"), d("2026-09-01")).is_none());
    }
}
