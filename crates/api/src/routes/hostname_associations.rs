//! `/zones/{zone_id}/certificate_authorities/hostname_associations`: where client certificates
//! from the zone's CA are required.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use authority::{Permission, ids};

use crate::AppState;
use crate::dto::{Envelope, HostnameAssociations};
use crate::error::{ApiError, ErrorCode, ErrorEnvelope};
use crate::extract::{Caller, JsonBody, PathParams, QueryPairs};

const TAG: &str = "Hostname Associations";
const PATH: &str = "/zones/{zone_id}/certificate_authorities/hostname_associations";

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ReplaceHostnameAssociations {
    /// The complete new list (replaces the old one; `[]` removes every association). Required:
    /// a body without it must not silently remove them all.
    #[schema(value_type = Vec<String>, required = true)]
    hostnames: Option<Vec<String>>,
    /// The CA's id (36 characters): the account's managed CA (the default) or a CA
    /// certificate uploaded through `/accounts/{account_id}/mtls_certificates`.
    mtls_certificate_id: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the query string for OpenAPI; read through QueryPairs
pub(crate) struct HostnameParams {
    /// The CA's id: the account's managed CA (the default) or an uploaded CA certificate.
    mtls_certificate_id: Option<String>,
}

#[utoipa::path(
    get,
    path = PATH,
    operation_id = "hostname-associations-get",
    tag = TAG,
    params(("zone_id" = String, Path, description = "Zone identifier"), HostnameParams),
    responses(
        (status = 200, description = "The associated hostnames", body = Envelope<HostnameAssociations>),
        (status = "4XX", description = "Refused", body = ErrorEnvelope),
    ),
    security(("api_token" = []), ("api_key" = [], "api_email" = []))
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(zone_id): PathParams<String>,
    query: QueryPairs,
) -> Result<Json<Envelope<HostnameAssociations>>, ApiError> {
    let zone = state
        .authority
        .authorize_zone(&caller.principal, &ids::zone(&zone_id)?, Permission::Read)
        .await?;
    let hostnames = state
        .authority
        .hostname_associations(&zone, query.get("mtls_certificate_id"))
        .await?;
    Ok(Json(Envelope::new(HostnameAssociations { hostnames })))
}

#[utoipa::path(
    put,
    path = PATH,
    operation_id = "hostname-associations-replace",
    tag = TAG,
    params(("zone_id" = String, Path, description = "Zone identifier")),
    request_body = ReplaceHostnameAssociations,
    responses(
        (status = 200, description = "The new list", body = Envelope<HostnameAssociations>),
        (status = "4XX", description = "Refused; nothing was written", body = ErrorEnvelope),
    ),
    security(("api_token" = []), ("api_key" = [], "api_email" = []))
)]
pub(crate) async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(zone_id): PathParams<String>,
    JsonBody(body): JsonBody<ReplaceHostnameAssociations>,
) -> Result<Json<Envelope<HostnameAssociations>>, ApiError> {
    let zone = state
        .authority
        .authorize_zone(&caller.principal, &ids::zone(&zone_id)?, Permission::Edit)
        .await?;
    let hostnames = body.hostnames.ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidField,
            "hostnames is required (send [] to remove every association)",
        )
    })?;
    let hostnames = state
        .authority
        .replace_hostname_associations(
            &zone,
            body.mtls_certificate_id.as_deref(),
            &hostnames,
            caller.actor,
        )
        .await?;
    Ok(Json(Envelope::new(HostnameAssociations { hostnames })))
}
