//! JSON envelopes for what no route handles.

use axum::http::{Method, Uri};

use crate::error::{ApiError, ErrorCode};

pub(crate) async fn no_route(uri: Uri) -> ApiError {
    ApiError::no_route(uri.path())
}

pub(crate) async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!("Method {method} not allowed for {}", uri.path()),
    )
}
