//! The dashboard's routes, and what every page handler starts from: the session (a signed-in
//! user, or a visitor about to sign in), the CSRF check on every form, and the one way a refusal
//! from the query service becomes a page.

mod approaching;
mod at_risk;
mod audit;
mod find_pupil;
mod la;
mod operations;
mod pupil;
mod pupil_calendar;
mod pupil_list;
mod rejected;
mod school;
mod school_feeds;
mod school_replay;
mod sign_in;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::request::Parts;
use http::{HeaderValue, Uri, header};

use crate::error::WebError;
use crate::session::{self, Lookup, Session, User};
use crate::{Shared, layout};

pub fn router(app: Shared) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/health", get(|| async { "ok" }))
        .route("/assets/{*path}", get(crate::assets::serve))
        .route("/sign-in", get(sign_in::page))
        .route("/sign-in/key", post(sign_in::with_key))
        .route("/sign-in/provider", get(sign_in::provider))
        .route("/sign-in/callback", get(sign_in::callback))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/signed-out", get(sign_in::signed_out))
        .route("/las/{la}", get(la::overview))
        .route("/las/{la}/at-risk", get(at_risk::for_la))
        .route("/las/{la}/approaching", get(approaching::for_la))
        .route("/schools/{urn}", get(school::page))
        .route("/schools/{urn}/at-risk", get(at_risk::for_school))
        .route("/schools/{urn}/approaching", get(approaching::for_school))
        .route(
            "/pupils/find",
            get(find_pupil::form).post(find_pupil::search),
        )
        .route("/pupils/{reference}", get(pupil::page))
        .route("/purpose", post(at_risk::give_purpose))
        .route("/purpose/change", post(at_risk::change_purpose))
        .route("/audit", get(audit::page))
        .route("/operations", get(operations::page))
        .route("/operations/schools", get(school_feeds::page))
        .route("/operations/rejected", get(rejected::dead_letters))
        .route("/operations/parked", get(rejected::parked))
        .route("/operations/parked/replay", post(rejected::replay))
        .route(
            "/operations/replays",
            get(school_replay::form).post(school_replay::ask),
        )
        .route("/operations/replays/{id}", get(school_replay::show))
        .fallback(|| async { WebError::NotFound })
        .with_state(app)
}

async fn index(visitor: Visitor) -> Response {
    match visitor.session.user.as_ref() {
        Some(user) => Redirect::to(&layout::home(&user.role)).into_response(),
        None => Redirect::to("/sign-in").into_response(),
    }
}

/// A signed-in user's session; anyone else is sent to sign in.
pub struct SignedIn {
    pub session: Session,
    pub user: User,
}

impl FromRequestParts<Shared> for SignedIn {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, app: &Shared) -> Result<Self, WebError> {
        let id = session::cookie(&parts.headers, session::COOKIE).ok_or(WebError::SignInAgain)?;
        match app.sessions.get(id) {
            Lookup::Active(session) => match session.user.clone() {
                Some(user) => Ok(SignedIn {
                    session: *session,
                    user,
                }),
                None => Err(WebError::SignInAgain),
            },
            Lookup::Expired => Err(WebError::SessionExpired),
            Lookup::Missing => Err(WebError::SignInAgain),
        }
    }
}

/// Any visitor's session: the existing one, or a new one (the response sets its cookie).
pub struct Visitor {
    pub session: Session,
    /// The cookie named a session that was just ended for being idle.
    pub expired: bool,
}

impl FromRequestParts<Shared> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &Shared) -> Result<Self, Self::Rejection> {
        let lookup = session::cookie(&parts.headers, session::COOKIE)
            .map(|id| app.sessions.get(id))
            .unwrap_or(Lookup::Missing);
        Ok(match lookup {
            Lookup::Active(session) => Visitor {
                session: *session,
                expired: false,
            },
            Lookup::Expired => Visitor {
                session: app.sessions.start(),
                expired: true,
            },
            Lookup::Missing => Visitor {
                session: app.sessions.start(),
                expired: false,
            },
        })
    }
}

/// A "how far back" choice from a page's query string: one of `choices` (in days), else
/// `default`.
pub fn chosen_days(asked: Option<&str>, choices: &[u32], default: u32) -> u32 {
    asked
        .and_then(|d| d.parse::<u32>().ok())
        .filter(|d| choices.contains(d))
        .unwrap_or(default)
}

/// Refuses a form whose CSRF token is not the session's.
pub fn check_csrf(session: &Session, token: Option<&str>) -> Result<(), WebError> {
    if session.csrf_matches(token.unwrap_or("")) {
        Ok(())
    } else {
        tracing::warn!("form refused: missing or wrong csrf token");
        Err(WebError::Csrf)
    }
}

/// A response that sets the session cookie to `session`'s id.
pub fn with_session_cookie(
    app: &Shared,
    session: &Session,
    response: impl IntoResponse,
) -> Response {
    let mut response = response.into_response();
    let cookie = session::set_cookie(
        session::COOKIE,
        &session.id,
        app.secure_cookies,
        "Strict",
        None,
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// A refusal from the query service as a page; a credential it no longer accepts ends the
/// session.
pub fn refused(
    app: &Shared,
    session: &Session,
    rpc: &'static str,
    status: &tonic::Status,
) -> WebError {
    let err = WebError::from_status(rpc, status);
    if matches!(err, WebError::CredentialEnded) {
        app.sessions.end(&session.id);
    }
    err
}

/// The page's own path with its query string minus `drop`, ending in `?` or `&` so a parameter
/// can follow: the base of sort links and download links.
pub fn link_base(uri: &Uri, drop: &[&str]) -> String {
    let kept: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let name = pair.split('=').next().unwrap_or("");
            !drop.contains(&name) && name != "format"
        })
        .collect();
    if kept.is_empty() {
        format!("{}?", uri.path())
    } else {
        format!("{}?{}&", uri.path(), kept.join("&"))
    }
}

/// `link_base` without a trailing separator: a link to the page as it is.
pub fn self_link(uri: &Uri) -> String {
    let base = link_base(uri, &[]);
    base.trim_end_matches(['?', '&']).to_owned()
}

/// Today in UTC: the default period's end and the as-of date.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// A page as HTML.
pub fn html(markup: maud::Markup) -> Response {
    axum::response::Html(markup.into_string()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_page_parameters_but_not_the_format() {
        let uri: Uri = "/las/937?year=2025&sort=name&format=csv&phase=primary"
            .parse()
            .unwrap();
        assert_eq!(
            link_base(&uri, &["sort", "order"]),
            "/las/937?year=2025&phase=primary&"
        );
        assert_eq!(
            self_link(&uri),
            "/las/937?year=2025&sort=name&phase=primary"
        );
        let bare: Uri = "/operations".parse().unwrap();
        assert_eq!(link_base(&bare, &[]), "/operations?");
        assert_eq!(self_link(&bare), "/operations");
    }
}
