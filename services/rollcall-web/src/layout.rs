//! The GOV.UK page template around every page: skip link, header, service navigation (only the
//! pages the signed-in user's role has), the sign-out form, main content and footer; and the
//! pieces several pages share (the period and as-of lines, the download links, tables, a form's
//! error summary).

use maud::{DOCTYPE, Markup, html};

use crate::session::{Role, Session};
use crate::sheet::{Cell, Sheet};

pub const SERVICE: &str = "Rollcall";

/// A page's place in the navigation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nav {
    Schools,
    AtRisk,
    Approaching,
    FindPupil,
    Audit,
    Pipeline,
    SchoolFeeds,
    Rejected,
    Parked,
    Replays,
    None,
}

/// The navigation for a role: only pages whose queries the query service answers today.
pub fn navigation(role: &Role) -> Vec<(Nav, &'static str, String)> {
    match role {
        Role::La { code, .. } => vec![
            (Nav::Schools, "Schools", format!("/las/{code}")),
            (
                Nav::AtRisk,
                "Pupils at risk",
                format!("/las/{code}/at-risk"),
            ),
            (
                Nav::Approaching,
                "Approaching persistent absence",
                format!("/las/{code}/approaching"),
            ),
            (Nav::FindPupil, "Find a pupil", "/pupils/find".to_owned()),
            (Nav::Audit, "Who viewed pupils", "/audit".to_owned()),
        ],
        Role::School { urn, .. } => vec![
            (Nav::Schools, "Your school", format!("/schools/{urn}")),
            (
                Nav::AtRisk,
                "Pupils at risk",
                format!("/schools/{urn}/at-risk"),
            ),
            (
                Nav::Approaching,
                "Approaching persistent absence",
                format!("/schools/{urn}/approaching"),
            ),
            (Nav::FindPupil, "Find a pupil", "/pupils/find".to_owned()),
            (Nav::Audit, "Who viewed your pupils", "/audit".to_owned()),
        ],
        Role::Operations => vec![
            (Nav::Pipeline, "Pipeline", "/operations".to_owned()),
            (
                Nav::SchoolFeeds,
                "Schools' feeds",
                "/operations/schools".to_owned(),
            ),
            (
                Nav::Rejected,
                "Rejected records",
                "/operations/rejected".to_owned(),
            ),
            (Nav::Parked, "Parked feeds", "/operations/parked".to_owned()),
            (
                Nav::Replays,
                "Replay a school",
                "/operations/replays".to_owned(),
            ),
        ],
    }
}

/// Where a role starts.
pub fn home(role: &Role) -> String {
    navigation(role)
        .into_iter()
        .next()
        .map(|(_, _, href)| href)
        .unwrap_or_else(|| "/".to_owned())
}

