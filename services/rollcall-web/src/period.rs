//! The period a page covers: the current academic year to date unless the user picks an earlier
//! whole academic year (`?year=2025` for 2025 to 2026). Whole years are what the query service
//! answers from its stored year totals, so every choice here is fast at any scale.

use chrono::NaiveDate;
use maud::{Markup, html};
use rollcall_domain::AcademicYear;

use crate::error::WebError;
use crate::format;

/// How many earlier academic years the period choice offers.
const EARLIER_YEARS: i32 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub year: AcademicYear,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The current year, to today.
    pub to_date: bool,
}

impl Period {
    /// The period `year` asks for (the start year of an academic year), or the current year to
    /// date when it is absent.
    pub fn choose(year: Option<&str>, today: NaiveDate) -> Result<Period, WebError> {
        let current = AcademicYear::of(today);
        let year = match year.map(str::trim).filter(|y| !y.is_empty()) {
            None => current,
            Some(y) => {
                let start: i32 = y
                    .parse()
                    .map_err(|_| WebError::Invalid("year: not an academic year".into()))?;
                if start > current.start_year() || start < current.start_year() - EARLIER_YEARS {
                    return Err(WebError::Invalid(format!(
                        "year: choose an academic year from {} to {}",
                        current.start_year() - EARLIER_YEARS,
                        current.start_year()
                    )));
                }
                AcademicYear::new(start)
            }
        };
        let to_date = year == current;
        Ok(Period {
            year,
            from: year.first_day(),
            to: if to_date { today } else { year.last_day() },
            to_date,
        })
    }

    pub fn proto(&self) -> rollcall_proto::query::v1::Period {
        rollcall_proto::query::v1::Period {
            from: self.from.to_string(),
            to: self.to.to_string(),
        }
    }

    /// "2025 to 2026 academic year to date: 1 September 2025 to 2 December 2025".
    pub fn describe(&self) -> String {
        format!(
            "{} academic year{}: {} to {}",
            format::academic_year(self.year.start_year()),
            if self.to_date { " to date" } else { "" },
            format::date(self.from),
            format::date(self.to)
        )
    }

    /// For a download's file name: "2025-26".
    pub fn slug(&self) -> String {
        let start = self.year.start_year();
        format!("{start}-{:02}", (start + 1) % 100)
    }

    /// `year=2025&` when not the default, for links that keep the period.
    pub fn query(&self) -> String {
        if self.to_date {
            String::new()
        } else {
            format!("year={}&", self.year.start_year())
        }
    }

    /// The period line and the form to choose another (GET: it changes nothing). `keep` are the
    /// page's other parameters, carried as hidden fields.
    pub fn form(&self, today: NaiveDate, keep: &[(&str, &str)]) -> Markup {
        let current = AcademicYear::of(today).start_year();
        html! {
            p class="govuk-body" { strong { "Period: " } (self.describe()) }
            form method="get" class="rollcall-period-form" {
                @for (name, value) in keep {
                    @if !value.is_empty() { input type="hidden" name=(name) value=(value); }
                }
                div class="govuk-form-group" {
                    label class="govuk-label" for="year" { "Academic year" }
                    select class="govuk-select" id="year" name="year" {
                        @for start in (current - EARLIER_YEARS..=current).rev() {
                            option value=(start) selected[start == self.year.start_year()] {
                                (format::academic_year(start))
                                @if start == current { " (to date)" }
                            }
                        }
                    }
                }
                button type="submit" class="govuk-button govuk-button--secondary" data-module="govuk-button" { "Show this year" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn year_to_date_by_default_and_earlier_years_whole() {
        let today = day(2026, 12, 2);
        let default = Period::choose(None, today).unwrap();
        assert_eq!((default.from, default.to), (day(2026, 9, 1), today));
        assert!(default.to_date);
        assert_eq!(default.query(), "");
        assert_eq!(
            default.describe(),
            "2026 to 2027 academic year to date: 1 September 2026 to 2 December 2026"
        );
        let last = Period::choose(Some("2025"), today).unwrap();
        assert_eq!((last.from, last.to), (day(2025, 9, 1), day(2026, 8, 31)));
        assert_eq!(last.slug(), "2025-26");
        assert_eq!(last.query(), "year=2025&");
        assert!(Period::choose(Some("2027"), today).is_err());
        assert!(Period::choose(Some("2020"), today).is_err());
        assert!(Period::choose(Some("soon"), today).is_err());
        let form = last
            .form(today, &[("phase", "primary"), ("sort", "")])
            .into_string();
        assert!(
            form.contains(r#"<option value="2025" selected>2025 to 2026</option>"#),
            "{form}"
        );
        assert!(form.contains(r#"name="phase" value="primary""#));
        assert!(!form.contains(r#"name="sort""#));
    }
}
