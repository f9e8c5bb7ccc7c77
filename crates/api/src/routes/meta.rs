//! Health and the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::AppState;

/// `GET /healthz`: the process is up and its database answers.
pub(crate) async fn healthz(
    State(state): State<AppState>,
) -> (axum::http::StatusCode, Json<Value>) {
    match state.authority.health().await {
        Ok(health) => (
            axum::http::StatusCode::OK,
            Json(json!({"status": "ok", "database": health.database})),
        ),
        Err(error) => {
            tracing::warn!(%error, "health check failed");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "database": state.authority.database_kind()})),
            )
        }
    }
}

/// `GET /client/v4/openapi.json`
pub(crate) async fn openapi(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], state.openapi)
}