/// A whole page for `session`: `current` marks its navigation item.
pub fn page(session: &Session, current: Nav, title: &str, content: Markup) -> Markup {
    let nav = session
        .user
        .as_ref()
        .map(|u| navigation(&u.role))
        .unwrap_or_default();
    html! {
        (DOCTYPE)
        html lang="en" class="govuk-template" {
            (head(title))
            body class="govuk-template__body" {
                a href="#main-content" class="govuk-skip-link" data-module="govuk-skip-link" { "Skip to main content" }
                header class="govuk-generic-header" {
                    div class="govuk-generic-header__container govuk-width-container" {
                        div class="govuk-generic-header__logo" {
                            a href="/" class="govuk-generic-header__homepage-link" { (SERVICE) }
                        }
                    }
                }
                @if let Some(user) = &session.user {
                    section aria-label="Service information" class="govuk-service-navigation" data-module="govuk-service-navigation" {
                        div class="govuk-width-container" {
                            div class="govuk-service-navigation__container" {
                                span class="govuk-service-navigation__service-name" {
                                    (organisation(&user.role))
                                }
                                nav aria-label="Menu" class="govuk-service-navigation__wrapper" {
                                    button type="button" class="govuk-service-navigation__toggle govuk-js-service-navigation-toggle" aria-controls="navigation" hidden { "Menu" }
                                    ul class="govuk-service-navigation__list" id="navigation" {
                                        @for (item, label, href) in &nav {
                                            @if *item == current {
                                                li class="govuk-service-navigation__item govuk-service-navigation__item--active" {
                                                    a class="govuk-service-navigation__link" href=(href) aria-current="page" {
                                                        strong class="govuk-service-navigation__active-fallback" { (label) }
                                                    }
                                                }
                                            } @else {
                                                li class="govuk-service-navigation__item" {
                                                    a class="govuk-service-navigation__link" href=(href) { (label) }
                                                }
                                            }
                                        }
                                        li class="govuk-service-navigation__item" {
                                            form method="post" action="/sign-out" class="rollcall-inline-form" {
                                                (csrf_field(session))
                                                button type="submit" class="govuk-service-navigation__link rollcall-link-button" { "Sign out" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                div class="govuk-width-container" {
                    main class="govuk-main-wrapper" id="main-content" {
                        (content)
                    }
                }
                (footer(session))
                script type="module" src="/assets/init.mjs" {}
            }
        }
    }
}

/// A page for an error, without navigation (the session may be gone).
pub fn error_page(title: &str, body: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" class="govuk-template" {
            (head(title))
            body class="govuk-template__body" {
                a href="#main-content" class="govuk-skip-link" data-module="govuk-skip-link" { "Skip to main content" }
                header class="govuk-generic-header" {
                    div class="govuk-generic-header__container govuk-width-container" {
                        div class="govuk-generic-header__logo" {
                            a href="/" class="govuk-generic-header__homepage-link" { (SERVICE) }
                        }
                    }
                }
                div class="govuk-width-container" {
                    main class="govuk-main-wrapper govuk-main-wrapper--l" id="main-content" {
                        div class="govuk-grid-row" {
                            div class="govuk-grid-column-two-thirds" {
                                h1 class="govuk-heading-l" { (title) }
                                p class="govuk-body" { (body) }
                                p class="govuk-body" { a class="govuk-link" href="/" { "Go to the start page" } }
                            }
                        }
                    }
                }
                footer class="govuk-footer" {
                    div class="govuk-width-container" {
                        div class="govuk-footer__meta" {
                            div class="govuk-footer__meta-item govuk-footer__meta-item--grow" {
                                p class="govuk-body-s" { (SERVICE) ": attendance data for local authorities" }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            title { (title) " – " (SERVICE) }
            meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover";
            meta name="theme-color" content="#1d70b8";
            link rel="icon" sizes="48x48" href="/assets/images/favicon.ico";
            link rel="icon" sizes="any" href="/assets/images/favicon.svg" type="image/svg+xml";
            link rel="stylesheet" href="/assets/rollcall.css";
        }
    }
}

fn footer(session: &Session) -> Markup {
    html! {
        footer class="govuk-footer" {
            div class="govuk-width-container" {
                div class="govuk-footer__meta" {
                    div class="govuk-footer__meta-item govuk-footer__meta-item--grow" {
                        @if let Some(user) = &session.user {
                            p class="govuk-body-s" { "Signed in with " (user.label) "." }
                        }
                        p class="govuk-body-s" {
                            (SERVICE) ": attendance data for local authorities. Every view of a pupil's details is recorded with its purpose."
                        }
                    }
                }
            }
        }
    }
}

/// How the navigation names who the user acts for.
pub fn organisation(role: &Role) -> String {
    match role {
        Role::La { code, name } => format!("{name} (LA {code})"),
        Role::School { urn, name } => format!("{name} (URN {urn})"),
        Role::Operations => "Operations".to_owned(),
    }
}

pub fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// The GOV.UK error summary at the top of a form with a problem: the problem, linking to the
/// field `anchor` (its id); nothing when there is none.
pub fn error_summary(error: Option<&str>, anchor: &str) -> Markup {
    html! {
        @if let Some(error) = error {
            div class="govuk-error-summary" data-module="govuk-error-summary" {
                div role="alert" {
                    h2 class="govuk-error-summary__title" { "There is a problem" }
                    div class="govuk-error-summary__body" {
                        ul class="govuk-list govuk-error-summary__list" {
                            li { a href=(format!("#{anchor}")) { (error) } }
                        }
                    }
                }
            }
        }
    }
}

/// The "as of" line: the query service reads live, so the figures are as at this page's load.
pub fn as_of(now: chrono::DateTime<chrono::Utc>) -> Markup {
    html! {
        p class="govuk-body-s rollcall-as-of" {
            "Figures as at " (crate::format::time_and_date(now)) " (UTC), when this page was loaded."
        }
    }
}

/// Links to the page's downloads: the same URL with `format=csv` or `format=xlsx`.
pub fn downloads(path_and_query: &str, what: &str) -> Markup {
    let sep = if path_and_query.contains('?') {
        '&'
    } else {
        '?'
    };
    html! {
        h2 class="govuk-heading-s" { "Download " (what) }
        ul class="govuk-list" {
            li { a class="govuk-link" href=(format!("{path_and_query}{sep}format=csv")) download { "CSV file" } }
            li { a class="govuk-link" href=(format!("{path_and_query}{sep}format=xlsx")) download { "Excel file (xlsx)" } }
        }
    }
}

/// Sortable column headings: each a link to the same page sorted by that column.
pub struct Sorting<'a> {
    /// Each column's sort key, in the sheet's column order.
    pub keys: &'a [&'a str],
    pub current: &'a str,
    pub descending: bool,
    /// The page's path and its other query parameters (filters, period), `?` included.
    pub base: String,
}

/// A sheet as a GOV.UK table, its first cell a row heading; `link` may make that cell a link.
pub fn table(
    caption: &str,
    sheet: &Sheet,
    sorting: Option<&Sorting<'_>>,
    link: impl Fn(usize) -> Option<String>,
) -> Markup {
    html! {
        // Focusable, so a keyboard can scroll a table wider than the screen.
        section class="rollcall-table-wrapper" tabindex="0" aria-label=(caption) {
            table class="govuk-table govuk-table--small-text-until-tablet" {
                caption class="govuk-table__caption govuk-table__caption--m" { (caption) }
                thead class="govuk-table__head" {
                    tr class="govuk-table__row" {
                        @for (i, column) in sheet.columns.iter().enumerate() {
                            @let numeric = sheet.rows.first().is_some_and(|r| r.get(i).is_some_and(Cell::is_numeric));
                            @let class = if numeric { "govuk-table__header govuk-table__header--numeric" } else { "govuk-table__header" };
                            @match sorting.and_then(|s| s.keys.get(i).map(|k| (s, *k))) {
                                Some((s, key)) => {
                                    @let active = s.current == key;
                                    @let aria = if !active { "none" } else if s.descending { "descending" } else { "ascending" };
                                    @let next = if active && !s.descending { "desc" } else { "asc" };
                                    th scope="col" class=(class) aria-sort=(aria) {
                                        a class="govuk-link rollcall-sort-link" href=(format!("{}sort={key}&order={next}", s.base)) {
                                            (column.heading)
                                            span class="govuk-visually-hidden" {
                                                @if active { ", sorted " (aria) } ", select to sort"
                                            }
                                        }
                                    }
                                }
                                None => { th scope="col" class=(class) { (column.heading) } }
                            }
                        }
                    }
                }
                tbody class="govuk-table__body" {
                    @for (r, row) in sheet.rows.iter().enumerate() {
                        tr class="govuk-table__row" {
                            @for (c, cell) in row.iter().enumerate() {
                                @if c == 0 {
                                    th scope="row" class="govuk-table__header" {
                                        @if let Some(href) = link(r) {
                                            a class="govuk-link" href=(href) { (cell.display()) }
                                        } @else {
                                            (cell.display())
                                        }
                                    }
                                } @else {
                                    (cell_markup(cell))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn cell_markup(cell: &Cell) -> Markup {
    html! {
        @match cell {
            Cell::Tag(text, colour) => td class="govuk-table__cell" { (tag(text, colour)) },
            Cell::Text(text) => td class="govuk-table__cell" { (text) },
            numeric => td class="govuk-table__cell govuk-table__cell--numeric" { (numeric.display()) },
        }
    }
}

/// A GOV.UK summary list of (key, value) rows.
pub fn summary_list(rows: &[(&str, String)]) -> Markup {
    html! {
        dl class="govuk-summary-list" {
            @for (key, value) in rows {
                div class="govuk-summary-list__row" {
                    dt class="govuk-summary-list__key" { (key) }
                    dd class="govuk-summary-list__value" { (value) }
                }
            }
        }
    }
}

/// A tag (e.g. "Independent", "Severe").
pub fn tag(text: &str, colour: &str) -> Markup {
    html! { strong class=(format!("govuk-tag govuk-tag--{colour}")) { (text) } }
}
