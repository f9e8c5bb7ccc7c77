//! The error-code table and the one mapping from application errors to HTTP answers.
//!
//! Every failure leaves as `{"success": false, "errors": [{"code", "message"}], "messages": [],
//! "result": null}` with a 4xx/5xx status. State conflicts are 400, never 409: the official SDKs
//! retry 408/409/429/5xx. The table is repeated in README.md (a test keeps them in step).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use authority::Error;

/// Declares `ErrorCode`, its `ALL` list and its exhaustive `row` match from one table, so a code
/// cannot exist without its number, status and meaning, nor be missing from `ALL`.
macro_rules! error_codes {
    ($($variant:ident = ($number:literal, $status:literal, $meaning:literal),)*) => {
        /// One row per error code clientca answers with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            /// Every code, in the order of README.md's table.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// (code, HTTP status, what it means) — the row README.md reproduces.
            pub fn row(self) -> (u32, u16, &'static str) {
                match self {
                    $(ErrorCode::$variant => ($number, $status, $meaning),)*
                }
            }
        }
    };
}

error_codes! {
    Internal = (1000, 500, "internal error (details are logged, never returned)"),
    InvalidJson = (1001, 400, "the body is not valid JSON, or not a JSON object"),
    UnsupportedContentType = (1002, 415, "a body was sent without Content-Type: application/json"),
    BodyTooLarge = (1003, 413, "the body exceeds the size limit"),
    InvalidQuery = (1004, 400, "a query parameter has an invalid value"),
    InvalidField = (1005, 400, "a body field is missing or has the wrong type"),
    InvalidCsr = (1100, 400, "the CSR is malformed, badly signed, or outside key/subject policy"),
    InvalidValidity = (1101, 400, "validity_days is not an integer in range, or outlives the CA"),
    CertificateNotFound = (1102, 404, "no such client certificate in this zone"),
    CertificateRevoked = (1103, 400, "a revoked certificate cannot be reactivated"),
    InvalidHostname = (1104, 400, "a hostname association is not a valid hostname"),
    UnknownCertificateAuthority = (1105, 400, "mtls_certificate_id names no CA of the zone's account"),
    InvalidArgument = (1106, 400, "an argument has an invalid value (e.g. revocation reason)"),
    MtlsCertificateNotFound = (1107, 404, "no such uploaded CA certificate in this account"),
    InvalidMtlsCertificate = (1108, 400, "not one or more valid, unexpired CA certificates, issuer first"),
    MtlsCertificateInUse = (1109, 400, "the uploaded CA is associated with hostnames; remove them first"),
    MtlsCertificateLimit = (1489, 400, "Hit maximum CA cert allocation (uploaded CAs per account)"),
    CertificateQuotaReached = (1110, 400, "the zone holds as many unrevoked certificates as its quota allows"),
    RequestTimeout = (1007, 408, "the request was not received and handled within the time limit"),
    RateLimited = (1008, 429, "too many requests for this token or address; see Retry-After"),
    StorageFull = (1009, 503, "the database's storage is full; nothing was written, retry later"),
    NoRoute = (7000, 404, "no route for that URI"),
    MethodNotAllowed = (7001, 405, "method not allowed for that URI"),
    MalformedAuthorization = (6111, 400, "the Authorization header is not `Bearer <token>`"),
    MissingCredentials = (9106, 400, "no Authorization or X-Auth-Email/X-Auth-Key headers"),
    InvalidLegacyKey = (9103, 401, "unknown X-Auth-Key or X-Auth-Email"),
    ZoneNotAccessible = (9109, 403, "the credential does not reach this zone (or it does not exist)"),
    MissingPermission = (9110, 403, "the credential lacks the permission (ssl:read / ssl:edit)"),
    InvalidToken = (10000, 401, "invalid or revoked API token"),
    ExpiredToken = (10001, 401, "the API token has expired"),
}

impl ErrorCode {
    pub fn number(self) -> u32 {
        self.row().0
    }

    pub fn status(self) -> StatusCode {
        StatusCode::from_u16(self.row().1).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn meaning(self) -> &'static str {
        self.row().2
    }
}

/// Seconds a client is told to wait when the database's storage is full.
const STORAGE_FULL_RETRY_AFTER: u64 = 30;

