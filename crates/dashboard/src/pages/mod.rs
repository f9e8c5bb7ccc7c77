//! One module per page (or per family of forms), each with its template struct.

pub(crate) mod audit;
pub(crate) mod certificate;
pub(crate) mod certificates;
pub(crate) mod export;
pub(crate) mod hostnames;
pub(crate) mod login;
pub(crate) mod new_certificate;
pub(crate) mod overview;
pub(crate) mod zones;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use authority::{Permission, Zone, ids};

use crate::AppState;
use crate::error::PageError;
use crate::session::Viewer;

/// What the frame around every page needs.
pub(crate) struct Layout {
    pub title: String,
    pub signed_in: bool,
    /// The session's CSRF token, for the sign-out form.
    pub csrf: String,
    /// Whether to link the audit log (account-wide credentials only).
    pub audit: bool,
    /// Appended to asset URLs, so a new release's files are fetched again.
    pub version: &'static str,
    /// Load htmx: only pages that refresh parts of themselves do (it also notes the current
    /// path in sessionStorage, which the other pages then never touch).
    pub htmx: bool,
}

impl Layout {
    pub(crate) fn anonymous(title: &str) -> Self {
        Self {
            title: title.to_string(),
            signed_in: false,
            csrf: String::new(),
            audit: false,
            version: crate::assets::VERSION,
            htmx: false,
        }
    }

    pub(crate) fn for_viewer(title: impl Into<String>, viewer: &Viewer) -> Self {
        Self {
            title: title.into(),
            signed_in: true,
            csrf: viewer.session.csrf_token.clone(),
            audit: viewer.session.audited_account().is_some(),
            version: crate::assets::VERSION,
            htmx: false,
        }
    }

    /// The same, for a page that refreshes parts of itself with htmx.
    pub(crate) fn with_htmx(mut self) -> Self {
        self.htmx = true;
        self
    }
}

/// The zone a path names, if the viewer's credential reaches it with `needed`.
pub(crate) async fn zone(
    state: &AppState,
    viewer: &Viewer,
    raw: &str,
    needed: Permission,
) -> Result<Zone, PageError> {
    Ok(state
        .authority
        .authorize_zone(&viewer.session.principal, &ids::zone(raw)?, needed)
        .await?)
}

/// Where a certificate's page is.
pub(crate) fn certificate_url(
    zone_id: &impl std::fmt::Display,
    id: &impl std::fmt::Display,
) -> String {
    format!("/ui/zones/{zone_id}/certificates/{id}")
}

/// A `page` query value: a whole number from 1; anything else (absent, hand-edited) is page 1.
pub(crate) fn page_number(text: Option<&str>) -> u64 {
    text.and_then(|t| t.trim().parse::<u64>().ok())
        .filter(|page| *page > 0)
        .unwrap_or(1)
}

/// `body` as a file to save: its content type, and the name the browser offers (a name that is
/// not valid header text is left out rather than sent broken).
pub(crate) fn attachment(
    body: impl IntoResponse,
    content_type: &'static str,
    file_name: &str,
) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let disposition = format!("attachment; filename=\"{file_name}\"");
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}
