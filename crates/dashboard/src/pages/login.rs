//! Sign in with an API token, and sign out.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::AppState;
use crate::error::{PageError, render};
use crate::pages::Layout;
use crate::session::{Viewer, cleared_cookie, same_origin, session_cookie};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    error: Option<String>,
}

pub(crate) async fn form() -> Response {
    render(&LoginPage {
        layout: Layout::anonymous("Sign in"),
        error: None,
    })
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    token: String,
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    // Signing a victim in with the attacker's token is an attack too (login CSRF).
    same_origin(&headers)?;
    match state
        .authority
        .open_session(&form.token, OffsetDateTime::now_utc())
        .await
    {
        Ok((cookie, _)) => Ok((
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, "/ui/".parse().expect("a valid location")),
                (header::SET_COOKIE, session_cookie(&cookie)),
            ],
        )
            .into_response()),
        Err(error) => {
            let error = PageError::from(error);
            let status = match &error {
                PageError::Page { status, .. } => *status,
                PageError::SignIn => StatusCode::UNAUTHORIZED,
            };
            let page = LoginPage {
                layout: Layout::anonymous("Sign in"),
                error: Some(error.field_message()),
            };
            Ok((status, render(&page)).into_response())
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct LogoutForm {
    csrf: Option<String>,
}

pub(crate) async fn logout(
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Result<Response, PageError> {
    viewer.check_write(&headers, form.csrf.as_deref())?;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (
                header::LOCATION,
                "/ui/login".parse().expect("a valid location"),
            ),
            (header::SET_COOKIE, cleared_cookie()),
        ],
    )
        .into_response())
}
