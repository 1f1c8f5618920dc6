//! What the paged pupil lists (pupils at risk, pupils approaching persistent absence) share:
//! reading one page for the screen or every page for a download, the links to the pages either
//! side, and the response that keeps the page's address out of any referrer.

use axum::response::Response;

use super::link_base;
use crate::sheet::Format;

/// Pupils per page; a download takes the whole list in pages of the most the service allows.
pub(super) const PAGE_SIZE: u32 = 50;
pub(super) const DOWNLOAD_PAGE_SIZE: u32 = 5000;

/// Which pages of a list to ask for: on screen the one page from `offset`, for a download
/// every page (each its own audited call with the same purpose). The caller asks for
/// [`Pages::request`], then tells [`Pages::advance`] the answer's next page token, until it says
/// the list is read.
pub(super) struct Pages {
    size: u32,
    token: String,
    whole: bool,
}

impl Pages {
    pub(super) fn new(format: Format, offset: u64) -> Pages {
        let whole = format != Format::Html;
        Pages {
            size: if whole { DOWNLOAD_PAGE_SIZE } else { PAGE_SIZE },
            token: if whole || offset == 0 {
                String::new()
            } else {
                offset.to_string()
            },
            whole,
        }
    }

    /// The page size and token of the next call.
    pub(super) fn request(&self) -> (u32, String) {
        (self.size, self.token.clone())
    }

    /// Whether another page is to be read after the one whose next page token is `next`.
    pub(super) fn advance(&mut self, next: &str) -> bool {
        if !self.whole || next.is_empty() {
            return false;
        }
        self.token = next.to_owned();
        true
    }
}

/// The links to the previous and next pages of a list shown from `offset`, `next` being the
/// answer's next page token (empty on the last page).
pub(super) fn page_links(
    uri: &http::Uri,
    offset: u64,
    next: &str,
) -> (Option<String>, Option<String>) {
    let base = link_base(uri, &["from"]);
    let previous = (offset > 0).then(|| {
        let back = offset.saturating_sub(u64::from(PAGE_SIZE));
        if back == 0 {
            base.trim_end_matches(['?', '&']).to_owned()
        } else {
            format!("{base}from={back}")
        }
    });
    let next = (!next.is_empty()).then(|| format!("{base}from={next}"));
    (previous, next)
}

/// The page from `from=` in the query, 0 when absent or unreadable.
pub(super) fn offset(from: Option<&str>) -> u64 {
    from.and_then(|f| f.parse().ok()).unwrap_or(0)
}

/// A list page as sent: its address names the LA or school, so no referrer carries it on.
pub(super) fn no_referrer(mut response: Response) -> Response {
    response.headers_mut().insert(
        http::header::REFERRER_POLICY,
        http::HeaderValue::from_static("no-referrer"),
    );
    response
}
