//! The LA overview: every school in the LA (independent schools marked) with its DfE measures,
//! sortable and filterable by phase and type, the LA's total, and a chart of persistent absence
//! by school beside the table that holds the same figures. One `LaSummary` call.

use axum::extract::{OriginalUri, Path, Query, State};
use axum::response::Response;
use maud::html;
use rollcall_proto::query::v1::{LaSummaryRequest, Measures, SchoolRow};
use serde::Deserialize;

use super::{SignedIn, html, link_base, now, refused};
use crate::Shared;
use crate::chart::{self, Bar};
use crate::client;
use crate::error::WebError;
use crate::layout::{self, Nav, Sorting};
use crate::period::Period;
use crate::sheet::{Cell, Format, Sheet, col, pct};

#[derive(Deserialize, Default)]
pub struct LaQuery {
    year: Option<String>,
    phase: Option<String>,
    #[serde(rename = "type")]
    school_type: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    #[serde(default)]
    format: Format,
}

/// Sort keys, in the sheet's column order.
const KEYS: &[&str] = &[
    "school",
    "urn",
    "phase",
    "type",
    "independent",
    "enrolments",
    "possible",
    "attendance",
    "absence",
    "authorised",
    "unauthorised",
    "persistent",
    "pa",
    "severe",
    "sa",
];

