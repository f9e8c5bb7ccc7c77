//! `/accounts/{account_id}/mtls_certificates`: CA certificates an account uploads so that the
//! gateway accepts client certificates they issued (Cloudflare's "bring your own CA"). Only CA
//! certificates are stored (`ca: true`); they are associated with hostnames through
//! `hostname_associations` with `mtls_certificate_id`.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use authority::{MtlsCertificateRecord, MtlsCertificateUpload, ids};

use crate::AppState;
use crate::dto::{Envelope, timestamp};
use crate::error::{ApiError, ErrorCode, ErrorEnvelope};
use crate::extract::{Caller, JsonBody, PathParams};

const TAG: &str = "mTLS Certificates";

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct UploadMtlsCertificate {
    /// Must be `true`: clientca stores CA certificates only.
    #[schema(required = true)]
    ca: Option<bool>,
    /// One CA certificate, or a chain issuer-first, as PEM.
    #[schema(required = true)]
    certificates: Option<String>,
    /// Unique within the account.
    name: Option<String>,
    /// Refused: clientca keeps no private keys for uploaded certificates.
    private_key: Option<String>,
}

/// An uploaded CA certificate as the Cloudflare API describes it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MtlsCertificate {
    /// UUID of the certificate.
    id: String,
    /// Always `true`.
    ca: bool,
    /// The uploaded certificates as PEM, one block each.
    certificates: String,
    /// `YYYY-MM-DDTHH:MM:SSZ`: the earliest expiry in the bundle.
    expires_on: String,
    /// The (first) certificate's issuer, RFC 4514.
    issuer: String,
    name: Option<String>,
    /// The (first) certificate's serial number, decimal.
    serial_number: String,
    /// Its signature algorithm, e.g. `ECDSAWithSHA256`, `SHA256WithRSA`.
    signature: String,
    /// Always `custom` (uploaded by the account).
    #[serde(rename = "type")]
    kind: &'static str,
    uploaded_on: String,
    updated_at: String,
}

impl From<MtlsCertificateRecord> for MtlsCertificate {
    fn from(record: MtlsCertificateRecord) -> Self {
        Self {
            id: record.id.to_string(),
            ca: true,
            certificates: record.certificates_pem,
            expires_on: timestamp(record.expires_on),
            issuer: record.issuer,
            name: record.name,
            serial_number: record.serial_number,
            signature: record.signature,
            kind: "custom",
            uploaded_on: timestamp(record.uploaded_on),
            updated_at: timestamp(record.updated_at),
        }
    }
}

/// Where an uploaded CA certificate is in use: one entry per associated hostname.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CertificateAssociation {
    /// Always `gateway`: the service that enforces the association.
    service: &'static str,
    /// `active`: the gateway requires this CA on the hostname.
    status: &'static str,
    hostname: String,
    zone_id: String,
}

type Answer<T> = Result<Json<Envelope<T>>, ApiError>;

#[utoipa::path(
    post,
    path = "/accounts/{account_id}/mtls_certificates",
    operation_id = "mtls-certificates-upload",
    tag = TAG,
    params(("account_id" = String, Path, description = "Account identifier (32 hex characters)")),
    request_body = UploadMtlsCertificate,
    responses(
        (status = 200, description = "The stored CA certificate", body = Envelope<MtlsCertificate>),
        (status = "4XX", description = "Refused; nothing was written", body = ErrorEnvelope),
    ),
    security(("api_token" = []), ("api_key" = [], "api_email" = []))
)]
pub(crate) async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(account_id): PathParams<String>,
    JsonBody(body): JsonBody<UploadMtlsCertificate>,
) -> Answer<MtlsCertificate> {
    let account_id = ids::account(&account_id)?;
    let (Some(ca), Some(certificates)) = (body.ca, body.certificates) else {
        return Err(ApiError::new(
            ErrorCode::InvalidField,
            "ca and certificates are required",
        ));
    };
    let upload = MtlsCertificateUpload {
        ca,
        certificates,
        name: body.name,
        private_key: body.private_key,
    };
    let record = state
        .authority
        .upload_mtls_certificate(&caller.principal, &account_id, upload, caller.actor)
        .await?;
    Ok(Json(Envelope::new(record.into())))
}

