//! Request extraction with Cloudflare-style errors: credentials, path parameters, JSON bodies,
//! query strings.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use authority::{Actor, Credentials, Error as AuthError, Principal};

use crate::AppState;
use crate::error::{ApiError, ErrorCode};

/// An authenticated caller and the audit identity its changes are recorded under.
pub(crate) struct Caller {
    pub principal: Principal,
    pub actor: Actor,
}

impl<S> FromRequestParts<S> for Caller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let state = AppState::from_ref(state);
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        // An address already over its anonymous limit learns nothing: not even whether its
        // credentials were right.
        state.rate_limits.check_blocked(peer).map_err(|wait| {
            state.http_metrics.rate_limited("anonymous");
            ApiError::rate_limited(wait)
        })?;
        let authenticated = match credentials(parts) {
            Ok(credentials) => {
                state
                    .authority
                    .authenticate(&credentials, time::OffsetDateTime::now_utc())
                    .await
            }
            Err(error) => Err(error),
        };
        let principal = match authenticated {
            Ok(principal) => principal,
            Err(error) => {
                // Requests without valid credentials are limited per address (token guessing).
                state.rate_limits.check_anonymous(peer).map_err(|wait| {
                    state.http_metrics.rate_limited("anonymous");
                    ApiError::rate_limited(wait)
                })?;
                return Err(error.into());
            }
        };
        state
            .rate_limits
            .check_token(principal.token_id().as_str())
            .map_err(|wait| {
                state.http_metrics.rate_limited("token");
                ApiError::rate_limited(wait)
            })?;
        let actor = principal.actor(peer.map(|ip| ip.to_string()));
        Ok(Caller { principal, actor })
    }
}

fn credentials(parts: &Parts) -> Result<Credentials, AuthError> {
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .map(|v| {
                v.to_str()
                    .map(str::trim)
                    .map_err(|_| AuthError::MalformedCredentials("non-ASCII header"))
            })
            .transpose()
    };
    if let Some(authorization) = header(AUTHORIZATION.as_str())? {
        let (scheme, token) = authorization
            .split_once(' ')
            .ok_or(AuthError::MalformedCredentials("expected `Bearer <token>`"))?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(AuthError::MalformedCredentials("expected `Bearer <token>`"));
        }
        return Ok(Credentials::Bearer(token.trim().to_string()));
    }
    match (header("x-auth-email")?, header("x-auth-key")?) {
        (Some(email), Some(key)) => Ok(Credentials::LegacyKey {
            email: email.to_string(),
            key: key.to_string(),
        }),
        _ => Err(AuthError::MissingCredentials),
    }
}

/// A JSON object body. Empty bodies are refused unless `T: Default` is asked for via
/// [`OptionalJsonBody`].
pub(crate) struct JsonBody<T>(pub T);

/// A JSON body that may also be absent or empty (PATCH from SDK 4.x sends none).
pub(crate) struct OptionalJsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = read_json_bytes(request, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::new(
                ErrorCode::InvalidJson,
                "a JSON object body is required",
            ));
        }
        parse_object(&bytes).map(JsonBody)
    }
}

impl<S, T> FromRequest<S> for OptionalJsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = read_json_bytes(request, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJsonBody(T::default()));
        }
        parse_object(&bytes).map(OptionalJsonBody)
    }
}

/// The raw body, after checking its size (413) and, when non-empty, its content type (415).
async fn read_json_bytes<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let bytes = Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    ErrorCode::BodyTooLarge,
                    format!("the request body exceeds {} bytes", crate::MAX_BODY_BYTES),
                )
            } else {
                ApiError::new(ErrorCode::InvalidJson, rejection.body_text())
            }
        })?;
    let is_json = content_type.as_deref().is_some_and(|ct| {
        ct == "application/json" || (ct.starts_with("application/") && ct.ends_with("+json"))
    });
    if !bytes.iter().all(u8::is_ascii_whitespace) && !is_json {
        return Err(ApiError::new(
            ErrorCode::UnsupportedContentType,
            "send the body with Content-Type: application/json",
        ));
    }
    Ok(bytes)
}

fn parse_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidJson,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    if !value.is_object() {
        return Err(ApiError::new(
            ErrorCode::InvalidJson,
            "the body must be a JSON object",
        ));
    }
    serde_json::from_value(value).map_err(|e| ApiError::new(ErrorCode::InvalidField, e.to_string()))
}

/// Path parameters; a segment that does not decode (say `%FF`, not UTF-8) names nothing that
/// could exist, so it is answered like an unknown route rather than with axum's plain-text 400.
pub(crate) struct PathParams<T>(pub T);

impl<S, T> FromRequestParts<S> for PathParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| PathParams(value))
            .map_err(|_| ApiError::no_route(parts.uri.path()))
    }
}

/// Query parameters as (name, value) pairs, last one winning; undecodable strings are a 400.
pub(crate) struct QueryPairs(pub Vec<(String, String)>);

impl QueryPairs {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `page` (1 or more, default 1) and `per_page` (default `default_per_page`, clamped into
    /// `per_page_range`).
    pub(crate) fn paging(
        &self,
        default_per_page: u64,
        per_page_range: std::ops::RangeInclusive<u64>,
    ) -> Result<(u64, u64), ApiError> {
        let page = self.count("page")?.unwrap_or(1);
        if page == 0 {
            return Err(ApiError::new(
                ErrorCode::InvalidQuery,
                "page must be 1 or more",
            ));
        }
        let per_page = self
            .count("per_page")?
            .unwrap_or(default_per_page)
            .clamp(*per_page_range.start(), *per_page_range.end());
        Ok((page, per_page))
    }

    /// A non-negative integer; integral floats such as `2.0` are accepted (the SDKs type page
    /// numbers as floats).
    pub(crate) fn count(&self, name: &str) -> Result<Option<u64>, ApiError> {
        let Some(text) = self.get(name) else {
            return Ok(None);
        };
        parse_count(text).map(Some).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidQuery,
                format!("{name} must be a non-negative integer, got {text:?}"),
            )
        })
    }
}

/// The largest float that still represents every integer below it exactly.
const MAX_EXACT_FLOAT: f64 = 9_007_199_254_740_992.0;

fn parse_count(text: &str) -> Option<u64> {
    let text = text.trim();
    if let Ok(n) = text.parse::<u64>() {
        return Some(n);
    }
    let float: f64 = text.parse().ok()?;
    (float.is_finite() && float >= 0.0 && float.fract() == 0.0 && float <= MAX_EXACT_FLOAT)
        .then_some(float as u64)
}

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(pairs)| QueryPairs(pairs))
            .map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidQuery,
                    format!("the query string is malformed: {e}"),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_count;

    #[test]
    fn counts_accept_integers_and_integral_floats_only() {
        assert_eq!(parse_count("2"), Some(2));
        assert_eq!(parse_count("2.0"), Some(2));
        assert_eq!(parse_count("0"), Some(0));
        assert_eq!(parse_count("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "", "abc", "-1", "1.5", "NaN", "inf", "-0.5", "1e300", "0x10",
        ] {
            assert_eq!(parse_count(bad), None, "{bad:?}");
        }
    }
}
