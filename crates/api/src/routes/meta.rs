//! Health and the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::AppState;

/// `GET /healthz`: the process is up, its database answers, and publication passes keep
/// completing (else revocations would stay pending while everything else looks fine).
pub(crate) async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let health = state.authority.health().await;
    let (status, word) = if health.is_ok() {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    let body = json!({
        "status": word,
        "database": health.database,
        "database_ok": health.database_ok,
        "last_publication_seconds_ago": health.last_publication.map(|age| age.as_secs()),
        "publication_stale": health.publication_stale,
    });
    (status, Json(body))
}

/// `GET /client/v4/openapi.json`
pub(crate) async fn openapi(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], state.openapi)
}