#[utoipa::path(
    get,
    path = "/accounts/{account_id}/mtls_certificates",
    operation_id = "mtls-certificates-list",
    tag = TAG,
    params(("account_id" = String, Path, description = "Account identifier (32 hex characters)")),
    responses(
        (status = 200, description = "Every CA certificate the account uploaded, oldest first (one page)", body = Envelope<Vec<MtlsCertificate>>),
        (status = "4XX", description = "Refused", body = ErrorEnvelope),
    ),
    security(("api_token" = []), ("api_key" = [], "api_email" = []))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(account_id): PathParams<String>,
) -> Answer<Vec<MtlsCertificate>> {
    let records = state
        .authority
        .mtls_certificates(&caller.principal, &ids::account(&account_id)?)
        .await?;
    Ok(Json(Envelope::new(
        records.into_iter().map(Into::into).collect(),
    )))
}

#[utoipa::path(
    get,
    path = "/accounts/{account_id}/mtls_certificates/{mtls_certificate_id}",
    operation_id = "mtls-certificates-get",
    tag = TAG,
    params(
        ("account_id" = String, Path, description = "Account identifier (32 hex characters)"),
        ("mtls_certificate_id" = String, Path, description = "The uploaded certificate's id"),
    ),
    responses(
        (status = 200, description = "The CA certificate", body = Envelope<MtlsCertificate>),
        (status = "4XX", description = "Refused or not found", body = ErrorEnvelope),
    ),
    security(("api_token" = []), ("api_key" = [], "api_email" = []))
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((account_id, id)): PathParams<(String, String)>,
) -> Answer<MtlsCertificate> {
    let record = state
        .authority
        .mtls_certificate(
            &caller.principal,
            &ids::account(&account_id)?,
            &ids::mtls_certificate(&id)?,
        )
        .await?;
    Ok(Json(Envelope::new(record.into())))
}

#[utoipa::path(
    delete,
    path = "/accounts/{account_id}/mtls_certificates/{mtls_certificate_id}",
    operation_id = "mtls-certificates-delete",
    tag = TAG,
    params(
        ("account_id" = String, Path, description = "Account identifier (32 hex characters)"),
        ("mtls_certificate_id" = String, Path, description = "The uploaded certificate's id"),
    ),
    responses(
        (status = 200, description = "The deleted CA certificate", body = Envelope<MtlsCertificate>),
        (status = "4XX", description = "Refused (e.g. still associated with hostnames); nothing was deleted", body = ErrorEnvelope),
    ),
    security(("api_token" = []), ("api_key" = [], "api_email" = []))
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((account_id, id)): PathParams<(String, String)>,
) -> Answer<MtlsCertificate> {
    let record = state
        .authority
        .delete_mtls_certificate(
            &caller.principal,
            &ids::account(&account_id)?,
            &ids::mtls_certificate(&id)?,
            caller.actor,
        )
        .await?;
    Ok(Json(Envelope::new(record.into())))
}

#[utoipa::path(
    get,
    path = "/accounts/{account_id}/mtls_certificates/{mtls_certificate_id}/associations",
    operation_id = "mtls-certificates-associations",
    tag = TAG,
    params(
        ("account_id" = String, Path, description = "Account identifier (32 hex characters)"),
        ("mtls_certificate_id" = String, Path, description = "The uploaded certificate's id"),
    ),
    responses(
        (status = 200, description = "The hostnames requiring this CA", body = Envelope<Vec<CertificateAssociation>>),
        (status = "4XX", description = "Refused or not found", body = ErrorEnvelope),
    ),
    security(("api_token" = []), ("api_key" = [], "api_email" = []))
)]
pub(crate) async fn associations(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((account_id, id)): PathParams<(String, String)>,
) -> Answer<Vec<CertificateAssociation>> {
    let associations = state
        .authority
        .mtls_certificate_associations(
            &caller.principal,
            &ids::account(&account_id)?,
            &ids::mtls_certificate(&id)?,
        )
        .await?;
    Ok(Json(Envelope::new(
        associations
            .into_iter()
            .map(|(hostname, zone_id)| CertificateAssociation {
                service: "gateway",
                status: "active",
                hostname,
                zone_id: zone_id.to_string(),
            })
            .collect(),
    )))
}
