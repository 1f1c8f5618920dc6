//! A pupil, across every school of the LA the user may see: their enrolments, a calendar of
//! their sessions week by week, their absence spells, corrections to their marks and to their
//! details, and the other pupils of their household (the whole family in view). Reached from a
//! list or from the search by an opaque reference (`pupil_refs.rs`): no URL names a pupil.
//! Pupil-level, so after the purpose, which goes with the `PupilTimeline` call into the audit
//! trail; the page's download is the sessions shown.

use std::collections::BTreeMap;

use axum::extract::{OriginalUri, Path, Query, State};
use axum::response::Response;
use maud::{Markup, html};
use rollcall_proto::query::v1::{Measures, PupilTimelineRequest, PupilTimelineResponse};
use serde::Deserialize;

use super::at_risk::purpose_page;
use super::pupil_calendar::{self, category_words};
use super::pupil_list::no_referrer;
use super::{SignedIn, html, now, refused};
use crate::Shared;
use crate::client;
use crate::error::WebError;
use crate::format::{count, percent, rfc3339};
use crate::layout::{self, Nav};
use crate::period::Period;
use crate::session::Session;
use crate::sheet::{Cell, Format, Sheet, col};

/// The link to the page of the pupil with `upn`, over `period`: by this session's reference.
pub(super) fn link(session: &Session, upn: &str, period: &Period) -> String {
    let link = format!(
        "/pupils/{}?{}",
        session.pupil_reference(upn),
        period.query()
    );
    link.trim_end_matches(['?', '&']).to_owned()
}

#[derive(Deserialize, Default)]
pub struct PupilQuery {
    year: Option<String>,
    #[serde(default)]
    format: Format,
}