/// An error answer: one code, one message.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Seconds, sent as `Retry-After` (rate limiting).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 404 for a path nothing answers (or one that names nothing that could exist).
    pub fn no_route(path: &str) -> Self {
        Self::new(ErrorCode::NoRoute, format!("No route for that URI: {path}"))
    }

    /// 429 with the whole seconds to wait, rounded up.
    pub fn rate_limited(wait: std::time::Duration) -> Self {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Self {
            retry_after: Some(seconds.max(1)),
            ..Self::new(
                ErrorCode::RateLimited,
                format!("rate limit exceeded; retry in {} s", seconds.max(1)),
            )
        }
    }
}

/// `{"code": 1100, "message": "…"}`
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: u32,
    pub message: String,
}

/// The failure envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    /// Always `false`.
    pub success: bool,
    pub errors: Vec<ErrorDetail>,
    pub messages: Vec<String>,
    /// Always `null`.
    #[schema(value_type = Option<Object>)]
    pub result: Option<()>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorEnvelope {
            success: false,
            errors: vec![ErrorDetail {
                code: self.code.number(),
                message: self.message,
            }],
            messages: Vec::new(),
            result: None,
        };
        let mut response = (self.code.status(), axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.code.status() == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let code = match &error {
            Error::MissingCredentials => ErrorCode::MissingCredentials,
            Error::MalformedCredentials(_) => ErrorCode::MalformedAuthorization,
            Error::InvalidToken => ErrorCode::InvalidToken,
            Error::InvalidLegacyKey => ErrorCode::InvalidLegacyKey,
            Error::ExpiredToken => ErrorCode::ExpiredToken,
            Error::ZoneNotAccessible => ErrorCode::ZoneNotAccessible,
            Error::MissingPermission(_) => ErrorCode::MissingPermission,
            Error::CertificateNotFound => ErrorCode::CertificateNotFound,
            Error::UnknownCertificateAuthority(_) => ErrorCode::UnknownCertificateAuthority,
            Error::InvalidCsr(_) => ErrorCode::InvalidCsr,
            Error::InvalidValidity(_) => ErrorCode::InvalidValidity,
            Error::CertificateRevoked => ErrorCode::CertificateRevoked,
            Error::InvalidHostname(_) => ErrorCode::InvalidHostname,
            Error::MtlsCertificateNotFound => ErrorCode::MtlsCertificateNotFound,
            Error::InvalidMtlsCertificate(_) => ErrorCode::InvalidMtlsCertificate,
            Error::MtlsCertificateInUse(_) => ErrorCode::MtlsCertificateInUse,
            Error::MtlsCertificateLimit(_) => ErrorCode::MtlsCertificateLimit,
            Error::CertificateQuotaReached(_) => ErrorCode::CertificateQuotaReached,
            Error::InvalidArgument(_)
            | Error::InvalidReason(_)
            | Error::InvalidId(_)
            | Error::InvalidImportedCa(_) => ErrorCode::InvalidArgument,
            Error::NotFound(_) => ErrorCode::NoRoute,
            Error::StorageFull => {
                return ApiError {
                    retry_after: Some(STORAGE_FULL_RETRY_AFTER),
                    ..ApiError::new(ErrorCode::StorageFull, error.to_string())
                };
            }
            Error::MasterKey(_)
            | Error::Ca(_)
            | Error::Issue(_)
            | Error::Crl(_)
            | Error::Ocsp(_)
            | Error::OpenDatabase { .. }
            | Error::SerialExhausted
            | Error::Store(_) => {
                tracing::error!(error = %error, "request failed");
                return ApiError::new(
                    ErrorCode::Internal,
                    "internal error; the server log has details",
                );
            }
        };
        ApiError::new(code, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn codes_have_distinct_numbers_and_error_statuses() {
        let numbers: HashSet<u32> = ErrorCode::ALL.iter().map(|c| c.number()).collect();
        assert_eq!(
            numbers.len(),
            ErrorCode::ALL.len(),
            "two codes share a number"
        );
        for code in ErrorCode::ALL {
            let status = code.status();
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{code:?}"
            );
            assert_eq!(status.as_u16(), code.row().1, "{code:?} has a real status");
        }
    }
}