pub async fn overview(
    State(app): State<Shared>,
    signed: SignedIn,
    Path(la): Path<String>,
    Query(query): Query<LaQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, WebError> {
    let now = now();
    let period = Period::choose(query.year.as_deref(), now.date_naive())?;
    let summary = client::query(&app.channel)
        .la_summary(client::request(
            &signed.user.credential,
            LaSummaryRequest {
                as_at: String::new(),
                la_code: la.clone(),
                period: Some(period.proto()),
            },
        )?)
        .await
        .map_err(|s| refused(&app, &signed.session, "LaSummary", &s))?
        .into_inner();

    let phase = query.phase.as_deref().unwrap_or("").trim().to_owned();
    let school_type = query.school_type.as_deref().unwrap_or("").trim().to_owned();
    let mut phases: Vec<String> = summary
        .schools
        .iter()
        .filter_map(|r| r.school.as_ref())
        .map(|s| s.phase.clone())
        .collect();
    phases.sort();
    phases.dedup();
    let mut types: Vec<String> = summary
        .schools
        .iter()
        .filter_map(|r| r.school.as_ref())
        .map(|s| s.school_type.clone())
        .collect();
    types.sort();
    types.dedup();
    let mut rows: Vec<&SchoolRow> = summary
        .schools
        .iter()
        .filter(|r| {
            r.school.as_ref().is_some_and(|s| {
                (phase.is_empty() || s.phase == phase)
                    && (school_type.is_empty() || s.school_type == school_type)
            })
        })
        .collect();
    let sort = query
        .sort
        .as_deref()
        .filter(|k| KEYS.contains(k))
        .unwrap_or("school");
    let descending = query.order.as_deref() == Some("desc");
    let column = KEYS.iter().position(|k| *k == sort).unwrap_or(0);
    let cells: Vec<(Vec<Cell>, &SchoolRow)> =
        rows.drain(..).map(|r| (school_cells(r), r)).collect();
    let mut cells = cells;
    cells.sort_by(|(a, _), (b, _)| {
        let ordering = compare(&a[column], &b[column]);
        if descending {
            ordering.reverse()
        } else {
            ordering
        }
    });

    let total = summary.total.clone().unwrap_or_default();
    let mut sheet = Sheet {
        file_stem: format!("la-{la}-schools-{}", period.slug()),
        about: vec![
            (
                "Local authority".into(),
                format!("{} (LA {})", summary.la_name, summary.la_code),
            ),
            ("Period".into(), period.describe()),
            ("Figures as at".into(), crate::format::time_and_date(now)),
            (
                "Phase".into(),
                if phase.is_empty() {
                    "All".into()
                } else {
                    phase.clone()
                },
            ),
            (
                "Type".into(),
                if school_type.is_empty() {
                    "All".into()
                } else {
                    school_type.clone()
                },
            ),
            (
                "Source".into(),
                "Rollcall, from schools' registers as received".into(),
            ),
        ],
        columns: vec![
            col("School"),
            col("URN"),
            col("Phase"),
            col("Type"),
            col("Independent"),
            col("Enrolments"),
            col("Possible sessions"),
            pct("Attendance"),
            pct("Overall absence"),
            pct("Authorised absence"),
            pct("Unauthorised absence"),
            col("Persistent absentees"),
            pct("Persistent absence"),
            col("Severe absentees"),
            pct("Severe absence"),
        ],
        rows: cells.iter().map(|(c, _)| c.clone()).collect(),
    };
    let mut total_row = measure_cells(&total);
    let mut named_total = vec![
        Cell::text(format!("{} total (all schools)", summary.la_name)),
        Cell::text(""),
        Cell::text(""),
        Cell::text(""),
        Cell::text(""),
    ];
    named_total.append(&mut total_row);
    if let Some(download) = {
        let mut with_total = sheet.clone();
        with_total.rows.push(named_total.clone());
        with_total.download(query.format)
    } {
        return download;
    }

    let base = link_base(&uri, &["sort", "order"]);
    let sorting = Sorting {
        keys: KEYS,
        current: sort,
        descending,
        base,
    };
    let urns: Vec<String> = cells
        .iter()
        .map(|(_, r)| r.school.as_ref().map(|s| s.urn.clone()).unwrap_or_default())
        .collect();
    let year_query = period.query();
    let bars: Vec<Bar> = cells
        .iter()
        .map(|(_, r)| {
            let m = r.measures.clone().unwrap_or_default();
            Bar {
                label: r
                    .school
                    .as_ref()
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
                value: m.persistent_absence_perc,
                shown: crate::format::percent(m.persistent_absence_perc),
            }
        })
        .collect();
    sheet.rows.push(named_total);
    let filtered = !phase.is_empty() || !school_type.is_empty();
    let year_value = if period.to_date {
        String::new()
    } else {
        period.year.start_year().to_string()
    };
    let content = html! {
        span class="govuk-caption-l" { "LA " (summary.la_code) }
        h1 class="govuk-heading-l" { (summary.la_name) " schools" }
        (period.form(now.date_naive(), &[("phase", &phase), ("type", &school_type), ("sort", query.sort.as_deref().unwrap_or("")), ("order", query.order.as_deref().unwrap_or(""))]))
        (layout::as_of(now))
        h2 class="govuk-heading-m" { (summary.la_name) " total" }
        (layout::summary_list(&[
            ("Schools", crate::format::count(summary.schools.len() as u64)),
            ("Enrolments", crate::format::count(total.enrolments)),
            ("Attendance", crate::format::percent(total.attendance_perc)),
            ("Overall absence", crate::format::percent(total.overall_absence_perc)),
            ("Persistent absence", format!("{} ({} pupils)", crate::format::percent(total.persistent_absence_perc), crate::format::count(total.persistent_absentees))),
            ("Severe absence", format!("{} ({} pupils)", crate::format::percent(total.severe_absence_perc), crate::format::count(total.severe_absentees))),
        ]))
        form method="get" class="rollcall-filter-form" {
            @if !year_value.is_empty() { input type="hidden" name="year" value=(year_value); }
            @if let Some(s) = query.sort.as_deref() { input type="hidden" name="sort" value=(s); }
            @if let Some(o) = query.order.as_deref() { input type="hidden" name="order" value=(o); }
            fieldset class="govuk-fieldset" {
                legend class="govuk-fieldset__legend govuk-fieldset__legend--s" { "Filter schools" }
                div class="govuk-form-group rollcall-inline-group" {
                    label class="govuk-label" for="phase" { "Phase" }
                    select class="govuk-select" id="phase" name="phase" {
                        option value="" selected[phase.is_empty()] { "All phases" }
                        @for p in &phases { option value=(p) selected[*p == phase] { (capitalise(p)) } }
                    }
                }
                div class="govuk-form-group rollcall-inline-group" {
                    label class="govuk-label" for="type" { "Type" }
                    select class="govuk-select" id="type" name="type" {
                        option value="" selected[school_type.is_empty()] { "All types" }
                        @for t in &types { option value=(t) selected[*t == school_type] { (capitalise(t)) } }
                    }
                }
                button type="submit" class="govuk-button govuk-button--secondary" data-module="govuk-button" { "Apply filters" }
            }
        }
        @if filtered {
            p class="govuk-body" {
                "Showing " (cells.len()) " of " (summary.schools.len()) " schools. "
                a class="govuk-link" href=(format!("{}?{}", uri.path(), year_query.trim_end_matches('&'))) { "Clear filters" }
            }
        }
        div class="govuk-grid-row" {
            div class="govuk-grid-column-full" {
                h2 class="govuk-heading-m" { "Persistent absence by school" }
                (chart::bars(
                    "pa-chart",
                    "Persistent absence by school",
                    "Share of each school's pupils who missed 10% or more of their possible sessions. The same figures are in the Persistent absence column of the table below.",
                    &bars,
                    None,
                    None,
                ))
            }
        }
        (layout::table(
            &format!("Schools in {} (the last row is the LA total over all schools)", summary.la_name),
            &sheet,
            Some(&sorting),
            |r| urns.get(r).filter(|u| !u.is_empty()).map(|u| format!("/schools/{u}?{}", year_query).trim_end_matches(['?', '&']).to_owned()),
        ))
        (layout::downloads(&super::self_link(&uri), "this table"))
    };
    Ok(html(layout::page(
        &signed.session,
        Nav::Schools,
        &format!("{} schools", summary.la_name),
        content,
    )))
}

fn school_cells(row: &SchoolRow) -> Vec<Cell> {
    let school = row.school.clone().unwrap_or_default();
    let mut cells = vec![
        Cell::text(school.name),
        Cell::text(school.urn),
        Cell::text(capitalise(&school.phase)),
        Cell::text(capitalise(&school.school_type)),
        if school.independent {
            Cell::Tag("Independent".into(), "grey")
        } else {
            Cell::text("No")
        },
    ];
    cells.append(&mut measure_cells(
        &row.measures.clone().unwrap_or_default(),
    ));
    cells
}

fn measure_cells(m: &Measures) -> Vec<Cell> {
    vec![
        Cell::Count(m.enrolments),
        Cell::Count(m.possible_sessions),
        Cell::Percent(m.attendance_perc),
        Cell::Percent(m.overall_absence_perc),
        Cell::Percent(m.authorised_absence_perc),
        Cell::Percent(m.unauthorised_absence_perc),
        Cell::Count(m.persistent_absentees),
        Cell::Percent(m.persistent_absence_perc),
        Cell::Count(m.severe_absentees),
        Cell::Percent(m.severe_absence_perc),
    ]
}

fn compare(a: &Cell, b: &Cell) -> std::cmp::Ordering {
    match (a, b) {
        (Cell::Count(x), Cell::Count(y)) => x.cmp(y),
        (Cell::Percent(x), Cell::Percent(y)) => x.total_cmp(y),
        _ => a.display().to_lowercase().cmp(&b.display().to_lowercase()),
    }
}

/// "primary" as "Primary", for a heading or an option.
pub fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
