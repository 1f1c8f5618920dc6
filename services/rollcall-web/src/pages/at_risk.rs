//! Pupils at risk: persistent (10% or more of possible sessions missed) and severe (50% or more)
//! absence, for an LA or a school, worst first, each with why it is flagged. Pupil-level, so the
//! user first says why they need the details; that purpose goes with every `AtRiskPupils` call
//! and the query service records it in the audit trail with who asked and which pupils it
//! returned. Pupils are never named in a URL: the page is addressed by the LA or school.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use rollcall_proto::query::v1::{
    AtRiskPupil, AtRiskPupilsRequest, AtRiskPupilsResponse, FlagExplanation, ListSchoolsRequest,
    RiskLevel, Trend,
};
use serde::Deserialize;

use super::pupil_list;
use super::{SignedIn, check_csrf, html, now, refused};
use crate::Shared;
use crate::client;
use crate::error::WebError;
use crate::format::{count, percent};
use crate::layout::{self, Nav};
use crate::period::Period;
use crate::session::{Purpose, Role, Session};
use crate::sheet::{Cell, Format, Sheet, col, pct};

/// The most a purpose may say (the query service's limit).
const MAX_PURPOSE: usize = 500;

#[derive(Deserialize, Default)]
pub struct AtRiskQuery {
    year: Option<String>,
    level: Option<String>,
    from: Option<String>,
    #[serde(default)]
    format: Format,
}

/// Whose pupils a page lists.
pub(super) enum Scope {
    La(String),
    School(String),
}

