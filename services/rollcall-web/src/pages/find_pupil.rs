//! Finding a pupil in any school the user may see: by whole UPN, by surname and date of birth,
//! or by forename and surname (`FindPupils`; no search by part of a UPN). The form is posted, so
//! what was searched for never appears in a URL; each pupil found links to their page by an
//! opaque reference. Pupil-level, so after the purpose, recorded with each search.

use axum::Form;
use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use rollcall_proto::query::v1::{FindPupilsRequest, FoundPupil};
use serde::Deserialize;

use super::at_risk::purpose_page;
use super::pupil_list::no_referrer;
use super::{SignedIn, check_csrf, html};
use crate::Shared;
use crate::client;
use crate::error::WebError;
use crate::layout::{self, Nav};
use crate::session::Session;
use crate::sheet::{Cell, Sheet, col};

const TITLE: &str = "Find a pupil";

pub async fn form(signed: SignedIn) -> Result<Response, WebError> {
    if signed.session.purpose.is_none() {
        return Ok(html(purpose_page(&signed.session, "/pupils/find", None)));
    }
    Ok(page(&signed.session, &Search::default(), None, None))
}

#[derive(Deserialize, Default)]
pub struct Search {
    csrf: Option<String>,
    #[serde(default)]
    upn: String,
    #[serde(default)]
    forename: String,
    #[serde(default)]
    surname: String,
    #[serde(default)]
    date_of_birth: String,
}

pub async fn search(
    State(app): State<Shared>,
    signed: SignedIn,
    Form(search): Form<Search>,
) -> Result<Response, WebError> {
    check_csrf(&signed.session, search.csrf.as_deref())?;
    let Some(purpose) = signed.session.purpose.clone() else {
        return Ok(html(purpose_page(&signed.session, "/pupils/find", None)));
    };
    let (upn, forename, surname, dob) = (
        search.upn.trim(),
        search.forename.trim(),
        search.surname.trim(),
        search.date_of_birth.trim(),
    );
    let enough =
        !upn.is_empty() || (!surname.is_empty() && (!dob.is_empty() || !forename.is_empty()));
    if !enough {
        let mut response = page(
            &signed.session,
            &search,
            None,
            Some("Enter a whole UPN, or a surname with a date of birth or a forename"),
        );
        *response.status_mut() = http::StatusCode::BAD_REQUEST;
        return Ok(response);
    }
    let answer = client::query(&app.channel)
        .find_pupils(client::request(
            &signed.user.credential,
            FindPupilsRequest {
                upn: upn.to_owned(),
                surname: surname.to_owned(),
                date_of_birth: dob.to_owned(),
                forename: forename.to_owned(),
                purpose: purpose.text.clone(),
            },
        )?)
        .await;
    match answer {
        Ok(found) => Ok(page(
            &signed.session,
            &search,
            Some(&found.into_inner().pupils),
            None,
        )),
        // What was typed does not make a search (a UPN of the wrong shape, a date that is not
        // one): the service's reason, beside the form.
        Err(status) if status.code() == tonic::Code::InvalidArgument => {
            let mut response = page(&signed.session, &search, None, Some(status.message()));
            *response.status_mut() = http::StatusCode::BAD_REQUEST;
            Ok(response)
        }
        Err(status) => Err(super::refused(&app, &signed.session, "FindPupils", &status)),
    }
}

fn page(
    session: &Session,
    search: &Search,
    found: Option<&[FoundPupil]>,
    error: Option<&str>,
) -> Response {
    let content = html! {
        div class="govuk-grid-row" {
            div class="govuk-grid-column-two-thirds" {
                (layout::error_summary(error, "upn"))
                h1 class="govuk-heading-l" { (TITLE) }
                p class="govuk-body" { "Search every school you may see, independent schools included. Each search is recorded with your purpose." }
                form method="post" action="/pupils/find" novalidate {
                    (layout::csrf_field(session))
                    (field("upn", "UPN", "The whole unique pupil number, 13 characters. Part of a UPN finds nobody.", &search.upn, error.is_some()))
                    p class="govuk-body" { "Or" }
                    (field("surname", "Surname", "", &search.surname, false))
                    (field("forename", "Forename", "With the surname, when you do not know the date of birth.", &search.forename, false))
                    (field("date_of_birth", "Date of birth", "As YYYY-MM-DD, for example 2014-03-02.", &search.date_of_birth, false))
                    button type="submit" class="govuk-button" data-module="govuk-button" { "Search" }
                }
            }
        }
        @if let Some(found) = found {
            (results(session, found))
        }
    };
    no_referrer(html(layout::page(session, Nav::FindPupil, TITLE, content)))
}

fn field(name: &str, label: &str, hint: &str, value: &str, error: bool) -> Markup {
    let hint_id = format!("{name}-hint");
    html! {
        div class=(if error { "govuk-form-group govuk-form-group--error" } else { "govuk-form-group" }) {
            label class="govuk-label" for=(name) { (label) }
            @if !hint.is_empty() { div id=(hint_id) class="govuk-hint" { (hint) } }
            input class="govuk-input govuk-!-width-one-half" id=(name) name=(name) type="text"
                value=(value) autocomplete="off" spellcheck="false"
                aria-describedby=[(!hint.is_empty()).then_some(&hint_id)];
        }
    }
}

fn results(session: &Session, found: &[FoundPupil]) -> Markup {
    if found.is_empty() {
        return html! {
            h2 class="govuk-heading-m" { "No pupils found" }
            p class="govuk-body" { "No pupil in the schools you may see matches. Check the spelling, or search by UPN." }
        };
    }
    let sheet = Sheet {
        file_stem: String::new(),
        about: Vec::new(),
        columns: vec![col("Pupil"), col("Date of birth"), col("Schools")],
        rows: found
            .iter()
            .map(|p| {
                let schools: Vec<String> = p
                    .enrolments
                    .iter()
                    .filter_map(|e| {
                        let school = e.school.as_ref()?;
                        Some(if e.leaving_date.is_empty() {
                            school.name.clone()
                        } else {
                            format!("{} (left {})", school.name, e.leaving_date)
                        })
                    })
                    .collect();
                vec![
                    Cell::text(format!("{} {}", p.forename, p.surname).trim().to_owned()),
                    Cell::text(p.date_of_birth.clone()),
                    Cell::text(schools.join(", ")),
                ]
            })
            .collect(),
    };
    layout::table(
        &match found.len() {
            1 => "1 pupil found".to_owned(),
            n => format!("{n} pupils found"),
        },
        &sheet,
        None,
        |r| {
            Some(format!(
                "/pupils/{}",
                session.pupil_reference(&found[r].upn)
            ))
        },
    )
}
