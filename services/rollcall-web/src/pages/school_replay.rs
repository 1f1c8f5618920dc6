//! Operations: a school's feeds run through validation again (`RequestSchoolReplay`,
//! `GetSchoolReplay`), once what rejected their records is fixed: a form to ask for a dry run or
//! a replay, and the replay's page with what changes (or would) in the tables. Counts only:
//! never a value a record carried.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use rollcall_proto::query::v1::{GetSchoolReplayRequest, RequestSchoolReplayRequest, SchoolReplay};
use serde::Deserialize;

use super::{SignedIn, check_csrf, html, refused};
use crate::Shared;
use crate::client;
use crate::error::WebError;
use crate::format;
use crate::layout::{self, Nav};
use crate::sheet::{Cell, Sheet, col};

const TITLE: &str = "Replay a school's feeds";

pub async fn form(signed: SignedIn) -> Response {
    html(page(&signed, None))
}

fn page(signed: &SignedIn, error: Option<&str>) -> Markup {
    let content = html! {
        div class="govuk-grid-row" {
            div class="govuk-grid-column-two-thirds" {
                (layout::error_summary(error, "school"))
                h1 class="govuk-heading-l" { (TITLE) }
                p class="govuk-body" {
                    "Once what rejected a school's records is fixed (the school added to the registry, a sender's clock put right), its feeds can be validated again as now, from where the broker still holds them (a week by default). A dry run shows what would change and changes nothing."
                }
                form method="post" action="/operations/replays" novalidate {
                    (layout::csrf_field(&signed.session))
                    div class=(if error.is_some() { "govuk-form-group govuk-form-group--error" } else { "govuk-form-group" }) {
                        label class="govuk-label" for="school" { "School URN" }
                        input class="govuk-input govuk-input--width-10" id="school" name="school" type="text" inputmode="numeric" autocomplete="off";
                    }
                    div class="govuk-form-group" {
                        label class="govuk-label" for="from" { "Feeds received from (optional)" }
                        div id="from-hint" class="govuk-hint" { "As YYYY-MM-DD. Leave it empty for every feed the broker holds." }
                        input class="govuk-input govuk-input--width-10" id="from" name="from" type="text" autocomplete="off" aria-describedby="from-hint";
                    }
                    div class="govuk-form-group" {
                        div class="govuk-checkboxes govuk-checkboxes--small" data-module="govuk-checkboxes" {
                            div class="govuk-checkboxes__item" {
                                input class="govuk-checkboxes__input" id="dry_run" name="dry_run" type="checkbox" value="yes" checked;
                                label class="govuk-label govuk-checkboxes__label" for="dry_run" { "Dry run: only show what would change" }
                            }
                        }
                    }
                    button type="submit" class="govuk-button" data-module="govuk-button" { "Ask for the replay" }
                }
            }
        }
    };
    layout::page(&signed.session, Nav::Replays, TITLE, content)
}

#[derive(Deserialize)]
pub struct ReplayForm {
    csrf: Option<String>,
    #[serde(default)]
    school: String,
    #[serde(default)]
    from: String,
    dry_run: Option<String>,
}

pub async fn ask(
    State(app): State<Shared>,
    signed: SignedIn,
    Form(form): Form<ReplayForm>,
) -> Result<Response, WebError> {
    check_csrf(&signed.session, form.csrf.as_deref())?;
    let asked = client::pipeline(&app.channel)
        .request_school_replay(client::request(
            &signed.user.credential,
            RequestSchoolReplayRequest {
                school_urn: form.school.trim().to_owned(),
                from: form.from.trim().to_owned(),
                dry_run: form.dry_run.is_some(),
            },
        )?)
        .await;
    match asked {
        Ok(answer) => Ok(
            Redirect::to(&format!("/operations/replays/{}", answer.into_inner().id))
                .into_response(),
        ),
        Err(status) if status.code() == tonic::Code::InvalidArgument => {
            let mut response = html(page(&signed, Some(status.message())));
            *response.status_mut() = http::StatusCode::BAD_REQUEST;
            Ok(response)
        }
        Err(status) => Err(refused(
            &app,
            &signed.session,
            "RequestSchoolReplay",
            &status,
        )),
    }
}

