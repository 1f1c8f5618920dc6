//! Operations: the records validation rejected, grouped by finding code, sender and school
//! (`ListDeadLetterGroups`), and the feeds the database refused for good, each with a button to
//! replay it once the cause is fixed (`ListParkedFeeds`, `ReplayParkedFeed`). Codes, counts,
//! positions and refusals only: never a value a record carried.

use axum::Form;
use axum::extract::{OriginalUri, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Duration;
use maud::html;
use rollcall_proto::query::v1::{
    ListDeadLetterGroupsRequest, ListParkedFeedsRequest, ReplayParkedFeedRequest,
};
use serde::Deserialize;

use super::{SignedIn, check_csrf, html, now, refused};
use crate::Shared;
use crate::client;
use crate::error::WebError;
use crate::format;
use crate::layout::{self, Nav};
use crate::sheet::{Cell, Format, Sheet, col};

/// The choices of how far back to look, in days.
const SPANS: &[u32] = &[1, 7, 30];

#[derive(Deserialize, Default)]
pub struct RejectedQuery {
    days: Option<String>,
    #[serde(default)]
    format: Format,
}

pub async fn dead_letters(
    State(app): State<Shared>,
    signed: SignedIn,
    Query(query): Query<RejectedQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, WebError> {
    let now = now();
    let days = super::chosen_days(query.days.as_deref(), SPANS, 7);
    let since = now - Duration::days(i64::from(days));
    let groups = client::pipeline(&app.channel)
        .list_dead_letter_groups(client::request(
            &signed.user.credential,
            ListDeadLetterGroupsRequest {
                since: since.to_rfc3339(),
            },
        )?)
        .await
        .map_err(|s| refused(&app, &signed.session, "ListDeadLetterGroups", &s))?
        .into_inner()
        .groups;
    let sheet = Sheet {
        file_stem: format!("rejected-records-since-{}", since.date_naive()),
        about: vec![
            ("Feeds received since".into(), format::time_and_date(since)),
            ("Figures as at".into(), format::time_and_date(now)),
        ],
        columns: vec![
            col("Finding code"),
            col("Sender"),
            col("School"),
            col("Records rejected"),
            col("Feeds"),
            col("First seen"),
            col("Last seen"),
        ],
        rows: groups
            .iter()
            .map(|g| {
                vec![
                    Cell::text(g.code.clone()),
                    Cell::text(g.sender.clone()),
                    Cell::text(g.school_urn.clone()),
                    Cell::Count(g.records),
                    Cell::Count(g.feeds),
                    Cell::text(format::rfc3339(&g.first_seen)),
                    Cell::text(format::rfc3339(&g.last_seen)),
                ]
            })
            .collect(),
    };
    if let Some(download) = sheet.download(query.format) {
        return download;
    }
    let content = html! {
        h1 class="govuk-heading-l" { "Rejected records" }
        p class="govuk-body" {
            "Records the pipeline's validation rejected, grouped by the rule they broke (the finding code), who sent them and for which school, most records first. The rules are in the validation catalogue; the records themselves, with their positions, are listed by "
            code { "rollcall dead-letters show" }
            ". No value a record carried is shown."
        }
        form method="get" class="rollcall-filter-form" {
            div class="govuk-form-group rollcall-inline-group" {
                label class="govuk-label" for="days" { "Feeds received in" }
                select class="govuk-select" id="days" name="days" {
                    @for d in SPANS {
                        option value=(d) selected[*d == days] {
                            @if *d == 1 { "The last day" } @else { "The last " (d) " days" }
                        }
                    }
                }
            }
            button type="submit" class="govuk-button govuk-button--secondary" data-module="govuk-button" { "Show records" }
        }
        p class="govuk-body" { strong { "Period: " } (format::time_and_date(since)) " to now" }
        (layout::as_of(now))
        @if sheet.rows.is_empty() {
            p class="govuk-body" { "No record was rejected in this period." }
        } @else {
            (layout::table("Rejected records by finding code, sender and school", &sheet, None, |_| None))
        }
        (layout::downloads(&super::self_link(&uri), "this table"))
    };
    Ok(html(layout::page(
        &signed.session,
        Nav::Rejected,
        "Rejected records",
        content,
    )))
}

#[derive(Deserialize, Default)]
pub struct ParkedQuery {
    #[serde(default)]
    format: Format,
    /// Set after a replay was asked for: its id, to say so.
    asked: Option<i64>,
}

pub async fn parked(
    State(app): State<Shared>,
    signed: SignedIn,
    Query(query): Query<ParkedQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, WebError> {
    let now = now();
    let feeds = client::pipeline(&app.channel)
        .list_parked_feeds(client::request(
            &signed.user.credential,
            ListParkedFeedsRequest {},
        )?)
        .await
        .map_err(|s| refused(&app, &signed.session, "ListParkedFeeds", &s))?
        .into_inner()
        .feeds;
    let state = |replayed_at: &str, requested_at: &str| {
        if !replayed_at.is_empty() {
            format!("Replayed {}", format::rfc3339(replayed_at))
        } else if !requested_at.is_empty() {
            "Replay asked for".to_owned()
        } else {
            "Parked".to_owned()
        }
    };
    let sheet = Sheet {
        file_stem: format!("parked-feeds-{}", now.date_naive()),
        about: vec![("Figures as at".into(), format::time_and_date(now))],
        columns: vec![
            col("Id"),
            col("School"),
            col("Parked"),
            col("Attempts"),
            col("SQLSTATE"),
            col("Reason"),
            col("Where"),
            col("State"),
        ],
        rows: feeds
            .iter()
            .map(|p| {
                vec![
                    Cell::text(p.id.to_string()),
                    Cell::text(p.school_urn.clone()),
                    Cell::text(format::rfc3339(&p.parked_at)),
                    Cell::Count(u64::from(p.attempts)),
                    Cell::text(p.sqlstate.clone()),
                    Cell::text(p.reason.clone()),
                    Cell::text(p.field.clone()),
                    Cell::text(state(&p.replayed_at, &p.replay_requested_at)),
                ]
            })
            .collect(),
    };
    if let Some(download) = sheet.download(query.format) {
        return download;
    }
    let waiting: Vec<_> = feeds.iter().filter(|p| p.replayed_at.is_empty()).collect();
    let content = html! {
        h1 class="govuk-heading-l" { "Parked feeds" }
        p class="govuk-body" {
            "Feeds the database refused for a reason a retry cannot fix, set aside so the feeds behind them went on. Once the cause is fixed, replay a feed: the pipeline applies it again within seconds, and this page then shows it replayed, or the new refusal."
        }
        @if let Some(id) = query.asked {
            div class="govuk-inset-text" { "Replay of parked feed " (id) " asked for. Refresh this page to see its outcome." }
        }
        (layout::as_of(now))
        @if sheet.rows.is_empty() {
            p class="govuk-body" { "No feed has been parked." }
        } @else {
            (layout::table("Parked feeds, newest first", &sheet, None, |_| None))
        }
        @if !waiting.is_empty() {
            h2 class="govuk-heading-m" { "Replay a parked feed" }
            @for p in &waiting {
                form method="post" action="/operations/parked/replay" class="rollcall-inline-form" {
                    (layout::csrf_field(&signed.session))
                    input type="hidden" name="id" value=(p.id);
                    button type="submit" class="govuk-button govuk-button--secondary" data-module="govuk-button" {
                        "Replay feed " (p.id) span class="govuk-visually-hidden" { " of school " (p.school_urn) }
                    }
                }
            }
        }
        (layout::downloads(&super::self_link(&uri), "this table"))
    };
    Ok(html(layout::page(
        &signed.session,
        Nav::Parked,
        "Parked feeds",
        content,
    )))
}

#[derive(Deserialize)]
pub struct ReplayForm {
    id: i64,
    csrf: Option<String>,
}

pub async fn replay(
    State(app): State<Shared>,
    signed: SignedIn,
    Form(form): Form<ReplayForm>,
) -> Result<Response, WebError> {
    check_csrf(&signed.session, form.csrf.as_deref())?;
    client::pipeline(&app.channel)
        .replay_parked_feed(client::request(
            &signed.user.credential,
            ReplayParkedFeedRequest { id: form.id },
        )?)
        .await
        .map_err(|s| refused(&app, &signed.session, "ReplayParkedFeed", &s))?;
    Ok(Redirect::to(&format!("/operations/parked?asked={}", form.id)).into_response())
}
