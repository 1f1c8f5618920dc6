//! Signing in and out: with the LA's identity provider (OpenID Connect, when configured) or with
//! an API key (local use and the demo). Either way the credential is checked by the query
//! service, which also says what the user acts for; the session id changes at sign-in.

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderValue, StatusCode, header};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use super::{SignedIn, Visitor, check_csrf, html, with_session_cookie};
use crate::Shared;
use crate::client::{self, IdentifyError, Refusal};
use crate::error::WebError;
use crate::layout::{self, Nav};
use crate::session::{self, Credential, Session, User};

#[derive(Deserialize, Default)]
pub struct SignInQuery {
    reason: Option<String>,
}

pub async fn page(
    State(app): State<Shared>,
    visitor: Visitor,
    Query(query): Query<SignInQuery>,
) -> Response {
    if let Some(user) = &visitor.session.user {
        return Redirect::to(&layout::home(&user.role)).into_response();
    }
    let reason = if visitor.expired {
        Some("idle")
    } else {
        query.reason.as_deref()
    };
    let notice = match reason {
        Some("idle") => Some(format!(
            "You were signed out because you did nothing for {}. Sign in again to carry on.",
            idle_words(app.idle.as_secs())
        )),
        Some("credential") => Some(
            "Your sign-in is no longer accepted (it expired or was withdrawn). Sign in again to carry on."
                .to_owned(),
        ),
        _ => None,
    };
    let body = form(&app, &visitor.session, notice.as_deref(), None);
    with_session_cookie(&app, &visitor.session, html(body))
}

fn idle_words(secs: u64) -> String {
    match secs {
        s if s >= 120 && s.is_multiple_of(60) => format!("{} minutes", s / 60),
        1 => "1 second".to_owned(),
        s => format!("{s} seconds"),
    }
}

fn form(app: &Shared, session: &Session, notice: Option<&str>, error: Option<&str>) -> Markup {
    let content = html! {
        div class="govuk-grid-row" {
            div class="govuk-grid-column-two-thirds" {
                (layout::error_summary(error, "api-key"))
                @if let Some(notice) = notice {
                    div class="govuk-notification-banner" role="region" aria-labelledby="notice-title" data-module="govuk-notification-banner" {
                        div class="govuk-notification-banner__header" {
                            h2 class="govuk-notification-banner__title" id="notice-title" { "Important" }
                        }
                        div class="govuk-notification-banner__content" {
                            p class="govuk-notification-banner__heading" { (notice) }
                        }
                    }
                }
                h1 class="govuk-heading-l" { "Sign in to " (layout::SERVICE) }
                p class="govuk-body" {
                    "Attendance figures for your local authority or school. Every view of a pupil's details is recorded with who looked and why."
                }
                @if app.oidc.is_some() {
                    h2 class="govuk-heading-m" { "With your organisation's account" }
                    a href="/sign-in/provider" role="button" draggable="false" class="govuk-button govuk-button--start" data-module="govuk-button" {
                        "Sign in with your organisation's account"
                    }
                }
                h2 class="govuk-heading-m" { "With an API key" }
                form method="post" action="/sign-in/key" novalidate {
                    (layout::csrf_field(session))
                    div class=(if error.is_some() { "govuk-form-group govuk-form-group--error" } else { "govuk-form-group" }) {
                        label class="govuk-label" for="api-key" { "API key" }
                        div id="api-key-hint" class="govuk-hint" { "It starts with rc_. Your administrator makes one for you." }
                        @if let Some(error) = error {
                            p id="api-key-error" class="govuk-error-message" {
                                span class="govuk-visually-hidden" { "Error: " } (error)
                            }
                        }
                        input class=(if error.is_some() { "govuk-input govuk-input--error" } else { "govuk-input" })
                            id="api-key" name="api_key" type="password" autocomplete="current-password" spellcheck="false"
                            aria-describedby=(if error.is_some() { "api-key-hint api-key-error" } else { "api-key-hint" });
                    }
                    button type="submit" class="govuk-button" data-module="govuk-button" { "Sign in" }
                }
            }
        }
    };
    layout::page(session, Nav::None, "Sign in", content)
}

