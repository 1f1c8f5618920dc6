//! A pupil's sessions as a calendar: one row per week (Monday to Friday), a cell per morning and
//! afternoon holding the code recorded, coloured by its category with the category in words
//! beside it for screen readers, and a key. The table is the text alternative: every colour is
//! also a code and a word.

use std::collections::BTreeMap;

use maud::{Markup, html};
use rollcall_proto::query::v1::{TimelineSession, TimelineWeek};

const DAYS: [&str; 5] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"];

/// The categories of codes, in the key's order: (category as the query service names it, words).
pub const CATEGORIES: [(&str, &str); 5] = [
    ("present", "present"),
    ("aea", "approved educational activity"),
    ("authorised", "authorised absence"),
    ("unauthorised", "unauthorised absence"),
    ("not_possible", "not a possible session"),
];

/// The words for a category.
pub fn category_words(category: &str) -> &str {
    CATEGORIES
        .iter()
        .find(|(c, _)| *c == category)
        .map_or(category, |(_, words)| words)
}

pub fn calendar(weeks: &[TimelineWeek], school_names: &BTreeMap<String, String>) -> Markup {
    let several_schools = weeks
        .iter()
        .flat_map(|w| &w.sessions)
        .map(|s| &s.school_urn)
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        > 1;
    html! {
        (key())
        section class="rollcall-table-wrapper" tabindex="0" aria-label="Sessions week by week" {
            table class="govuk-table rollcall-calendar" {
                caption class="govuk-table__caption govuk-table__caption--m" { "Sessions week by week" }
                thead class="govuk-table__head" {
                    tr class="govuk-table__row" {
                        th scope="col" class="govuk-table__header" { "Week beginning" }
                        @for day in DAYS {
                            th scope="col" class="govuk-table__header" {
                                abbr title=(format!("{day} morning")) { (day[..3]) " AM" }
                            }
                            th scope="col" class="govuk-table__header" {
                                abbr title=(format!("{day} afternoon")) { (day[..3]) " PM" }
                            }
                        }
                    }
                }
                tbody class="govuk-table__body" {
                    @for week in weeks {
                        @let slots = slots(week);
                        tr class="govuk-table__row" {
                            th scope="row" class="govuk-table__header" { (monday_words(&week.monday)) }
                            @for slot in &slots {
                                (cell(slot, several_schools, school_names))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The week's sessions in its ten slots, Monday morning first.
fn slots(week: &TimelineWeek) -> Vec<Vec<&TimelineSession>> {
    let mut slots: Vec<Vec<&TimelineSession>> = vec![Vec::new(); 10];
    let Ok(monday) = chrono::NaiveDate::parse_from_str(&week.monday, "%Y-%m-%d") else {
        return slots;
    };
    for session in &week.sessions {
        let Ok(date) = chrono::NaiveDate::parse_from_str(&session.date, "%Y-%m-%d") else {
            continue;
        };
        let day = (date - monday).num_days();
        if (0..5).contains(&day) {
            let slot = day as usize * 2 + usize::from(session.session == "PM");
            slots[slot].push(session);
        }
    }
    slots
}

fn cell(
    sessions: &[&TimelineSession],
    several_schools: bool,
    school_names: &BTreeMap<String, String>,
) -> Markup {
    html! {
        @match sessions {
            [] => {
                td class="govuk-table__cell rollcall-mark" {
                    span aria-hidden="true" { "·" }
                    span class="govuk-visually-hidden" { "no mark" }
                }
            }
            [one] => {
                td class=(format!("govuk-table__cell rollcall-mark rollcall-mark--{}", one.category)) {
                    (mark(one, several_schools, school_names))
                }
            }
            // Dual registered: a mark at each school for the same session.
            many => {
                td class="govuk-table__cell rollcall-mark rollcall-mark--several" {
                    @for (i, s) in many.iter().enumerate() {
                        @if i > 0 { " / " }
                        (mark(s, true, school_names))
                    }
                }
            }
        }
    }
}

fn mark(
    session: &TimelineSession,
    name_school: bool,
    school_names: &BTreeMap<String, String>,
) -> Markup {
    html! {
        span class="rollcall-mark__code" { (session.code) }
        span class="govuk-visually-hidden" {
            ", " (category_words(&session.category))
            @if let Some(minutes) = session.minutes_late { ", " (minutes) " minutes late" }
            @if name_school {
                ", at " (school_names.get(&session.school_urn).map_or(session.school_urn.as_str(), String::as_str))
            }
        }
    }
}

fn key() -> Markup {
    html! {
        h3 class="govuk-heading-s" { "Key" }
        ul class="govuk-list rollcall-calendar-key" {
            @for (category, words) in CATEGORIES {
                li {
                    span class=(format!("rollcall-swatch rollcall-mark--{category}")) aria-hidden="true" {}
                    " " (words)
                }
            }
            li { span class="rollcall-swatch" aria-hidden="true" { "·" } " no mark recorded (a day the school recorded nothing, or not yet sent)" }
        }
    }
}

/// "8 Sep 2025" from "2025-09-08".
fn monday_words(monday: &str) -> String {
    chrono::NaiveDate::parse_from_str(monday, "%Y-%m-%d")
        .map(|d| d.format("%-d %b %Y").to_string())
        .unwrap_or_else(|_| monday.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(date: &str, session: &str, code: &str, category: &str) -> TimelineSession {
        TimelineSession {
            date: date.into(),
            session: session.into(),
            school_urn: "100001".into(),
            code: code.into(),
            category: category.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_week_fills_its_slots_by_day_and_session_and_says_each_category_in_words() {
        let week = TimelineWeek {
            monday: "2025-09-08".into(),
            sessions: vec![
                session("2025-09-08", "AM", "/", "present"),
                session("2025-09-10", "PM", "I", "authorised"),
            ],
        };
        let slots = slots(&week);
        assert_eq!(slots[0][0].code, "/");
        assert_eq!(slots[5][0].code, "I");
        assert_eq!(slots.iter().filter(|s| s.is_empty()).count(), 8);
        let html = calendar(&[week], &BTreeMap::new()).into_string();
        assert!(html.contains("rollcall-mark--authorised"));
        assert!(html.contains(", authorised absence"));
        assert!(html.contains("8 Sep 2025"));
        assert!(html.contains("no mark"));
    }
}