pub async fn page(
    State(app): State<Shared>,
    signed: SignedIn,
    Path(reference): Path<String>,
    Query(query): Query<PupilQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, WebError> {
    let now = now();
    let period = Period::choose(query.year.as_deref(), now.date_naive())?;
    let here = super::self_link(&uri);
    // A reference another session gave, or one this session has forgotten: as if no such pupil.
    let upn = signed
        .session
        .pupil_upn(&reference)
        .ok_or(WebError::NotFound)?;
    let Some(purpose) = signed.session.purpose.clone() else {
        return Ok(html(purpose_page(&signed.session, &here, None)));
    };
    let timeline = client::query(&app.channel)
        .pupil_timeline(client::request(
            &signed.user.credential,
            PupilTimelineRequest {
                upn,
                purpose: purpose.text.clone(),
                period: Some(period.proto()),
                as_at: String::new(),
            },
        )?)
        .await
        .map_err(|s| refused(&app, &signed.session, "PupilTimeline", &s))?
        .into_inner();
    let schools: BTreeMap<String, String> = timeline
        .enrolments
        .iter()
        .filter_map(|e| e.enrolment.as_ref()?.school.as_ref())
        .map(|s| (s.urn.clone(), s.name.clone()))
        .collect();
    let school = |urn: &str| schools.get(urn).cloned().unwrap_or_else(|| urn.to_owned());
    let name = format!("{} {}", timeline.forename, timeline.surname)
        .trim()
        .to_owned();

    let sheet = sessions_sheet(&timeline, &school, &period, now);
    if let Some(download) = sheet.download(query.format) {
        tracing::info!(sessions = sheet.rows.len(), "pupil sessions downloaded");
        return download;
    }
    let overall = timeline.overall.clone().unwrap_or_default();
    let content = html! {
        span class="govuk-caption-l" { "Pupil" }
        h1 class="govuk-heading-l" { (name) }
        (period.form(now.date_naive(), &[]))
        (layout::as_of(now))
        div class="govuk-inset-text" {
            "Your purpose, recorded with this view: " strong { (purpose.text) } "."
        }
        (layout::summary_list(&[
            ("UPN", timeline.upn.clone()),
            ("Date of birth", timeline.date_of_birth.clone()),
            ("Attendance", format!("{} of possible sessions ({} of {})", percent(overall.attendance_perc), count(overall.present_sessions + overall.approved_educational_activity), count(overall.possible_sessions))),
            ("Absence", format!("{} missed: {} authorised, {} unauthorised", count(overall.overall_absence), count(overall.authorised_absence), count(overall.unauthorised_absence))),
            ("Flag", flag_words(&overall)),
        ]))
        (enrolments(&timeline))
        h2 class="govuk-heading-m" { "Sessions" }
        @if timeline.weeks.is_empty() {
            p class="govuk-body" { "No sessions are recorded for this pupil in the period." }
        } @else {
            (pupil_calendar::calendar(&timeline.weeks, &schools))
        }
        (spells(&timeline, &school))
        (corrections(&timeline, &school))
        h2 class="govuk-heading-m" { "Household" }
        (household(&signed.session, &timeline, &period))
        (layout::downloads(&here, "every session shown (each download is recorded with your purpose)"))
    };
    Ok(no_referrer(html(layout::page(
        &signed.session,
        Nav::FindPupil,
        &name,
        content,
    ))))
}

fn flag_words(m: &Measures) -> String {
    if m.severe_absentees > 0 {
        "Severe absence: 50% or more of possible sessions missed".to_owned()
    } else if m.persistent_absentees > 0 {
        "Persistent absence: 10% or more of possible sessions missed".to_owned()
    } else {
        "Not persistently absent".to_owned()
    }
}

fn enrolments(t: &PupilTimelineResponse) -> Markup {
    let rows: Vec<Vec<Cell>> = t
        .enrolments
        .iter()
        .map(|e| {
            let enrolment = e.enrolment.clone().unwrap_or_default();
            let school = enrolment.school.unwrap_or_default();
            let m = e.measures.clone().unwrap_or_default();
            vec![
                Cell::text(if school.independent {
                    format!("{} (independent)", school.name)
                } else {
                    school.name
                }),
                Cell::text(enrolment.year_group),
                Cell::text(enrolment.admission_date),
                Cell::text(if enrolment.leaving_date.is_empty() {
                    "on roll".to_owned()
                } else {
                    enrolment.leaving_date
                }),
                Cell::text(if e.dual_registered {
                    "yes (D marks)"
                } else {
                    "no"
                }),
                Cell::Count(m.possible_sessions),
                Cell::Percent(m.attendance_perc),
                Cell::Percent(m.overall_absence_perc),
            ]
        })
        .collect();
    let sheet = Sheet {
        file_stem: String::new(),
        about: Vec::new(),
        columns: vec![
            col("School"),
            col("Year group"),
            col("Admitted"),
            col("Left"),
            col("Dual registered"),
            col("Possible sessions"),
            crate::sheet::pct("Attendance"),
            crate::sheet::pct("Absence"),
        ],
        rows,
    };
    layout::table("Schools in the period", &sheet, None, |_| None)
}

fn spells(t: &PupilTimelineResponse, school: &impl Fn(&str) -> String) -> Markup {
    if t.spells.is_empty() {
        return html! {
            h2 class="govuk-heading-m" { "Absence spells" }
            p class="govuk-body" { "No absence in the period." }
        };
    }
    let rows = t
        .spells
        .iter()
        .map(|s| {
            let mut codes: Vec<(&String, &u64)> = s.sessions_by_code.iter().collect();
            codes.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
            let reasons: Vec<String> = codes
                .iter()
                .map(|(code, n)| {
                    let meaning = rollcall_domain::codes::get(code).map_or("", |c| c.meaning());
                    format!("{} {code} ({meaning})", count(**n))
                })
                .collect();
            vec![
                Cell::text(format!("{} {}", s.first_date, s.first_session)),
                Cell::text(format!(
                    "{} {}{}",
                    s.last_date,
                    s.last_session,
                    if s.current { " (continuing)" } else { "" }
                )),
                Cell::text(school(&s.school_urn)),
                Cell::Count(s.sessions),
                Cell::text(reasons.join("; ")),
            ]
        })
        .collect();
    let sheet = Sheet {
        file_stem: String::new(),
        about: Vec::new(),
        columns: vec![
            col("From"),
            col("To"),
            col("School"),
            col("Sessions"),
            col("Reasons"),
        ],
        rows,
    };
    layout::table(
        "Absence spells: consecutive absent sessions, by the school's own recorded sessions",
        &sheet,
        None,
        |_| None,
    )
}

fn corrections(t: &PupilTimelineResponse, school: &impl Fn(&str) -> String) -> Markup {
    if t.corrections.is_empty() && t.attribute_changes.is_empty() {
        return html! {
            h2 class="govuk-heading-m" { "Corrections" }
            p class="govuk-body" { "Nothing recorded for this pupil has been corrected in the period." }
        };
    }
    let marks = Sheet {
        file_stem: String::new(),
        about: Vec::new(),
        columns: vec![
            col("Session"),
            col("School"),
            col("Was"),
            col("Now"),
            col("Recorded"),
        ],
        rows: t
            .corrections
            .iter()
            .map(|c| {
                vec![
                    Cell::text(format!("{} {}", c.date, c.session)),
                    Cell::text(school(&c.school_urn)),
                    Cell::text(code_words(&c.before)),
                    Cell::text(code_words(&c.after)),
                    Cell::text(rfc3339(&c.recorded_at)),
                ]
            })
            .collect(),
    };
    let details = Sheet {
        file_stem: String::new(),
        about: Vec::new(),
        columns: vec![
            col("Detail"),
            col("School"),
            col("Was"),
            col("Now"),
            col("Recorded"),
        ],
        rows: t
            .attribute_changes
            .iter()
            .map(|c| {
                vec![
                    Cell::text(c.field.replace('_', " ")),
                    Cell::text(school(&c.school_urn)),
                    Cell::text(c.before.clone()),
                    Cell::text(c.after.clone()),
                    Cell::text(rfc3339(&c.recorded_at)),
                ]
            })
            .collect(),
    };
    html! {
        @if !marks.rows.is_empty() { (layout::table("Corrections: marks changed by a later feed", &marks, None, |_| None)) }
        @if !details.rows.is_empty() { (layout::table("Corrections: details changed by a later feed", &details, None, |_| None)) }
    }
}

/// "I (illness)".
fn code_words(code: &str) -> String {
    match rollcall_domain::codes::get(code) {
        Some(c) => format!("{code} ({})", c.meaning()),
        None => code.to_owned(),
    }
}

fn household(session: &Session, t: &PupilTimelineResponse, period: &Period) -> Markup {
    let household = t.household.clone().unwrap_or_default();
    if !household.has_key {
        return html! {
            p class="govuk-body" { "The pupil's school did not send a household key, so Rollcall cannot tell who the pupil lives with." }
        };
    }
    if household.members.is_empty() {
        return html! {
            p class="govuk-body" { "No other pupil you may see shares the pupil's household." }
        };
    }
    let members: Vec<_> = household.members.iter().collect();
    let sheet = Sheet {
        file_stem: String::new(),
        about: Vec::new(),
        columns: vec![
            col("Pupil"),
            col("Schools"),
            col("Possible sessions"),
            crate::sheet::pct("Attendance"),
            col("Flag"),
        ],
        rows: members
            .iter()
            .map(|m| {
                let overall = m.overall.clone().unwrap_or_default();
                let schools: Vec<String> = m
                    .enrolments
                    .iter()
                    .filter_map(|e| e.school.as_ref().map(|s| s.name.clone()))
                    .collect();
                vec![
                    Cell::text(format!("{} {}", m.forename, m.surname).trim().to_owned()),
                    Cell::text(schools.join(", ")),
                    Cell::Count(overall.possible_sessions),
                    Cell::Percent(overall.attendance_perc),
                    Cell::text(flag_words(&overall)),
                ]
            })
            .collect(),
    };
    layout::table("Other pupils of the household", &sheet, None, |r| {
        Some(link(session, &members[r].upn, period))
    })
}

fn sessions_sheet(
    t: &PupilTimelineResponse,
    school: &impl Fn(&str) -> String,
    period: &Period,
    now: chrono::DateTime<chrono::Utc>,
) -> Sheet {
    Sheet {
        // No name or UPN in a file name: it travels further than the file.
        file_stem: format!("pupil-sessions-{}", period.slug()),
        about: vec![
            ("List".into(), "A pupil's sessions".into()),
            ("Period".into(), period.describe()),
            ("Figures as at".into(), crate::format::time_and_date(now)),
        ],
        columns: vec![
            col("Date"),
            col("Session"),
            col("School"),
            col("Code"),
            col("Category"),
            col("Minutes late"),
            col("Recorded"),
        ],
        rows: t
            .weeks
            .iter()
            .flat_map(|w| &w.sessions)
            .map(|s| {
                vec![
                    Cell::text(s.date.clone()),
                    Cell::text(s.session.clone()),
                    Cell::text(school(&s.school_urn)),
                    Cell::text(code_words(&s.code)),
                    Cell::text(category_words(&s.category)),
                    Cell::text(s.minutes_late.map(|m| m.to_string()).unwrap_or_default()),
                    Cell::text(rfc3339(&s.recorded_at)),
                ]
            })
            .collect(),
    }
}
