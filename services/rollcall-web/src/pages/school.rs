//! A school's page: its DfE measures over the period, a chart of its possible sessions by
//! category beside the table of the same figures, and its sessions by attendance code. One
//! `SchoolSummary` call.

use axum::extract::{OriginalUri, Path, Query, State};
use axum::response::Response;
use maud::html;
use rollcall_domain::Category;
use rollcall_proto::query::v1::SchoolSummaryRequest;
use serde::Deserialize;

use super::la::capitalise;
use super::{SignedIn, html, now, refused};
use crate::Shared;
use crate::chart::{self, Bar};
use crate::client;
use crate::error::WebError;
use crate::format::percent;
use crate::layout::{self, Nav};
use crate::period::Period;
use crate::session::Role;
use crate::sheet::{Cell, Format, Sheet, col};

#[derive(Deserialize, Default)]
pub struct SchoolQuery {
    year: Option<String>,
    #[serde(default)]
    format: Format,
}

pub async fn page(
    State(app): State<Shared>,
    signed: SignedIn,
    Path(urn): Path<String>,
    Query(query): Query<SchoolQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, WebError> {
    let now = now();
    let period = Period::choose(query.year.as_deref(), now.date_naive())?;
    let summary = client::query(&app.channel)
        .school_summary(client::request(
            &signed.user.credential,
            SchoolSummaryRequest {
                as_at: String::new(),
                school_urn: urn.clone(),
                period: Some(period.proto()),
            },
        )?)
        .await
        .map_err(|s| refused(&app, &signed.session, "SchoolSummary", &s))?
        .into_inner();
    let school = summary.school.unwrap_or_default();
    let m = summary.measures.unwrap_or_default();
    let of_possible = |n: u64| {
        if m.possible_sessions == 0 {
            0.0
        } else {
            n as f64 * 100.0 / m.possible_sessions as f64
        }
    };
    let categories = [
        ("Present", m.present_sessions),
        (
            "Approved educational activity",
            m.approved_educational_activity,
        ),
        ("Authorised absence", m.authorised_absence),
        ("Unauthorised absence", m.unauthorised_absence),
    ];
    let measures: Vec<(&str, Cell)> = vec![
        ("Enrolments", Cell::Count(m.enrolments)),
        ("Possible sessions", Cell::Count(m.possible_sessions)),
        (
            "Attendance (% of possible sessions)",
            Cell::Percent(m.attendance_perc),
        ),
        (
            "Overall absence (% of possible sessions)",
            Cell::Percent(m.overall_absence_perc),
        ),
        (
            "Authorised absence (% of possible sessions)",
            Cell::Percent(m.authorised_absence_perc),
        ),
        (
            "Unauthorised absence (% of possible sessions)",
            Cell::Percent(m.unauthorised_absence_perc),
        ),
        (
            "Persistent absentees (10% or more missed)",
            Cell::Count(m.persistent_absentees),
        ),
        (
            "Persistent absence (% of enrolments)",
            Cell::Percent(m.persistent_absence_perc),
        ),
        (
            "Severe absentees (50% or more missed)",
            Cell::Count(m.severe_absentees),
        ),
        (
            "Severe absence (% of enrolments)",
            Cell::Percent(m.severe_absence_perc),
        ),
        ("Late sessions", Cell::Count(m.late_sessions)),
        (
            "Sessions not possible (not counted)",
            Cell::Count(m.not_possible_sessions),
        ),
    ];
    let mut codes: Vec<(&String, &u64)> =
        m.sessions_by_code.iter().filter(|(_, n)| **n > 0).collect();
    codes.sort();
    let code_rows: Vec<Vec<Cell>> = codes
        .iter()
        .map(|(code, n)| {
            let known = rollcall_domain::codes::get(code);
            vec![
                Cell::text((*code).clone()),
                Cell::text(known.map(|c| c.meaning().to_owned()).unwrap_or_default()),
                Cell::text(known.map(|c| category_words(c.category())).unwrap_or("")),
                Cell::Count(**n),
            ]
        })
        .collect();

    let stem = format!("school-{}-{}", school.urn, period.slug());
    let mut download = Sheet {
        file_stem: stem,
        about: vec![
            (
                "School".into(),
                format!("{} (URN {})", school.name, school.urn),
            ),
            ("Period".into(), period.describe()),
            ("Figures as at".into(), crate::format::time_and_date(now)),
        ],
        columns: vec![col("Measure"), col("Value")],
        rows: measures
            .iter()
            .map(|(k, v)| vec![Cell::text(*k), v.clone()])
            .collect(),
    };
    download.rows.extend(
        categories
            .iter()
            .map(|(name, n)| vec![Cell::text(format!("{name} sessions")), Cell::Count(*n)]),
    );
    download.rows.extend(codes.iter().map(|(code, n)| {
        vec![
            Cell::text(format!("Sessions with code {code}")),
            Cell::Count(**n),
        ]
    }));
    if let Some(response) = download.download(query.format) {
        return response;
    }

    let category_sheet = Sheet {
        file_stem: String::new(),
        about: vec![],
        columns: vec![
            col("Category"),
            col("Sessions"),
            col("Share of possible sessions"),
        ],
        rows: categories
            .iter()
            .map(|(name, n)| {
                vec![
                    Cell::text(*name),
                    Cell::Count(*n),
                    Cell::Percent(of_possible(*n)),
                ]
            })
            .collect(),
    };
    let code_sheet = Sheet {
        file_stem: String::new(),
        about: vec![],
        columns: vec![
            col("Code"),
            col("Meaning"),
            col("Category"),
            col("Sessions"),
        ],
        rows: code_rows,
    };
    let bars: Vec<Bar> = categories
        .iter()
        .map(|(name, n)| Bar {
            label: (*name).to_owned(),
            value: of_possible(*n),
            shown: percent(of_possible(*n)),
        })
        .collect();
    let at_risk = format!("/schools/{}/at-risk?{}", school.urn, period.query())
        .trim_end_matches(['?', '&'])
        .to_owned();
    let back = match &signed.user.role {
        Role::La { code, name } => Some((format!("/las/{code}"), format!("All schools in {name}"))),
        _ => None,
    };
    let current = if matches!(signed.user.role, Role::School { .. }) {
        Nav::Schools
    } else {
        Nav::None
    };
    let content = html! {
        @if let Some((href, label)) = &back {
            a href=(href) class="govuk-back-link" { (label) }
        }
        span class="govuk-caption-l" { "URN " (school.urn) " · " (capitalise(&school.phase)) " · " (capitalise(&school.school_type)) }
        h1 class="govuk-heading-l" {
            (school.name)
            @if school.independent { " " (layout::tag("Independent", "grey")) }
        }
        (period.form(now.date_naive(), &[]))
        (layout::as_of(now))
        p class="govuk-body" {
            a class="govuk-link" href=(at_risk) { "Pupils at risk at this school" }
            " (you will be asked why you need their details)"
        }
        h2 class="govuk-heading-m" { "Measures" }
        (layout::summary_list(&measures.iter().map(|(k, v)| (*k, v.display())).collect::<Vec<_>>()))
        div class="govuk-grid-row" {
            div class="govuk-grid-column-one-half" {
                h2 class="govuk-heading-m" { "Possible sessions by category" }
                (chart::bars(
                    "category-chart",
                    "Possible sessions by category",
                    "Share of the school's possible sessions in each category. The same figures are in the table beside this chart.",
                    &bars,
                    Some(100.0),
                    None,
                ))
            }
            div class="govuk-grid-column-one-half" {
                (layout::table("Possible sessions by category", &category_sheet, None, |_| None))
            }
        }
        @if code_sheet.rows.is_empty() {
            p class="govuk-body" { "No sessions were recorded for this school in the period." }
        } @else {
            (layout::table("Sessions by attendance code", &code_sheet, None, |_| None))
        }
        (layout::downloads(&super::self_link(&uri), "these figures"))
    };
    Ok(html(layout::page(
        &signed.session,
        current,
        &school.name,
        content,
    )))
}

fn category_words(category: Category) -> &'static str {
    match category {
        Category::Present => "Present",
        Category::Aea => "Approved educational activity",
        Category::Authorised => "Authorised absence",
        Category::Unauthorised => "Unauthorised absence",
        Category::NotPossible => "Not possible",
    }
}
