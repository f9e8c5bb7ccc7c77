//! What a page answers when something fails: a sign-in redirect, or an error page carrying the
//! same code and message the API would give.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use api::error::ApiError;

use crate::pages::Layout;
use crate::session::cleared_cookie;

#[derive(Debug)]
pub(crate) enum PageError {
    /// No session, or one that no longer authenticates: back to the sign-in page. The cookie is
    /// cleared only when one was sent and failed: a cross-site link arrives without the
    /// (`SameSite=Strict`) cookie, and must not sign the user out of their other tabs.
    SignIn { clear: bool, kind: Caller },
    /// An error page.
    Page {
        status: StatusCode,
        /// The API's error code, when the authority refused.
        code: Option<u32>,
        message: String,
    },
}

/// Who made the request, which decides how "sign in again" is said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caller {
    /// A page load or form post: a redirect.
    Browser,
    /// An htmx refresh: it follows redirects itself, so it gets `HX-Redirect` instead.
    Htmx,
    /// `keygen.js` asking for JSON: a 401 it can show.
    Script,
}

impl Caller {
    pub(crate) fn of(headers: &axum::http::HeaderMap) -> Self {
        if headers.contains_key("hx-request") {
            Caller::Htmx
        } else if headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("application/json"))
        {
            Caller::Script
        } else {
            Caller::Browser
        }
    }
}

impl PageError {
    pub(crate) fn forbidden(message: &str) -> Self {
        PageError::Page {
            status: StatusCode::FORBIDDEN,
            code: None,
            message: message.to_string(),
        }
    }

    pub(crate) fn not_found(message: &str) -> Self {
        PageError::Page {
            status: StatusCode::NOT_FOUND,
            code: None,
            message: message.to_string(),
        }
    }

    /// The HTTP status this error is answered with.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            PageError::SignIn { .. } => StatusCode::UNAUTHORIZED,
            PageError::Page { status, .. } => *status,
        }
    }

    /// The refusal as `keygen.js` reads it: the status, the API's code and the message.
    pub(crate) fn into_json(self) -> Response {
        let status = self.status();
        let (code, message, clear) = match self {
            PageError::SignIn { clear, .. } => (None, SIGNED_OUT.to_string(), clear),
            PageError::Page { code, message, .. } => (code, message, false),
        };
        let mut response = (status, axum::Json(Refusal { code, message })).into_response();
        if clear {
            response
                .headers_mut()
                .insert(header::SET_COOKIE, cleared_cookie());
        }
        response
    }

    /// The code and message shown beside a form field.
    pub(crate) fn field_message(&self) -> String {
        match self {
            PageError::SignIn { .. } => SIGNED_OUT.into(),
            PageError::Page {
                code: Some(code),
                message,
                ..
            } => format!("{message} (error {code})"),
            PageError::Page { message, .. } => message.clone(),
        }
    }
}

impl From<authority::Error> for PageError {
    fn from(error: authority::Error) -> Self {
        let api = ApiError::from(error);
        PageError::Page {
            status: api.code.status(),
            code: Some(api.code.number()),
            message: api.message,
        }
    }
}

/// What a request from an ended session is told.
const SIGNED_OUT: &str = "your session has ended; sign in again";

/// `{"code": …, "message": …}`: a refusal for `keygen.js`.
#[derive(serde::Serialize)]
struct Refusal {
    code: Option<u32>,
    message: String,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    reason: &'static str,
    code: Option<u32>,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let PageError::SignIn {
            kind: Caller::Script,
            ..
        } = self
        {
            return self.into_json();
        }
        match self {
            PageError::SignIn { clear, kind } => {
                let mut response = if kind == Caller::Htmx {
                    (
                        StatusCode::UNAUTHORIZED,
                        [(header::HeaderName::from_static("hx-redirect"), "/ui/login")],
                    )
                        .into_response()
                } else {
                    (StatusCode::SEE_OTHER, [(header::LOCATION, "/ui/login")]).into_response()
                };
                if clear {
                    response
                        .headers_mut()
                        .insert(header::SET_COOKIE, cleared_cookie());
                }
                response
            }
            PageError::Page {
                status,
                code,
                message,
            } => {
                let page = ErrorPage {
                    layout: Layout::anonymous("Error"),
                    status: status.as_u16(),
                    reason: status.canonical_reason().unwrap_or("Error"),
                    code,
                    message,
                };
                (status, render(&page)).into_response()
            }
        }
    }
}

/// A template's HTML; a template that fails to render is a bug, answered with a plain 500.
pub(crate) fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "a dashboard template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

pub(crate) async fn not_found() -> PageError {
    PageError::not_found("there is no such page")
}

pub(crate) fn panic_page(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a dashboard handler panicked");
    PageError::Page {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        code: None,
        message: "internal error; the server log has details".into(),
    }
    .into_response()
}