pub async fn show(
    State(app): State<Shared>,
    signed: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let replay = client::pipeline(&app.channel)
        .get_school_replay(client::request(
            &signed.user.credential,
            GetSchoolReplayRequest { id },
        )?)
        .await
        .map_err(|s| refused(&app, &signed.session, "GetSchoolReplay", &s))?
        .into_inner();
    let title = format!(
        "{} {} of school {}",
        if replay.dry_run { "Dry run" } else { "Replay" },
        replay.id,
        replay.school_urn
    );
    let content = html! {
        h1 class="govuk-heading-l" { (title) }
        (layout::summary_list(&[
            ("State", state_words(&replay)),
            ("Feeds", if replay.from.is_empty() { "every feed the broker holds".to_owned() } else { format!("received from {}", replay.from) }),
            ("Asked for", format::rfc3339(&replay.requested_at)),
        ]))
        @match replay.status.as_str() {
            "done" => { (changes(&replay)) }
            "failed" => { p class="govuk-body" { "It failed: " (replay.error) } }
            _ => {
                p class="govuk-body" { "The validator takes a replay within seconds. " a class="govuk-link" href=(format!("/operations/replays/{}", replay.id)) { "Refresh this page" } " to see it." }
            }
        }
        p class="govuk-body" { a class="govuk-link" href="/operations/replays" { "Ask for another replay" } }
    };
    Ok(html(layout::page(
        &signed.session,
        Nav::Replays,
        &title,
        content,
    )))
}

fn state_words(r: &SchoolReplay) -> String {
    match r.status.as_str() {
        "done" if !r.dry_run && r.feeds_applied < r.feeds_read => format!(
            "validated again; the aggregator has applied {} of {} feeds",
            r.feeds_applied, r.feeds_read
        ),
        "done" if !r.dry_run => "done: applied".to_owned(),
        "done" => "done: nothing was changed".to_owned(),
        "failed" => "failed".to_owned(),
        _ => "waiting for the validator".to_owned(),
    }
}

fn changes(r: &SchoolReplay) -> Markup {
    let verb = if r.dry_run { "Would change" } else { "Changes" };
    let codes: Vec<String> = r
        .sessions_by_code
        .iter()
        .map(|d| format!("{} {:+}", d.code, d.sessions))
        .collect();
    let feeds = Sheet {
        file_stem: String::new(),
        about: Vec::new(),
        columns: vec![
            col("Feed"),
            col("Received"),
            col("Marks accepted before"),
            col("Marks accepted now"),
            col("Sessions written"),
            col("Refused by the database"),
        ],
        rows: r
            .feeds
            .iter()
            .map(|f| {
                let (before, after) = (f.before.unwrap_or_default(), f.after.unwrap_or_default());
                vec![
                    Cell::text(f.feed_id.clone()),
                    Cell::text(format::rfc3339(&f.received_at)),
                    Cell::Count(before.marks_accepted),
                    Cell::Count(after.marks_accepted),
                    Cell::Count(f.marks_written),
                    Cell::text(f.refused.clone()),
                ]
            })
            .collect(),
    };
    html! {
        h2 class="govuk-heading-m" { (verb) }
        (layout::summary_list(&[
            ("Feeds", format!("{} found, {} read back, {} no longer held by the broker", r.feeds_found, r.feeds_read, r.feeds_gone)),
            ("Sessions written", format::count(r.marks_written)),
            ("Enrolments", format!("{} added, {} changed", r.enrolments_added, r.enrolments_changed)),
            ("Sessions by code", if codes.is_empty() { "no change".to_owned() } else { codes.join(", ") }),
        ]))
        @if !feeds.rows.is_empty() {
            (layout::table("Each feed, first validated and now", &feeds, None, |_| None))
        }
    }
}
