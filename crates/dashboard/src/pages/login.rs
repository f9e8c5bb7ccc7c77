//! Sign in with an API token, and sign out.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::AppState;
use crate::error::{PageError, render};
use crate::pages::Layout;
use crate::session::{
    CsrfForm, Viewer, cleared_cookie, request_authority, same_origin, session_cookie,
};

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
    uri: axum::http::Uri,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    // Signing a victim in with the attacker's token is an attack too (login CSRF).
    same_origin(&headers, &uri)?;
    if !state.config.tls && !loopback(&headers, &uri) {
        let page = LoginPage {
            layout: Layout::anonymous("Sign in"),
            error: Some(
                "sign-in over plain HTTP is only allowed on localhost: serve over TLS \
                 (serve --tls-cert --tls-key) to sign in from another address"
                    .into(),
            ),
        };
        return Ok((StatusCode::FORBIDDEN, render(&page)).into_response());
    }
    match state
        .authority
        .open_session(&form.token, OffsetDateTime::now_utc())
        .await
    {
        Ok((cookie, _)) => Ok((
            [(header::SET_COOKIE, session_cookie(&cookie))],
            Redirect::to("/ui/"),
        )
            .into_response()),
        Err(error) => {
            let error = PageError::from(error);
            let page = LoginPage {
                layout: Layout::anonymous("Sign in"),
                error: Some(error.field_message()),
            };
            Ok((error.status(), render(&page)).into_response())
        }
    }
}

/// Whether the address the browser used is this machine (`localhost`, `*.localhost`, loopback
/// IPs): there plain HTTP never leaves the machine, and browsers treat it as a secure context.
fn loopback(headers: &HeaderMap, uri: &axum::http::Uri) -> bool {
    let authority = request_authority(headers, uri);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host),
    };
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

pub(crate) async fn logout(
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    viewer.check_write(&headers, form.csrf.as_deref())?;
    Ok((
        [(header::SET_COOKIE, cleared_cookie())],
        Redirect::to("/ui/login"),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, Uri};

    #[test]
    fn only_this_machine_counts_as_loopback() {
        let check = |host: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("host", HeaderValue::from_str(host).unwrap());
            super::loopback(&headers, &Uri::from_static("/ui/login"))
        };
        for yes in [
            "localhost:8080",
            "LOCALHOST",
            "app.localhost:1",
            "127.0.0.1:80",
            "127.1.2.3",
            "[::1]:8080",
        ] {
            assert!(check(yes), "{yes}");
        }
        for no in [
            "ca.example.com",
            "10.0.0.5:8080",
            "[2001:db8::1]:443",
            "localhost.evil.com",
            "",
        ] {
            assert!(!check(no), "{no}");
        }
    }
}
