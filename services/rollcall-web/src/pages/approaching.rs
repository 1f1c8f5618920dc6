//! Pupils approaching persistent absence: not yet at 10% of possible sessions missed, but within
//! a few more absent sessions of it, nearest first, each with why they are listed. The
//! early-intervention list, pupil-level like the at-risk list: it takes the purpose the user
//! gave (`at_risk.rs` asks for it) and every `ApproachingPersistent` call is audited with it.

use std::collections::HashMap;

use axum::extract::{OriginalUri, Path, Query, State};
use axum::response::Response;
use maud::html;
use rollcall_proto::query::v1::{
    ApproachingPersistentRequest, ApproachingPersistentResponse, ApproachingPupil,
};
use serde::Deserialize;

use super::at_risk::{Scope, explanation_words, la_name, pagination, purpose_page, school_names};
use super::pupil_list;
use super::{SignedIn, html, now, refused};
use crate::Shared;
use crate::client;
use crate::error::WebError;
use crate::format::{count, percent};
use crate::layout::{self, Nav};
use crate::period::Period;
use crate::sheet::{Cell, Format, Sheet, col, pct};

/// The horizons offered, in further absent sessions (the query service allows 1 to 20).
const HORIZONS: [u32; 4] = [2, 4, 10, 20];
const DEFAULT_WITHIN: u32 = 4;

#[derive(Deserialize, Default)]
pub struct ApproachingQuery {
    year: Option<String>,
    within: Option<u32>,
    from: Option<String>,
    #[serde(default)]
    format: Format,
}

