//! Who viewed your pupils: every call that returned pupil-level data about the LA's or the
//! school's pupils, newest first, with who asked, why, and how many of your pupils it returned.
//! One `ListAuditEvents` call; the query service decides what each viewer may see.

use axum::extract::{OriginalUri, Query, State};
use axum::response::Response;
use chrono::Duration;
use maud::html;
use rollcall_proto::query::v1::ListAuditEventsRequest;
use serde::Deserialize;

use super::{SignedIn, html, now, refused};
use crate::Shared;
use crate::client;
use crate::error::WebError;
use crate::format;
use crate::layout::{self, Nav};
use crate::sheet::{Cell, Format, Sheet, col};

/// The choices of how far back to look, in days.
const SPANS: &[u32] = &[7, 30, 90, 365];
/// The most events the page lists.
const LIMIT: u32 = 500;

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    days: Option<String>,
    #[serde(default)]
    format: Format,
}

pub async fn page(
    State(app): State<Shared>,
    signed: SignedIn,
    Query(query): Query<AuditQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, WebError> {
    let now = now();
    let days = super::chosen_days(query.days.as_deref(), SPANS, 30);
    let since = (now - Duration::days(i64::from(days))).date_naive();
    let events = client::audit(&app.channel)
        .list_audit_events(client::request(
            &signed.user.credential,
            ListAuditEventsRequest {
                since: since.to_string(),
                limit: LIMIT,
            },
        )?)
        .await
        .map_err(|s| refused(&app, &signed.session, "ListAuditEvents", &s))?
        .into_inner()
        .events;
    let sheet = Sheet {
        file_stem: format!("audit-since-{since}"),
        about: vec![
            ("Who viewed".into(), layout::organisation(&signed.user.role)),
            ("Since".into(), format::date(since)),
            ("Figures as at".into(), format::time_and_date(now)),
        ],
        columns: vec![
            col("When"),
            col("Who"),
            col("Kind of account"),
            col("Organisation"),
            col("What"),
            col("Asked for"),
            col("Purpose"),
            col("Your pupils returned"),
        ],
        rows: events
            .iter()
            .map(|e| {
                vec![
                    Cell::text(format::rfc3339(&e.at)),
                    Cell::text(e.key_id.clone()),
                    Cell::text(kind_words(&e.principal_kind)),
                    Cell::text(e.organisation.clone()),
                    Cell::text(rpc_words(&e.rpc)),
                    Cell::text(scope_words(&e.request_scope)),
                    Cell::text(e.purpose.clone()),
                    Cell::Count(e.enrolment_ids.len() as u64),
                ]
            })
            .collect(),
    };
    if let Some(download) = sheet.download(query.format) {
        return download;
    }
    let title = match signed.user.role {
        crate::session::Role::School { .. } => "Who viewed your pupils",
        _ => "Who viewed pupils",
    };
    let content = html! {
        h1 class="govuk-heading-l" { (title) }
        p class="govuk-body" {
            "Every time someone saw pupils' details (a list of pupils at risk, or a pupil-level export), Rollcall recorded who, when, why and which of your pupils they saw. You see each view only as far as it concerned your pupils."
        }
        form method="get" class="rollcall-filter-form" {
            div class="govuk-form-group rollcall-inline-group" {
                label class="govuk-label" for="days" { "Since" }
                select class="govuk-select" id="days" name="days" {
                    @for d in SPANS { option value=(d) selected[*d == days] { "The last " (d) " days" } }
                }
            }
            button type="submit" class="govuk-button govuk-button--secondary" data-module="govuk-button" { "Show views" }
        }
        p class="govuk-body" { strong { "Period: " } (format::date(since)) " to " (format::date(now.date_naive())) }
        (layout::as_of(now))
        @if sheet.rows.is_empty() {
            p class="govuk-body" { "Nobody viewed your pupils' details in this period." }
        } @else {
            (layout::table(&format!("{} {}, newest first", format::count(sheet.rows.len() as u64), if sheet.rows.len() == 1 { "view" } else { "views" }), &sheet, None, |_| None))
        }
        (layout::downloads(&super::self_link(&uri), "this list"))
    };
    Ok(html(layout::page(
        &signed.session,
        Nav::Audit,
        title,
        content,
    )))
}

fn kind_words(kind: &str) -> String {
    match kind {
        "la" => "LA user".into(),
        "school" => "School user".into(),
        other => other.to_owned(),
    }
}

fn rpc_words(rpc: &str) -> String {
    match rpc.rsplit('/').next().unwrap_or(rpc) {
        "AtRiskPupils" => "Pupils at risk".into(),
        "ApproachingPersistent" => "Pupils approaching persistent absence".into(),
        "FindPupils" => "Pupil search".into(),
        "PupilTimeline" => "Pupil timeline".into(),
        "PupilSessions" => "Pupil sessions export".into(),
        "CensusTerm" => "Census term export".into(),
        other => other.to_owned(),
    }
}

/// "la 937" as "LA 937", "school 140001" as "School 140001".
fn scope_words(scope: &str) -> String {
    match scope.split_once(' ') {
        Some(("la", rest)) => format!("LA {rest}"),
        Some(("school", rest)) => format!("School {rest}"),
        _ => scope.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_rows_are_in_plain_words() {
        assert_eq!(
            rpc_words("rollcall.query.v1.QueryService/AtRiskPupils"),
            "Pupils at risk"
        );
        assert_eq!(scope_words("la 937"), "LA 937");
        assert_eq!(scope_words("school 140001"), "School 140001");
        assert_eq!(kind_words("la"), "LA user");
    }
}