#[derive(Deserialize)]
pub struct KeyForm {
    csrf: Option<String>,
    #[serde(default)]
    api_key: String,
}

pub async fn with_key(
    State(app): State<Shared>,
    visitor: Visitor,
    Form(form_data): Form<KeyForm>,
) -> Result<Response, WebError> {
    check_csrf(&visitor.session, form_data.csrf.as_deref())?;
    let key = form_data.api_key.trim();
    let problem = |message: &str, status: StatusCode| {
        let mut response = html(form(&app, &visitor.session, None, Some(message)));
        *response.status_mut() = status;
        Ok(with_session_cookie(&app, &visitor.session, response))
    };
    if key.is_empty() {
        return problem("Enter your API key", StatusCode::BAD_REQUEST);
    }
    let credential = Credential::new(key);
    let role = match client::identify(&app.channel, &credential).await {
        Ok(role) => role,
        Err(err) => return problem(refusal_words(&err), refusal_status(&err)),
    };
    // The public part of the key (`rc_<id>_<secret>`), which the audit trail names too.
    let label = match key
        .strip_prefix("rc_")
        .and_then(|rest| rest.split_once('_'))
    {
        Some((id, _)) => format!("API key {id}"),
        None => "an API key".to_owned(),
    };
    tracing::info!(kind = role_kind(&role), "signed in with an api key");
    let user = User {
        credential,
        role,
        label,
        expires: None,
    };
    Ok(signed_in(&app, Some(&visitor.session.id), user))
}

fn refusal_words(err: &IdentifyError) -> &'static str {
    match err {
        IdentifyError::Refused(Refusal::NotAccepted) => {
            "The API key was not accepted. Check it and try again, or ask your administrator for a new one"
        }
        IdentifyError::Refused(Refusal::NoPages) => {
            "This account is for sending data or national exports, which have no pages here. Use the rollcall command instead"
        }
        IdentifyError::Refused(Refusal::NoSchools) => {
            "No schools are registered for your organisation yet. Ask your administrator to import them"
        }
        IdentifyError::Unavailable => "Sign-in is not working at the moment. Try again later",
    }
}

