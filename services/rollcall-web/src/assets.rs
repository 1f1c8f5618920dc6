//! The front-end assets embedded at build time (see build.rs): GOV.UK Frontend's compiled styles,
//! its JavaScript (progressive enhancement only) and icons, served under `/assets/`.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

pub async fn serve(Path(path): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == path) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=3600"),
                ),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_styles_are_compiled_for_rollcall_and_the_scripts_are_embedded() {
        let css = ASSETS
            .iter()
            .find(|(n, _, _)| *n == "rollcall.css")
            .unwrap()
            .2;
        let css = std::str::from_utf8(css).unwrap();
        assert!(
            css.contains(".govuk-table"),
            "GOV.UK Frontend's styles are in"
        );
        assert!(
            !css.contains("GDS Transport"),
            "an LA service uses Arial, not the GOV.UK font"
        );
        assert!(ASSETS.iter().any(|(n, t, b)| *n == "govuk-frontend.min.js"
            && t.starts_with("text/javascript")
            && !b.is_empty()));
    }
}
