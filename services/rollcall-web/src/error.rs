//! What can go wrong answering a page, and the one place a gRPC status from the query service
//! becomes an HTTP status and a page. The query service's messages name no pupil; they are shown
//! only for invalid requests, and never logged with anything but their code.

use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use rollcall_server::error::ERROR_CODE_METADATA;

use crate::layout;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Not signed in, or the credential is no longer accepted: back to the sign-in page.
    #[error("sign in again")]
    SignInAgain,
    /// The session was ended for being idle.
    #[error("session expired")]
    SessionExpired,
    /// The query service no longer accepts the session's credential (expired or revoked).
    #[error("credential no longer accepted")]
    CredentialEnded,
    /// The form's CSRF token is missing or is not this session's.
    #[error("form refused: missing or wrong csrf token")]
    Csrf,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// A request the query service (or the page) found invalid; the text is shown to the user.
    #[error("invalid request")]
    Invalid(String),
    #[error("query service unavailable")]
    Unavailable,
}

impl WebError {
    /// The error a refusal from the query service becomes; logged here, by code only.
    pub fn from_status(rpc: &'static str, status: &tonic::Status) -> WebError {
        let code = status
            .metadata()
            .get(ERROR_CODE_METADATA)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        tracing::info!(rpc, grpc_code = ?status.code(), error_code = %code, "query service refused");
        match status.code() {
            tonic::Code::Unauthenticated => WebError::CredentialEnded,
            tonic::Code::PermissionDenied => WebError::Forbidden,
            tonic::Code::NotFound => WebError::NotFound,
            tonic::Code::InvalidArgument => WebError::Invalid(status.message().to_owned()),
            _ => WebError::Unavailable,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            WebError::SignInAgain | WebError::SessionExpired | WebError::CredentialEnded => {
                StatusCode::SEE_OTHER
            }
            WebError::Csrf | WebError::Forbidden => StatusCode::FORBIDDEN,
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::Invalid(_) => StatusCode::BAD_REQUEST,
            WebError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::SignInAgain => Redirect::to("/sign-in").into_response(),
            WebError::SessionExpired => Redirect::to("/sign-in?reason=idle").into_response(),
            WebError::CredentialEnded => Redirect::to("/sign-in?reason=credential").into_response(),
            err => {
                let (title, body) = match &err {
                    WebError::Csrf => (
                        "This form has expired",
                        "The form was sent without the token this page gave it, so nothing was done. Go back, reload the page and try again.".to_owned(),
                    ),
                    WebError::Forbidden => (
                        "You cannot see this page",
                        "Your account does not give you access to this school, local authority or page.".to_owned(),
                    ),
                    WebError::NotFound => (
                        "Page not found",
                        "If you typed the web address, check it is correct.".to_owned(),
                    ),
                    WebError::Invalid(message) => (
                        "There is a problem with the request",
                        capitalise(message),
                    ),
                    _ => (
                        "Sorry, there is a problem with the service",
                        "Try again later.".to_owned(),
                    ),
                };
                let mut response =
                    axum::response::Html(layout::error_page(title, &body).into_string())
                        .into_response();
                *response.status_mut() = err.status();
                response
            }
        }
    }
}

/// The query service's lowercase message as a sentence.
fn capitalise(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => {
            let mut out: String = first.to_uppercase().collect();
            out.push_str(chars.as_str());
            if !out.ends_with('.') {
                out.push('.');
            }
            out
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_become_pages_with_their_http_status() {
        let cases = [
            (tonic::Code::Unauthenticated, StatusCode::SEE_OTHER),
            (tonic::Code::PermissionDenied, StatusCode::FORBIDDEN),
            (tonic::Code::NotFound, StatusCode::NOT_FOUND),
            (tonic::Code::InvalidArgument, StatusCode::BAD_REQUEST),
            (tonic::Code::Unavailable, StatusCode::SERVICE_UNAVAILABLE),
            (
                tonic::Code::ResourceExhausted,
                StatusCode::SERVICE_UNAVAILABLE,
            ),
        ];
        for (code, http) in cases {
            let err = WebError::from_status(
                "test",
                &tonic::Status::new(code, "period: from is after to"),
            );
            assert_eq!(err.status(), http, "{code:?}");
            assert_eq!(err.into_response().status(), http, "{code:?}");
        }
        assert_eq!(
            capitalise("period: from is after to"),
            "Period: from is after to."
        );
    }
}