fn refusal_status(err: &IdentifyError) -> StatusCode {
    match err {
        IdentifyError::Refused(Refusal::NotAccepted) => StatusCode::UNAUTHORIZED,
        IdentifyError::Refused(_) => StatusCode::FORBIDDEN,
        IdentifyError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn role_kind(role: &session::Role) -> &'static str {
    match role {
        session::Role::La { .. } => "la",
        session::Role::School { .. } => "school",
        session::Role::Operations => "operations",
    }
}

/// The new session's cookie, and on to the user's first page.
fn signed_in(app: &Shared, old: Option<&str>, user: User) -> Response {
    let home = layout::home(&user.role);
    let session = app.sessions.sign_in(old, user);
    with_session_cookie(app, &session, Redirect::to(&home))
}

/// Off to the identity provider, remembering this sign-in in a `SameSite=Lax` cookie.
pub async fn provider(State(app): State<Shared>) -> Result<Response, WebError> {
    let oidc = app.oidc.as_ref().ok_or(WebError::NotFound)?;
    let (id, pending) = app.sessions.begin_sign_in();
    let url = oidc.authorize_url(&pending).await.map_err(|err| {
        tracing::warn!(error = %err, "cannot start a sign-in at the identity provider");
        WebError::Unavailable
    })?;
    let mut response = Redirect::to(&url).into_response();
    let cookie = session::set_cookie(
        session::SIGN_IN_COOKIE,
        &id,
        app.secure_cookies,
        "Lax",
        Some(600),
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// The identity provider sends the user back here with a code.
pub async fn callback(
    State(app): State<Shared>,
    headers: http::HeaderMap,
    Query(answer): Query<Callback>,
) -> Result<Response, WebError> {
    let oidc = app.oidc.as_ref().ok_or(WebError::NotFound)?;
    let pending = session::cookie(&headers, session::SIGN_IN_COOKIE)
        .and_then(|id| app.sessions.take_sign_in(id))
        .ok_or_else(|| {
            WebError::Invalid("this sign-in has expired or was already used: start again".into())
        })?;
    if answer.error.is_some() {
        return Err(WebError::Invalid(
            "your identity provider did not sign you in".into(),
        ));
    }
    use subtle::ConstantTimeEq as _;
    let state_matches = answer
        .state
        .as_deref()
        .is_some_and(|s| bool::from(s.as_bytes().ct_eq(pending.state.as_bytes())));
    let (Some(code), true) = (answer.code.as_deref(), state_matches) else {
        tracing::warn!("sign-in callback refused: state does not match");
        return Err(WebError::Invalid(
            "this sign-in does not match the one started here: start again".into(),
        ));
    };
    let signed = oidc.finish(code, &pending).await.map_err(|err| {
        tracing::warn!(error = %err, "sign-in at the identity provider failed");
        WebError::Invalid(
            "your identity provider's sign-in could not be checked: start again".into(),
        )
    })?;
    let credential = Credential::new(signed.access_token);
    let role = match client::identify(&app.channel, &credential).await {
        Ok(role) => role,
        Err(err) => {
            return Err(WebError::Invalid(refusal_words(&err).to_lowercase()));
        }
    };
    tracing::info!(
        kind = role_kind(&role),
        "signed in with the identity provider"
    );
    let home = layout::home(&role);
    let session = app.sessions.sign_in(
        None,
        User {
            credential,
            role,
            label: format!("your organisation's account ({})", signed.subject),
            expires: signed.expires,
        },
    );
    // A page rather than a redirect: the provider's redirect here was a cross-site navigation,
    // and a `SameSite=Strict` cookie is sent only once the browser navigates from this site.
    let mut response = html(continue_page(&home));
    let clear = session::set_cookie(
        session::SIGN_IN_COOKIE,
        "",
        app.secure_cookies,
        "Lax",
        Some(0),
    );
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(with_session_cookie(&app, &session, response))
}

fn continue_page(home: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" class="govuk-template" {
            head {
                meta charset="utf-8";
                title { "Signed in – " (layout::SERVICE) }
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="refresh" content=(format!("0; url={home}"));
                link rel="stylesheet" href="/assets/rollcall.css";
            }
            body class="govuk-template__body" {
                div class="govuk-width-container" {
                    main class="govuk-main-wrapper" id="main-content" {
                        h1 class="govuk-heading-l" { "You are signed in" }
                        p class="govuk-body" { a class="govuk-link" href=(home) { "Continue" } }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct SignOutForm {
    csrf: Option<String>,
}

pub async fn sign_out(
    State(app): State<Shared>,
    signed: SignedIn,
    Form(form_data): Form<SignOutForm>,
) -> Result<Response, WebError> {
    check_csrf(&signed.session, form_data.csrf.as_deref())?;
    app.sessions.end(&signed.session.id);
    let mut response = Redirect::to("/signed-out").into_response();
    let clear = session::set_cookie(session::COOKIE, "", app.secure_cookies, "Strict", Some(0));
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    tracing::info!("signed out");
    Ok(response)
}

pub async fn signed_out(visitor: Visitor, State(app): State<Shared>) -> Response {
    let content = html! {
        div class="govuk-grid-row" {
            div class="govuk-grid-column-two-thirds" {
                h1 class="govuk-heading-l" { "You have signed out" }
                p class="govuk-body" { "Close the browser if you are on a shared computer." }
                p class="govuk-body" { a class="govuk-link" href="/sign-in" { "Sign in again" } }
            }
        }
    };
    with_session_cookie(
        &app,
        &visitor.session,
        html(layout::page(
            &visitor.session,
            Nav::None,
            "You have signed out",
            content,
        )),
    )
}
