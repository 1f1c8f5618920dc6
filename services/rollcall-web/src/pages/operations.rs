//! Operations: how far feeds have got through the pipeline (received, enqueued, processed) and
//! the marks stored: counts only, never a school's figures or a pupil. One `PipelineCounts` call.

use axum::extract::{OriginalUri, Query, State};
use axum::response::Response;
use maud::html;
use rollcall_proto::query::v1::PipelineCountsRequest;
use serde::Deserialize;

use super::{SignedIn, html, now, refused};
use crate::Shared;
use crate::chart::{self, Bar};
use crate::client;
use crate::error::WebError;
use crate::format;
use crate::layout::{self, Nav};
use crate::sheet::{Cell, Format, Sheet, col};

#[derive(Deserialize, Default)]
pub struct OperationsQuery {
    #[serde(default)]
    format: Format,
}

pub async fn page(
    State(app): State<Shared>,
    signed: SignedIn,
    Query(query): Query<OperationsQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, WebError> {
    let now = now();
    let counts = client::pipeline(&app.channel)
        .pipeline_counts(client::request(
            &signed.user.credential,
            PipelineCountsRequest {},
        )?)
        .await
        .map_err(|s| refused(&app, &signed.session, "PipelineCounts", &s))?
        .into_inner();
    let stages = [
        ("Feeds received", counts.feeds_received),
        ("Feeds enqueued", counts.feeds_enqueued),
        ("Feeds processed", counts.feeds_processed),
    ];
    let mut sheet = Sheet {
        file_stem: format!("pipeline-{}", now.date_naive()),
        about: vec![
            ("Counts".into(), "Since the service began (all time)".into()),
            ("Figures as at".into(), format::time_and_date(now)),
        ],
        columns: vec![col("Stage"), col("Count")],
        rows: stages
            .iter()
            .map(|(k, v)| vec![Cell::text(*k), Cell::Count(*v)])
            .collect(),
    };
    sheet.rows.push(vec![
        Cell::text("Marks stored"),
        Cell::Count(counts.marks_stored),
    ]);
    sheet.rows.push(vec![
        Cell::text("Feeds not yet processed"),
        Cell::Count(counts.feeds_received.saturating_sub(counts.feeds_processed)),
    ]);
    if let Some(download) = sheet.download(query.format) {
        return download;
    }
    let bars: Vec<Bar> = stages
        .iter()
        .map(|(k, v)| Bar {
            label: (*k).to_owned(),
            value: *v as f64,
            shown: format::count(*v),
        })
        .collect();
    let content = html! {
        h1 class="govuk-heading-l" { "Pipeline" }
        p class="govuk-body" {
            "How far the feeds schools' systems sent have got: every processed feed was enqueued and received first. Counts since the service began; no school's figures and no pupil are shown here."
        }
        p class="govuk-body" { strong { "Period: " } "all time, to " (format::date(now.date_naive())) }
        (layout::as_of(now))
        div class="govuk-grid-row" {
            div class="govuk-grid-column-one-half" {
                h2 class="govuk-heading-m" { "Feeds by stage" }
                (chart::bars(
                    "pipeline-chart",
                    "Feeds by stage",
                    "Feeds received, enqueued and processed. The same figures are in the table beside this chart.",
                    &bars,
                    None,
                    None,
                ))
            }
            div class="govuk-grid-column-one-half" {
                (layout::table("Pipeline counts", &sheet, None, |_| None))
            }
        }
        (layout::downloads(&super::self_link(&uri), "these counts"))
    };
    Ok(html(layout::page(
        &signed.session,
        Nav::Pipeline,
        "Pipeline",
        content,
    )))
}
