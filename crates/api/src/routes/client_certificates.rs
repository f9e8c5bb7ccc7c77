//! `/zones/{zone_id}/client_certificates[/{id}]`: the five Client Certificates operations.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use authority::{CertificateStatus, IssueRequest, ListRequest, Permission, RevocationReason, ids};

use crate::AppState;
use crate::dto::{ClientCertificate, Envelope, list_envelope};
use crate::error::{ApiError, ErrorCode, ErrorEnvelope};
use crate::extract::{Caller, JsonBody, OptionalJsonBody, PathParams, QueryPairs};

const TAG: &str = "Client Certificates";
use crate::{CERTIFICATES_PER_PAGE, CERTIFICATES_PER_PAGE_RANGE};

type CertificateResponse = Result<Json<Envelope<ClientCertificate>>, ApiError>;

/// `POST` body. Fields are taken as raw JSON so type errors get specific messages.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct CreateClientCertificate {
    /// PEM CSR (one `CERTIFICATE REQUEST` block).
    #[schema(value_type = String)]
    csr: Option<serde_json::Value>,
    /// Days of validity, an integer from 1 to the configured maximum (default 3650).
    #[schema(value_type = i64, minimum = 1)]
    validity_days: Option<serde_json::Value>,
}

/// `PATCH` body: empty, `{}` or `{"reactivate": true}` reactivate; `{"reactivate": false}` does nothing.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct EditClientCertificate {
    reactivate: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the query string for OpenAPI; parsing is done by `list_request`
pub(crate) struct ListParams {
    /// `all` (default), `active`, `pending_revocation`, `revoked` or `pending_reactivation`.
    #[param(value_type = Option<StatusFilter>, inline)]
    status: Option<String>,
    /// Page number, ≥ 1 (default 1).
    page: Option<u64>,
    /// Items per page, clamped to 5…50 (default 20).
    per_page: Option<u64>,
    /// Cap on the filtered set before paging.
    limit: Option<u64>,
    /// Items of the filtered set to skip before paging.
    offset: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the query string for OpenAPI; parsed in `revoke`
pub(crate) struct RevokeParams {
    /// RFC 5280 reason (default `unspecified`); names match case-insensitively.
    #[param(value_type = Option<RevocationReasonName>, inline)]
    reason: Option<String>,
}

// Documents the values only; `list_request` parses the text.
/// Which certificates to list.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub(crate) enum StatusFilter {
    All,
    Active,
    PendingRevocation,
    Revoked,
    PendingReactivation,
}

// Documents the values only; the text is parsed as `authority::RevocationReason`.
/// Why the certificate is revoked: an RFC 5280 CRLReason name that applies to a client
/// certificate.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub(crate) enum RevocationReasonName {
    #[serde(rename = "unspecified")]
    Unspecified,
    #[serde(rename = "keyCompromise")]
    KeyCompromise,
    #[serde(rename = "affiliationChanged")]
    AffiliationChanged,
    #[serde(rename = "superseded")]
    Superseded,
    #[serde(rename = "cessationOfOperation")]
    CessationOfOperation,
    #[serde(rename = "privilegeWithdrawn")]
    PrivilegeWithdrawn,
}

#[utoipa::path(
    post,
    path = "/zones/{zone_id}/client_certificates",
    operation_id = "client-certificate-create",
    tag = TAG,
    params(("zone_id" = String, Path, description = "Zone identifier (32 hex characters)")),
    request_body = CreateClientCertificate,
    responses(
        (status = 200, description = "Issued; the certificate row is committed", body = Envelope<ClientCertificate>),
        (status = "4XX", description = "Refused; nothing was written", body = ErrorEnvelope),
    ),
    security(("api_token" = []), ("api_key" = [], "api_email" = []))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(zone_id): PathParams<String>,
    JsonBody(body): JsonBody<CreateClientCertificate>,
) -> CertificateResponse {
    let zone = state
        .authority
        .authorize_zone(&caller.principal, &ids::zone(&zone_id)?, Permission::Edit)
        .await?;
    let request = IssueRequest {
        csr: required_string(body.csr, "csr")?,
        validity_days: required_integer(body.validity_days, "validity_days")?,
    };
    let record = state
        .authority
        .issue_certificate(&zone, request, caller.actor)
        .await?;
    Ok(Json(Envelope::new(record.into())))
}

#[utoipa::path(
    get,
    path = "/zones/{zone_id}/client_certificates",
    operation_id = "client-certificate-list",
    tag = TAG,
    params(("zone_id" = String, Path, description = "Zone identifier"), ListParams),
    responses(
        (status = 200, description = "A page (empty past the end)", body = Envelope<Vec<ClientCertificate>>),
        (status = "4XX", description = "Refused", body = ErrorEnvelope),
    ),
    security(("api_token" = []), ("api_key" = [], "api_email" = []))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(zone_id): PathParams<String>,
    query: QueryPairs,
) -> Result<Json<Envelope<Vec<ClientCertificate>>>, ApiError> {
    let zone = state
        .authority
        .authorize_zone(&caller.principal, &ids::zone(&zone_id)?, Permission::Read)
        .await?;
    let request = list_request(&query)?;
    let listed = state.authority.list_certificates(&zone, &request).await?;
    Ok(Json(list_envelope(listed)))
}

