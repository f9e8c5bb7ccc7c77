//! `X-Request-Id` on every answer, and on the request's log span: a user's error report names it,
//! and the operator finds the request in the log. A caller's own id is kept when it is a sane
//! token (a proxy's or a client's correlation id); anything else is replaced, so no caller can
//! write arbitrary text into the log or an answer.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const MAX_LENGTH: usize = 128;

/// Keep the caller's id if it is 1–128 characters of `A-Z a-z 0-9 - _ . :`, else mint a UUID.
fn accepted(value: Option<&HeaderValue>) -> HeaderValue {
    value
        .filter(|value| {
            let bytes = value.as_bytes();
            (1..=MAX_LENGTH).contains(&bytes.len())
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
        })
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
                .unwrap_or_else(|_| HeaderValue::from_static("invalid"))
        })
}

/// The outermost layer: fixes the id before anything (the log span included) reads it.
pub(crate) async fn request_id(mut request: Request, next: Next) -> Response {
    let id = accepted(request.headers().get(&REQUEST_ID));
    request.headers_mut().insert(REQUEST_ID, id.clone());
    let mut response = next.run(request).await;
    response.headers_mut().insert(REQUEST_ID, id);
    response
}

/// Answers that refused something are logged at INFO (a user's error report finds its line by
/// the id); the rest at DEBUG, so a busy server's log stays quiet.
pub(crate) fn log_response(response: &Response, latency: Duration, _span: &tracing::Span) {
    let status = response.status().as_u16();
    let latency_ms = latency.as_secs_f64() * 1000.0;
    if status >= 400 {
        tracing::info!(status, latency_ms, "answered with an error");
    } else {
        tracing::debug!(status, latency_ms, "answered");
    }
}

/// The id of a request that went through [`request_id`] (for the log span).
pub(crate) fn of(request: &axum::http::Request<axum::body::Body>) -> &str {
    request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids_are_kept_and_anything_else_replaced() {
        for kept in [
            "abc-123",
            "7f1c2a3e-0000-4000-8000-000000000000",
            "req:1.2_3",
        ] {
            let value = HeaderValue::from_static(kept);
            assert_eq!(accepted(Some(&value)), value);
        }
        let long = "a".repeat(MAX_LENGTH + 1);
        for replaced in ["", "has space", "new\tline", "<script>", long.as_str()] {
            let value = HeaderValue::from_str(replaced).unwrap();
            let minted = accepted(Some(&value));
            assert_ne!(minted, value, "{replaced:?}");
            assert!(uuid::Uuid::parse_str(minted.to_str().unwrap()).is_ok());
        }
        assert!(uuid::Uuid::parse_str(accepted(None).to_str().unwrap()).is_ok());
    }
}
