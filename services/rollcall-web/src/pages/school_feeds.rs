//! Operations: each school's feeds (`SchoolStatus`) for an LA chosen from the registry: quiet
//! schools first (no feed for one or more of their register days, by their calendars), the last
//! feed and its sender, the latest register date held, and feeds not yet queryable. Times and
//! counts only: no school's attendance figures.

use std::collections::BTreeSet;

use axum::extract::{OriginalUri, Query, State};
use axum::response::Response;
use maud::html;
use rollcall_proto::query::v1::{ListSchoolsRequest, SchoolStatusRequest};
use serde::Deserialize;

use super::{SignedIn, html, now, refused};
use crate::Shared;
use crate::client;
use crate::error::WebError;
use crate::format;
use crate::layout::{self, Nav};
use crate::sheet::{Cell, Format, Sheet, col};

#[derive(Deserialize, Default)]
pub struct SchoolFeedsQuery {
    la: Option<String>,
    #[serde(default)]
    format: Format,
}

pub async fn page(
    State(app): State<Shared>,
    signed: SignedIn,
    Query(query): Query<SchoolFeedsQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, WebError> {
    let now = now();
    let schools = client::registry(&app.channel)
        .list_schools(client::request(
            &signed.user.credential,
            ListSchoolsRequest::default(),
        )?)
        .await
        .map_err(|s| refused(&app, &signed.session, "ListSchools", &s))?
        .into_inner()
        .schools;
    let las: BTreeSet<String> = schools.into_iter().map(|s| s.la_code).collect();
    let Some(la) = query
        .la
        .filter(|la| las.contains(la))
        .or_else(|| las.iter().next().cloned())
    else {
        let content = html! {
            h1 class="govuk-heading-l" { "Schools' feeds" }
            p class="govuk-body" { "No school is in the registry yet." }
        };
        return Ok(html(layout::page(
            &signed.session,
            Nav::SchoolFeeds,
            "Schools' feeds",
            content,
        )));
    };
    let status = client::pipeline(&app.channel)
        .school_status(client::request(
            &signed.user.credential,
            SchoolStatusRequest {
                la_code: la.clone(),
                ..Default::default()
            },
        )?)
        .await
        .map_err(|s| refused(&app, &signed.session, "SchoolStatus", &s))?
        .into_inner();
    let sheet = Sheet {
        file_stem: format!("school-feeds-{la}-{}", now.date_naive()),
        about: vec![
            ("LA".into(), la.clone()),
            ("Judged on".into(), status.on.clone()),
            ("Figures as at".into(), format::time_and_date(now)),
        ],
        columns: vec![
            col("URN"),
            col("School"),
            col("Quiet"),
            col("Register days without a feed"),
            col("Last feed"),
            col("Sender"),
            col("Registers held to"),
            col("Register days overdue"),
            col("Feeds not yet queryable"),
            col("Calendar"),
        ],
        rows: status
            .schools
            .iter()
            .map(|s| {
                vec![
                    Cell::text(s.urn.clone()),
                    Cell::text(s.name.clone()),
                    if s.quiet {
                        Cell::Tag("Quiet".into(), "orange")
                    } else {
                        Cell::text("")
                    },
                    Cell::Count(u64::from(s.school_days_without_feed)),
                    Cell::text(format::rfc3339(&s.last_received_at)),
                    Cell::text(s.last_sender.clone()),
                    Cell::text(s.latest_register_date.clone()),
                    Cell::Count(u64::from(s.school_days_overdue)),
                    Cell::Count(s.pending_feeds),
                    Cell::text(calendar_words(&s.calendar)),
                ]
            })
            .collect(),
    };
    if let Some(download) = sheet.download(query.format) {
        return download;
    }
    let content = html! {
        h1 class="govuk-heading-l" { "Schools' feeds" }
        p class="govuk-body" {
            "Each school's latest feed and the latest date its registers are held to. A school is quiet when it sent no feed on one or more of its register days, by its term dates and closed days (a school on holiday is not quiet). Today's registers are not due yet."
        }
        form method="get" class="rollcall-filter-form" {
            div class="govuk-form-group rollcall-inline-group" {
                label class="govuk-label" for="la" { "LA" }
                select class="govuk-select" id="la" name="la" {
                    @for code in &las { option value=(code) selected[*code == la] { (code) } }
                }
            }
            button type="submit" class="govuk-button govuk-button--secondary" data-module="govuk-button" { "Show schools" }
        }
        p class="govuk-body" {
            strong { (format::count(status.quiet_schools)) } " quiet "
            @if status.quiet_schools == 1 { "school" } @else { "schools" }
            "; " (format::count(status.pending_feeds)) " feeds ("
            (format::count(status.pending_marks)) " marks) not yet queryable."
        }
        (layout::as_of(now))
        (layout::table(&format!("Schools of LA {la}, quiet ones first"), &sheet, None, |_| None))
        (layout::downloads(&super::self_link(&uri), "this table"))
    };
    Ok(html(layout::page(
        &signed.session,
        Nav::SchoolFeeds,
        "Schools' feeds",
        content,
    )))
}

fn calendar_words(source: &str) -> String {
    match source {
        "school" => "The school's own".into(),
        "la" => "The LA's".into(),
        "weekdays" => "None imported: every weekday".into(),
        other => other.to_owned(),
    }
}