#[utoipa::path(
    get,
    path = "/zones/{zone_id}/client_certificates/{client_certificate_id}",
    operation_id = "client-certificate-details",
    tag = TAG,
    params(
        ("zone_id" = String, Path, description = "Zone identifier"),
        ("client_certificate_id" = String, Path, description = "Certificate id (UUID)"),
    ),
    responses(
        (status = 200, description = "The certificate", body = Envelope<ClientCertificate>),
        (status = "4XX", description = "Unknown id, or refused", body = ErrorEnvelope),
    ),
    security(("api_token" = []), ("api_key" = [], "api_email" = []))
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((zone_id, id)): PathParams<(String, String)>,
) -> CertificateResponse {
    let zone = state
        .authority
        .authorize_zone(&caller.principal, &ids::zone(&zone_id)?, Permission::Read)
        .await?;
    let record = state
        .authority
        .certificate(&zone, &ids::certificate(&id)?)
        .await?;
    Ok(Json(Envelope::new(record.into())))
}

#[utoipa::path(
    delete,
    path = "/zones/{zone_id}/client_certificates/{client_certificate_id}",
    operation_id = "client-certificate-revoke",
    tag = TAG,
    params(
        ("zone_id" = String, Path, description = "Zone identifier"),
        ("client_certificate_id" = String, Path, description = "Certificate id (UUID)"),
        RevokeParams,
    ),
    responses(
        (status = 200, description = "Revocation requested (pending_revocation), or already revoking/revoked", body = Envelope<ClientCertificate>),
        (status = "4XX", description = "Unknown id, or refused", body = ErrorEnvelope),
    ),
    security(("api_token" = []), ("api_key" = [], "api_email" = []))
)]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((zone_id, id)): PathParams<(String, String)>,
    query: QueryPairs,
) -> CertificateResponse {
    let zone = state
        .authority
        .authorize_zone(&caller.principal, &ids::zone(&zone_id)?, Permission::Edit)
        .await?;
    let id = ids::certificate(&id)?;
    let reason = query
        .get("reason")
        .map(str::parse::<RevocationReason>)
        .transpose()
        .map_err(authority::Error::from)?;
    let record = state
        .authority
        .revoke_certificate(&zone, &id, reason, caller.actor)
        .await?;
    Ok(Json(Envelope::new(record.into())))
}

#[utoipa::path(
    patch,
    path = "/zones/{zone_id}/client_certificates/{client_certificate_id}",
    operation_id = "client-certificate-reactivate",
    tag = TAG,
    params(
        ("zone_id" = String, Path, description = "Zone identifier"),
        ("client_certificate_id" = String, Path, description = "Certificate id (UUID)"),
    ),
    request_body(content = Option<EditClientCertificate>, description = "Empty, `{}` or `{\"reactivate\": true}`"),
    responses(
        (status = 200, description = "Reactivation requested (pending_reactivation), or unchanged", body = Envelope<ClientCertificate>),
        (status = "4XX", description = "Revoked (final), unknown id, or refused", body = ErrorEnvelope),
    ),
    security(("api_token" = []), ("api_key" = [], "api_email" = []))
)]
pub(crate) async fn reactivate(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((zone_id, id)): PathParams<(String, String)>,
    OptionalJsonBody(body): OptionalJsonBody<EditClientCertificate>,
) -> CertificateResponse {
    let zone = state
        .authority
        .authorize_zone(&caller.principal, &ids::zone(&zone_id)?, Permission::Edit)
        .await?;
    let id = ids::certificate(&id)?;
    let record = if body.reactivate == Some(false) {
        state.authority.certificate(&zone, &id).await?
    } else {
        state
            .authority
            .reactivate_certificate(&zone, &id, caller.actor)
            .await?
    };
    Ok(Json(Envelope::new(record.into())))
}

fn list_request(query: &QueryPairs) -> Result<ListRequest, ApiError> {
    let status = match query.get("status") {
        None | Some("all") => None,
        Some(text) => Some(text.parse::<CertificateStatus>().map_err(|_| {
            ApiError::new(
                ErrorCode::InvalidQuery,
                format!("status must be all, active, pending_revocation, revoked or pending_reactivation, got {text:?}"),
            )
        })?),
    };
    let (page, per_page) = query.paging(CERTIFICATES_PER_PAGE, CERTIFICATES_PER_PAGE_RANGE)?;
    Ok(ListRequest {
        status,
        page,
        per_page,
        offset: query.count("offset")?.unwrap_or(0),
        limit: query.count("limit")?,
    })
}

fn required_string(value: Option<serde_json::Value>, field: &str) -> Result<String, ApiError> {
    match value {
        Some(serde_json::Value::String(text)) => Ok(text),
        None | Some(serde_json::Value::Null) => Err(missing(field)),
        Some(_) => Err(ApiError::new(
            ErrorCode::InvalidField,
            format!("{field} must be a string"),
        )),
    }
}

fn required_integer(value: Option<serde_json::Value>, field: &str) -> Result<i64, ApiError> {
    match value {
        Some(serde_json::Value::Number(number)) => {
            number.as_i64().ok_or_else(|| not_integer(field))
        }
        None | Some(serde_json::Value::Null) => Err(missing(field)),
        Some(_) => Err(not_integer(field)),
    }
}

fn missing(field: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidField, format!("{field} is required"))
}

fn not_integer(field: &str) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidValidity,
        format!("{field} must be a JSON integer"),
    )
}