pub async fn for_la(
    State(app): State<Shared>,
    signed: SignedIn,
    Path(la): Path<String>,
    Query(query): Query<ApproachingQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, WebError> {
    list(app, signed, Scope::La(la), query, uri).await
}

pub async fn for_school(
    State(app): State<Shared>,
    signed: SignedIn,
    Path(urn): Path<String>,
    Query(query): Query<ApproachingQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, WebError> {
    list(app, signed, Scope::School(urn), query, uri).await
}

async fn list(
    app: Shared,
    signed: SignedIn,
    scope: Scope,
    query: ApproachingQuery,
    uri: http::Uri,
) -> Result<Response, WebError> {
    let now = now();
    let period = Period::choose(query.year.as_deref(), now.date_naive())?;
    let here = super::self_link(&uri);
    let Some(purpose) = signed.session.purpose.clone() else {
        return Ok(html(purpose_page(&signed.session, &here, None)));
    };
    let within = query
        .within
        .filter(|w| HORIZONS.contains(w))
        .unwrap_or(DEFAULT_WITHIN);
    let request = |page_size: u32, page_token: String| {
        let (la_code, school_urn) = match &scope {
            Scope::La(la) => (la.clone(), String::new()),
            Scope::School(urn) => (String::new(), urn.clone()),
        };
        ApproachingPersistentRequest {
            la_code,
            school_urn,
            period: Some(period.proto()),
            within_sessions: within,
            purpose: purpose.text.clone(),
            page_size,
            page_token,
            as_at: String::new(),
        }
    };
    let offset = pupil_list::offset(query.from.as_deref());
    let client = client::query(&app.channel);
    let call = async |message: ApproachingPersistentRequest| {
        Ok::<ApproachingPersistentResponse, WebError>(
            client
                .clone()
                .approaching_persistent(client::request(&signed.user.credential, message)?)
                .await
                .map_err(|s| refused(&app, &signed.session, "ApproachingPersistent", &s))?
                .into_inner(),
        )
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
            format!(
                "Pupils approaching persistent absence in {}",
                la_name(&signed.user.role, la)
            ),
            format!("la-{la}"),
        ),
        Scope::School(urn) => (
            format!(
                "Pupils approaching persistent absence at {}",
                names
                    .get(urn)
                    .cloned()
                    .unwrap_or_else(|| format!("URN {urn}"))
            ),
            format!("school-{urn}"),
        ),
    };
    let sheet = Sheet {
        file_stem: format!("approaching-{file_scope}-{}-within-{within}", period.slug()),
        about: vec![
            ("List".into(), title.clone()),
            ("Period".into(), period.describe()),
            ("Figures as at".into(), crate::format::time_and_date(now)),
            ("Purpose recorded".into(), purpose.text.clone()),
            (
                "Listed".into(),
                format!(
                    "Pupils under 10% of possible sessions missed whom {within} more absent sessions or fewer would take to 10%."
                ),
            ),
        ],
        columns: vec![
            col("Pupil"),
            col("UPN"),
            col("Year group"),
            col("School"),
            col("Possible sessions"),
            col("Sessions missed"),
            pct("Absence"),
            col("Absent sessions to 10%"),
            col("Why listed"),
        ],
        rows: pupils.iter().map(|p| pupil_cells(p, &names)).collect(),
    };
    if let Some(download) = sheet.download(query.format) {
        tracing::info!(pupils = pupils.len(), "approaching list downloaded");
        return download;
    }
    let (previous, next) = pupil_list::page_links(&uri, offset, &answer.next_page_token);
    let year_value = if period.to_date {
        String::new()
    } else {
        period.year.start_year().to_string()
    };
    let within_text = within.to_string();
    let content = html! {
        h1 class="govuk-heading-l" { (title) }
        (period.form(now.date_naive(), &[("within", within_text.as_str())]))
        (layout::as_of(now))
        div class="govuk-inset-text" {
            "Your purpose (given at " (crate::format::time_and_date(purpose.given)) "), recorded with this view: " strong { (purpose.text) } "."
        }
        (layout::summary_list(&[
            ("Approaching persistent absence", format!("{} pupils within {within} absent sessions of 10%", count(answer.approaching_count))),
        ]))
        details class="govuk-details" {
            summary class="govuk-details__summary" {
                span class="govuk-details__summary-text" { "Who is on this list" }
            }
            div class="govuk-details__text" {
                p class="govuk-body" { "Pupils who have missed at least one session but less than 10% of the sessions they could have attended in the period, and whom a few more absent sessions would take to 10% (the DfE's persistent absence)." }
                p class="govuk-body" { "Absent sessions to 10% is the fewest further absent sessions that would make the pupil persistently absent. Nearest first." }
            }
        }
        form method="get" class="rollcall-filter-form" {
            @if !year_value.is_empty() { input type="hidden" name="year" value=(year_value); }
            div class="govuk-form-group" {
                label class="govuk-label govuk-label--s" for="within" { "Within this many absent sessions of 10%" }
                select class="govuk-select" id="within" name="within" {
                    @for h in HORIZONS {
                        option value=(h) selected[h == within] { (h) " sessions" }
                    }
                }
            }
            button type="submit" class="govuk-button govuk-button--secondary" data-module="govuk-button" { "Show pupils" }
        }
        @if sheet.rows.is_empty() {
            p class="govuk-body" { "No pupils are this close to persistent absence in the period." }
        } @else {
            (layout::table(
                &format!("Pupils {} to {} of {}, nearest to 10% first", offset + 1, offset + sheet.rows.len() as u64, count(answer.approaching_count)),
                &sheet,
                None,
                |r| Some(super::pupil::link(&signed.session, pupils[r].pupil.as_ref().map_or("", |p| p.upn.as_str()), &period)),
            ))
        }
        (pagination(previous.as_deref(), next.as_deref()))
        (layout::downloads(&here, &format!("the whole list ({} pupils; each download is recorded with your purpose)", count(answer.approaching_count))))
    };
    Ok(pupil_list::no_referrer(html(layout::page(
        &signed.session,
        Nav::Approaching,
        &title,
        content,
    ))))
}

fn pupil_cells(row: &ApproachingPupil, names: &HashMap<String, String>) -> Vec<Cell> {
    let p = row.pupil.clone().unwrap_or_default();
    let mut why = format!(
        "Missed {} of {} possible sessions ({}); {} more absent sessions would reach 10%.",
        count(p.overall_absence),
        count(p.possible_sessions),
        percent(p.overall_absence_perc),
        count(u64::from(row.sessions_to_persistent)),
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
        Cell::Percent(p.overall_absence_perc),
        Cell::Count(u64::from(row.sessions_to_persistent)),
        Cell::text(why),
    ]
}

#[cfg(test)]
mod tests {
    use rollcall_proto::query::v1::AtRiskPupil;

    use super::*;

    #[test]
    fn each_row_says_how_near_it_is() {
        let row = ApproachingPupil {
            pupil: Some(AtRiskPupil {
                school_urn: "140001".into(),
                forename: "Ada".into(),
                surname: "Lovelace".into(),
                possible_sessions: 60,
                overall_absence: 3,
                overall_absence_perc: 5.0,
                ..Default::default()
            }),
            sessions_to_persistent: 4,
        };
        let names = HashMap::from([("140001".to_owned(), "Kenilworth Primary School".to_owned())]);
        let cells = pupil_cells(&row, &names);
        assert_eq!(cells[3], Cell::text("Kenilworth Primary School"));
        assert_eq!(cells[7], Cell::Count(4));
        assert_eq!(
            cells[8],
            Cell::text(
                "Missed 3 of 60 possible sessions (5.0%); 4 more absent sessions would reach 10%."
            )
        );
    }
}