pub async fn for_la(
    State(app): State<Shared>,
    signed: SignedIn,
    Path(la): Path<String>,
    Query(query): Query<AtRiskQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, WebError> {
    list(app, signed, Scope::La(la), query, uri).await
}

pub async fn for_school(
    State(app): State<Shared>,
    signed: SignedIn,
    Path(urn): Path<String>,
    Query(query): Query<AtRiskQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, WebError> {
    list(app, signed, Scope::School(urn), query, uri).await
}

async fn list(
    app: Shared,
    signed: SignedIn,
    scope: Scope,
    query: AtRiskQuery,
    uri: http::Uri,
) -> Result<Response, WebError> {
    let now = now();
    let period = Period::choose(query.year.as_deref(), now.date_naive())?;
    let here = super::self_link(&uri);
    let Some(purpose) = signed.session.purpose.clone() else {
        return Ok(html(purpose_page(&signed.session, &here, None)));
    };
    let severe_only = query.level.as_deref() == Some("severe");
    let request = |page_size: u32, page_token: String| {
        let (la_code, school_urn) = match &scope {
            Scope::La(la) => (la.clone(), String::new()),
            Scope::School(urn) => (String::new(), urn.clone()),
        };
        AtRiskPupilsRequest {
            as_at: String::new(),
            la_code,
            school_urn,
            period: Some(period.proto()),
            level: if severe_only {
                RiskLevel::Severe
            } else {
                RiskLevel::Persistent
            } as i32,
            purpose: purpose.text.clone(),
            page_size,
            page_token,
        }
    };
    let offset = pupil_list::offset(query.from.as_deref());
    let client = client::query(&app.channel);
    let call = async |message: AtRiskPupilsRequest| -> Result<AtRiskPupilsResponse, WebError> {
        Ok(client
            .clone()
            .at_risk_pupils(client::request(&signed.user.credential, message)?)
            .await
            .map_err(|s| refused(&app, &signed.session, "AtRiskPupils", &s))?
            .into_inner())
    };
    let mut pages = pupil_list::Pages::new(query.format, offset);
    let mut pupils = Vec::new();
    let answer = loop {
        let (size, token) = pages.request();
        let answer = call(request(size, token)).await?;
        pupils.extend(answer.pupils.iter().cloned());
        if !pages.advance(&answer.next_page_token) {
            break answer;
        }
    };
    let names = school_names(&app, &signed, &scope).await?;
    let (title, file_scope) = match &scope {
        Scope::La(la) => (
            format!("Pupils at risk in {}", la_name(&signed.user.role, la)),
            format!("la-{la}"),
        ),
        Scope::School(urn) => (
            format!(
                "Pupils at risk at {}",
                names
                    .get(urn)
                    .cloned()
                    .unwrap_or_else(|| format!("URN {urn}"))
            ),
            format!("school-{urn}"),
        ),
    };
    let sheet = Sheet {
        file_stem: format!(
            "at-risk-{file_scope}-{}{}",
            period.slug(),
            if severe_only { "-severe" } else { "" }
        ),
        about: vec![
            ("List".into(), title.clone()),
            ("Period".into(), period.describe()),
            ("Figures as at".into(), crate::format::time_and_date(now)),
            ("Purpose recorded".into(), purpose.text.clone()),
            (
                "Flags".into(),
                "Persistent: 10% or more of possible sessions missed. Severe: 50% or more.".into(),
            ),
        ],
        columns: vec![
            col("Pupil"),
            col("UPN"),
            col("Year group"),
            col("School"),
            col("Possible sessions"),
            col("Sessions missed"),
            col("Authorised"),
            col("Unauthorised"),
            pct("Absence"),
            col("Flag"),
            col("Why flagged"),
        ],
        rows: pupils.iter().map(|p| pupil_cells(p, &names)).collect(),
    };
    if let Some(download) = sheet.download(query.format) {
        tracing::info!(pupils = pupils.len(), "at-risk list downloaded");
        return download;
    }
    let listed = if severe_only {
        answer.severe_count
    } else {
        answer.persistent_count
    };
    let (previous, next) = pupil_list::page_links(&uri, offset, &answer.next_page_token);
    let year_value = if period.to_date {
        String::new()
    } else {
        period.year.start_year().to_string()
    };
    let content = html! {
        h1 class="govuk-heading-l" { (title) }
        (period.form(now.date_naive(), &[("level", query.level.as_deref().unwrap_or(""))]))
        (layout::as_of(now))
        div class="govuk-inset-text" {
            "Your purpose (given at " (crate::format::time_and_date(purpose.given)) "), recorded with this view: " strong { (purpose.text) } ". "
            form method="post" action="/purpose/change" class="rollcall-inline-form" {
                (layout::csrf_field(&signed.session))
                input type="hidden" name="return_to" value=(here);
                button type="submit" class="govuk-button govuk-button--secondary rollcall-small-button" data-module="govuk-button" { "Change purpose" }
            }
        }
        (layout::summary_list(&[
            ("Persistently absent", format!("{} pupils (10% or more of possible sessions missed)", count(answer.persistent_count))),
            ("Of whom severely absent", format!("{} pupils (50% or more)", count(answer.severe_count))),
        ]))
        details class="govuk-details" {
            summary class="govuk-details__summary" {
                span class="govuk-details__summary-text" { "What the flags mean" }
            }
            div class="govuk-details__text" {
                p class="govuk-body" { strong { "Persistent" } ": the pupil missed 10% or more of the sessions they could have attended in the period (the DfE's persistent absence)." }
                p class="govuk-body" { strong { "Severe" } ": the pupil missed 50% or more (the DfE's severe absence). Severe pupils are persistent too." }
                p class="govuk-body" { "Missed sessions are authorised and unauthorised absence together. Approved educational activity counts as attending." }
            }
        }
        form method="get" class="rollcall-filter-form" {
            @if !year_value.is_empty() { input type="hidden" name="year" value=(year_value); }
            div class="govuk-form-group" {
                fieldset class="govuk-fieldset" {
                    legend class="govuk-fieldset__legend govuk-fieldset__legend--s" { "Show" }
                    div class="govuk-radios govuk-radios--small govuk-radios--inline" data-module="govuk-radios" {
                        div class="govuk-radios__item" {
                            input class="govuk-radios__input" id="level" name="level" type="radio" value="persistent" checked[!severe_only];
                            label class="govuk-label govuk-radios__label" for="level" { "Persistent and severe" }
                        }
                        div class="govuk-radios__item" {
                            input class="govuk-radios__input" id="level-severe" name="level" type="radio" value="severe" checked[severe_only];
                            label class="govuk-label govuk-radios__label" for="level-severe" { "Severe only" }
                        }
                    }
                }
            }
            button type="submit" class="govuk-button govuk-button--secondary" data-module="govuk-button" { "Show pupils" }
        }
        @if sheet.rows.is_empty() {
            p class="govuk-body" { "No pupils are at this level of absence in the period." }
        } @else {
            (layout::table(
                &format!("Pupils {} to {} of {}, most absent first", offset + 1, offset + sheet.rows.len() as u64, count(listed)),
                &sheet,
                None,
                |r| Some(super::pupil::link(&signed.session, &pupils[r].upn, &period)),
            ))
        }
        (pagination(previous.as_deref(), next.as_deref()))
        (layout::downloads(&here, &format!("the whole list ({} pupils; each download is recorded with your purpose)", count(listed))))
    };
    Ok(pupil_list::no_referrer(html(layout::page(
        &signed.session,
        Nav::AtRisk,
        &title,
        content,
    ))))
}

pub(super) fn la_name(role: &Role, la: &str) -> String {
    match role {
        Role::La { code, name } if code == la => name.clone(),
        _ => format!("LA {la}"),
    }
}

/// The schools' names, for the list (the at-risk answer names a pupil's school by URN).
pub(super) async fn school_names(
    app: &Shared,
    signed: &SignedIn,
    scope: &Scope,
) -> Result<HashMap<String, String>, WebError> {
    let la_code = match scope {
        Scope::La(la) => la.clone(),
        Scope::School(_) => String::new(),
    };
    let schools = client::registry(&app.channel)
        .list_schools(client::request(
            &signed.user.credential,
            ListSchoolsRequest { la_code },
        )?)
        .await
        .map_err(|s| refused(app, &signed.session, "ListSchools", &s))?
        .into_inner()
        .schools;
    Ok(schools.into_iter().map(|s| (s.urn, s.name)).collect())
}

fn pupil_cells(p: &AtRiskPupil, names: &HashMap<String, String>) -> Vec<Cell> {
    let mut why = format!(
        "Missed {} of {} possible sessions ({}): {}.",
        count(p.overall_absence),
        count(p.possible_sessions),
        percent(p.overall_absence_perc),
        if p.severe {
            "50% or more is severe absence"
        } else {
            "10% or more is persistent absence"
        }
    );
    if let Some(x) = &p.explanation {
        why.push(' ');
        why.push_str(&explanation_words(x));
    }
    vec![
        Cell::text(format!("{} {}", p.forename, p.surname).trim().to_owned()),
        Cell::text(p.upn.clone()),
        Cell::text(p.year_group.clone()),
        Cell::text(
            names
                .get(&p.school_urn)
                .cloned()
                .unwrap_or_else(|| p.school_urn.clone()),
        ),
        Cell::Count(p.possible_sessions),
        Cell::Count(p.overall_absence),
        Cell::Count(p.authorised_absence),
        Cell::Count(p.unauthorised_absence),
        Cell::Percent(p.overall_absence_perc),
        if p.severe {
            Cell::Tag("Severe".into(), "red")
        } else {
            Cell::Tag("Persistent".into(), "orange")
        },
        Cell::text(why),
    ]
}

/// The explanation of a flag in words: the spell running now, the last four weeks against the
/// period, and the absences by code, most first.
pub(super) fn explanation_words(x: &FlagExplanation) -> String {
    let mut words = Vec::new();
    if let Some(spell) = &x.current_spell {
        words.push(format!(
            "Absent for the last {} sessions, since {} {}.",
            count(spell.sessions),
            spell.first_date,
            spell.first_session
        ));
    }
    let trend = match x.trend() {
        Trend::Worsening => ", worse than before",
        Trend::Improving => ", better than before",
        Trend::Steady => ", about as before",
        Trend::TooSoon | Trend::Unspecified => "",
    };
    words.push(format!(
        "Last 4 weeks: {} of {} missed ({}){trend}.",
        count(x.recent_overall_absence),
        count(x.recent_possible_sessions),
        percent(x.recent_overall_absence_perc),
    ));
    let mut codes: Vec<(&String, &u64)> = x.absence_by_code.iter().collect();
    codes.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    if !codes.is_empty() {
        let reasons: Vec<String> = codes
            .iter()
            .map(|(code, n)| {
                let meaning = rollcall_domain::codes::get(code)
                    .map(|c| c.meaning())
                    .unwrap_or("");
                format!("{} {code} ({meaning})", count(**n))
            })
            .collect();
        words.push(format!("Absences by reason: {}.", reasons.join("; ")));
    }
    words.join(" ")
}

pub(super) fn pagination(previous: Option<&str>, next: Option<&str>) -> Markup {
    html! {
        @if previous.is_some() || next.is_some() {
            nav class="govuk-pagination govuk-pagination--block" aria-label="Pages of pupils" {
                @if let Some(href) = previous {
                    div class="govuk-pagination__prev" {
                        a class="govuk-link govuk-pagination__link" href=(href) rel="prev" {
                            span class="govuk-pagination__link-title" { "Previous" span class="govuk-visually-hidden" { " page" } }
                        }
                    }
                }
                @if let Some(href) = next {
                    div class="govuk-pagination__next" {
                        a class="govuk-link govuk-pagination__link" href=(href) rel="next" {
                            span class="govuk-pagination__link-title" { "Next" span class="govuk-visually-hidden" { " page" } }
                        }
                    }
                }
            }
        }
    }
}

pub(super) fn purpose_page(session: &Session, return_to: &str, error: Option<&str>) -> Markup {
    let content = html! {
        div class="govuk-grid-row" {
            div class="govuk-grid-column-two-thirds" {
                (layout::error_summary(error, "purpose"))
                form method="post" action="/purpose" novalidate {
                    (layout::csrf_field(session))
                    input type="hidden" name="return_to" value=(return_to);
                    div class=(if error.is_some() { "govuk-form-group govuk-form-group--error" } else { "govuk-form-group" }) {
                        h1 class="govuk-label-wrapper" {
                            label class="govuk-label govuk-label--l" for="purpose" { "Why do you need these pupils' details?" }
                        }
                        div id="purpose-hint" class="govuk-hint" {
                            "The next page names pupils. What you write here is recorded with each view, with who you are and which pupils you saw, and the school can see it. For example, \"weekly attendance review\". Do not write a pupil's name."
                        }
                        @if let Some(error) = error {
                            p id="purpose-error" class="govuk-error-message" { span class="govuk-visually-hidden" { "Error: " } (error) }
                        }
                        textarea class=(if error.is_some() { "govuk-textarea govuk-textarea--error" } else { "govuk-textarea" })
                            id="purpose" name="purpose" rows="3" maxlength=(MAX_PURPOSE)
                            aria-describedby=(if error.is_some() { "purpose-hint purpose-error" } else { "purpose-hint" }) {}
                    }
                    button type="submit" class="govuk-button" data-module="govuk-button" { "Continue" }
                }
            }
        }
    };
    layout::page(
        session,
        Nav::AtRisk,
        "Why do you need these pupils' details?",
        content,
    )
}

#[derive(Deserialize)]
pub struct PurposeForm {
    csrf: Option<String>,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    return_to: String,
}

pub async fn give_purpose(
    State(app): State<Shared>,
    signed: SignedIn,
    Form(form): Form<PurposeForm>,
) -> Result<Response, WebError> {
    check_csrf(&signed.session, form.csrf.as_deref())?;
    let return_to = local_path(&form.return_to);
    let purpose = form.purpose.trim();
    let problem = match purpose.chars().count() {
        0 => Some("Enter why you need these pupils' details".to_owned()),
        n if n > MAX_PURPOSE => Some(format!(
            "Your purpose must be {MAX_PURPOSE} characters or fewer"
        )),
        _ => None,
    };
    if let Some(problem) = problem {
        let mut response = html(purpose_page(&signed.session, &return_to, Some(&problem)));
        *response.status_mut() = http::StatusCode::BAD_REQUEST;
        return Ok(response);
    }
    app.sessions.set_purpose(
        &signed.session.id,
        Some(Purpose {
            text: purpose.to_owned(),
            given: chrono::Utc::now(),
        }),
    );
    Ok(Redirect::to(&return_to).into_response())
}

#[derive(Deserialize)]
pub struct ChangeForm {
    csrf: Option<String>,
    #[serde(default)]
    return_to: String,
}

pub async fn change_purpose(
    State(app): State<Shared>,
    signed: SignedIn,
    Form(form): Form<ChangeForm>,
) -> Result<Response, WebError> {
    check_csrf(&signed.session, form.csrf.as_deref())?;
    app.sessions.set_purpose(&signed.session.id, None);
    Ok(Redirect::to(&local_path(&form.return_to)).into_response())
}

/// A path on this site to go back to; anything else (another host, `//host`) becomes `/`.
fn local_path(path: &str) -> String {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control);
    if ok { path.to_owned() } else { "/".to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_send_users_back_only_to_this_site() {
        assert_eq!(
            local_path("/las/937/at-risk?year=2025"),
            "/las/937/at-risk?year=2025"
        );
        assert_eq!(local_path("//evil.example"), "/");
        assert_eq!(local_path("https://evil.example"), "/");
        assert_eq!(local_path("/\\evil.example"), "/");
    }

    #[test]
    fn each_flag_says_why() {
        let pupil = AtRiskPupil {
            school_urn: "140001".into(),
            upn: "A123".into(),
            forename: "Ada".into(),
            surname: "Lovelace".into(),
            year_group: "6".into(),
            possible_sessions: 60,
            overall_absence: 33,
            authorised_absence: 30,
            unauthorised_absence: 3,
            overall_absence_perc: 55.0,
            severe: true,
            ..Default::default()
        };
        let names = HashMap::from([("140001".to_owned(), "Kenilworth Primary School".to_owned())]);
        let cells = pupil_cells(&pupil, &names);
        assert_eq!(cells[0], Cell::text("Ada Lovelace"));
        assert_eq!(cells[3], Cell::text("Kenilworth Primary School"));
        assert_eq!(cells[9], Cell::Tag("Severe".into(), "red"));
        assert_eq!(
            cells[10],
            Cell::text("Missed 33 of 60 possible sessions (55.0%): 50% or more is severe absence.")
        );
        let explained = AtRiskPupil {
            explanation: Some(FlagExplanation {
                absence_by_code: HashMap::from([("I".to_owned(), 30), ("N".to_owned(), 3)]),
                current_spell: Some(rollcall_proto::query::v1::AbsenceSpell {
                    first_date: "2025-10-06".into(),
                    first_session: "AM".into(),
                    sessions: 4,
                    ..Default::default()
                }),
                recent_possible_sessions: 40,
                recent_overall_absence: 30,
                recent_overall_absence_perc: 75.0,
                trend: Trend::Worsening.into(),
                ..Default::default()
            }),
            ..pupil
        };
        let Cell::Text(why) = &pupil_cells(&explained, &names)[10] else {
            panic!("text");
        };
        assert!(why.ends_with(
            "Absent for the last 4 sessions, since 2025-10-06 AM. Last 4 weeks: 30 of 40 missed (75.0%), worse than before. Absences by reason: 30 I (Illness (not medical or dental appointment)); 3 N (Reason for absence not yet established)."
        ), "{why}");
    }
}
