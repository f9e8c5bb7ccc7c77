//! Who is looking: the session cookie, resumed on every request, and the checks a write needs.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use time::OffsetDateTime;

use authority::{Actor, Error, Session};

use crate::AppState;
use crate::error::{Caller, PageError};

/// `__Host-`: the browser keeps it only if `Secure`, `Path=/` and without `Domain`, so no other
/// host (a sibling subdomain) can set or shadow it.
pub(crate) const SESSION_COOKIE: &str = "__Host-clientca-session";

/// The `Set-Cookie` value that starts a session. No `Max-Age`: the browser forgets it when it
/// closes; the sealed expiry ([`authority::SESSION_LIFETIME`]) ends it sooner.
pub(crate) fn session_cookie(value: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; Secure; SameSite=Strict"
    ))
    .expect("base64url cookie values are valid header text")
}

/// The `Set-Cookie` value that ends one.
pub(crate) fn cleared_cookie() -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict"
    ))
    .expect("a constant cookie is valid header text")
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A signed-in user: the session and the actor its writes are audited under.
pub(crate) struct Viewer {
    pub session: Session,
    pub actor: Actor,
    /// The request's URI (its authority stands in for `Host` on HTTP/2).
    uri: axum::http::Uri,
}

impl Viewer {
    /// A write must come from one of this origin's own pages and carry the session's CSRF
    /// token. (Whether the token may write is the authority's check: every write handler asks
    /// for its zone with `Permission::Edit`.)
    pub(crate) fn check_write(
        &self,
        headers: &HeaderMap,
        csrf: Option<&str>,
    ) -> Result<(), PageError> {
        same_origin(headers, &self.uri)?;
        if !self.session.accepts_csrf(csrf.unwrap_or("")) {
            return Err(PageError::forbidden(
                "this form has expired or did not come from this dashboard; reload the page and try again",
            ));
        }
        Ok(())
    }
}

/// Refuse a request a browser marks as coming from another site. Browsers send
/// `Sec-Fetch-Site`; older ones at least `Origin` on a POST. A client that sends neither is not a
/// browser, so not a confused deputy; it still needs the CSRF token.
pub(crate) fn same_origin(headers: &HeaderMap, uri: &axum::http::Uri) -> Result<(), PageError> {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site")) {
        return match site {
            "same-origin" | "none" => Ok(()),
            _ => Err(PageError::forbidden(
                "cross-site requests cannot change anything here",
            )),
        };
    }
    if let Some(origin) = text(header::ORIGIN) {
        let host = request_authority(headers, uri);
        let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
        if origin == "null" || !origin_host.eq_ignore_ascii_case(host) {
            return Err(PageError::forbidden(
                "cross-site requests cannot change anything here",
            ));
        }
    }
    Ok(())
}

/// The `host[:port]` the browser addressed: `Host` on HTTP/1.1, `:authority` (in the URI) on
/// HTTP/2; empty when neither is there.
pub(crate) fn request_authority<'a>(headers: &'a HeaderMap, uri: &'a axum::http::Uri) -> &'a str {
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or("")
}

/// A form whose only field is the CSRF token (sign out, undo a revocation).
#[derive(serde::Deserialize)]
pub(crate) struct CsrfForm {
    pub csrf: Option<String>,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let kind = Caller::of(&parts.headers);
        let value = cookie(&parts.headers, SESSION_COOKIE)
            .ok_or(PageError::SignIn { clear: false, kind })?;
        let session = state
            .authority
            .resume_session(value, OffsetDateTime::now_utc())
            .await
            .map_err(|error| match error {
                Error::InvalidToken | Error::ExpiredToken | Error::InvalidLegacyKey => {
                    PageError::SignIn { clear: true, kind }
                }
                other => PageError::from(other),
            })?;
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string());
        let actor = session.principal.actor(peer);
        Ok(Viewer {
            session,
            actor,
            uri: parts.uri.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use axum::http::Uri;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let map = headers(&[
            ("cookie", "a=1; __Host-clientca-session=abc"),
            ("cookie", "b=2"),
        ]);
        assert_eq!(cookie(&map, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers(&[("cookie", "x=1")]), SESSION_COOKIE), None);
    }

    #[test]
    fn cross_site_requests_are_refused_and_same_origin_ones_pass() {
        for ok in [
            headers(&[("sec-fetch-site", "same-origin")]),
            headers(&[
                ("host", "ca.example:8080"),
                ("origin", "https://ca.example:8080"),
            ]),
            headers(&[]),
        ] {
            assert!(
                same_origin(&ok, &Uri::from_static("/ui/")).is_ok(),
                "{ok:?}"
            );
        }
        for refused in [
            headers(&[("sec-fetch-site", "cross-site")]),
            headers(&[("sec-fetch-site", "same-site")]),
            headers(&[("host", "ca.example"), ("origin", "https://evil.example")]),
            headers(&[("host", "ca.example"), ("origin", "null")]),
        ] {
            assert!(
                same_origin(&refused, &Uri::from_static("/ui/")).is_err(),
                "{refused:?}"
            );
        }
        // HTTP/2: no Host header, the authority is in the URI.
        let h2 = Uri::from_static("https://ca.example:8443/ui/login");
        let origin = headers(&[("origin", "https://ca.example:8443")]);
        assert!(same_origin(&origin, &h2).is_ok());
        let foreign = headers(&[("origin", "https://evil.example")]);
        assert!(same_origin(&foreign, &h2).is_err());
    }
}
