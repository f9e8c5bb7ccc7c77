//! `GET /user/tokens/verify`: is this API token valid?

use axum::Json;

use crate::dto::{Envelope, TokenStatus, timestamp};
use crate::error::{ApiError, ErrorCode, ErrorEnvelope};
use crate::extract::Caller;

#[utoipa::path(
    get,
    path = "/user/tokens/verify",
    operation_id = "user-tokens-verify",
    tag = "User API Tokens",
    responses(
        (status = 200, description = "The token is valid", body = Envelope<TokenStatus>),
        (status = "4XX", description = "Missing, invalid or expired token", body = ErrorEnvelope),
    ),
    security(("api_token" = []))
)]
pub(crate) async fn verify(caller: Caller) -> Result<Json<Envelope<TokenStatus>>, ApiError> {
    let token = caller.principal.token;
    if token.email.is_some() {
        return Err(ApiError::new(
            ErrorCode::InvalidToken,
            "a global API key is not an API token; send Authorization: Bearer <token>",
        ));
    }
    Ok(Json(Envelope::new(TokenStatus {
        id: token.id.to_string(),
        status: "active".into(),
        expires_on: token.expires_at.map(timestamp),
    })))
}
