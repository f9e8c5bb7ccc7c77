//! One certificate: every field, its PEM, revocation (with a reason and a confirmation) and its
//! undo while the revocation is still pending.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use authority::{
    CertificateId, CertificateRecord, CertificateStatus, Permission, RevocationReason, Zone,
    ZoneId, ids,
};

use crate::AppState;
use crate::error::{PageError, render};
use crate::format;
use crate::pages::{Layout, attachment, certificate_url, zone};
use crate::session::{CsrfForm, Viewer};

struct Field {
    name: &'static str,
    value: String,
}

#[derive(Template)]
#[template(path = "certificate.html")]
struct DetailsPage {
    layout: Layout,
    zone_id: String,
    zone_name: String,
    id: String,
    common_name: String,
    status: &'static str,
    status_label: &'static str,
    pending: bool,
    /// Revocable: active, or on its way back to active.
    can_revoke: bool,
    /// A revocation not yet published can still be undone.
    can_undo: bool,
    revocation: Option<String>,
    expiry: format::Expiry,
    fields: Vec<Field>,
    certificate_pem: String,
    ca_id: String,
    file_stem: String,
    can_edit: bool,
}

fn fields(record: &CertificateRecord) -> Vec<Field> {
    let field = |name, value: &str| Field {
        name,
        value: value.to_string(),
    };
    vec![
        field("ID", record.id.as_ref()),
        field("Common name", &record.common_name),
        field("Organization", &record.organization),
        field("Organizational unit", &record.organizational_unit),
        field("Country", &record.country),
        field("State", &record.state),
        field("Location", &record.location),
        field("Serial number", &record.serial_number.to_decimal()),
        field(
            "Serial number (hex)",
            &format!("{:x}", record.serial_number.value()),
        ),
        field("Issued", &format::date_time(record.issued_on)),
        field("Expires", &format::date_time(record.expires_on)),
        field("Validity", &format!("{} days", record.validity_days)),
        field("Signature", &record.signature),
        field("SHA-256 fingerprint", &record.fingerprint_sha256),
        field("Subject key identifier", &record.ski),
        field("Certificate authority", &record.ca_name),
        field("Certificate authority ID", record.ca_id.as_ref()),
    ]
}

/// A file name from the common name: letters, digits, `.`, `-`, `_`; never empty.
fn file_stem(common_name: &str) -> String {
    let stem: String = common_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    let stem = stem.trim_matches('.').to_string();
    if stem.is_empty() {
        "certificate".into()
    } else {
        stem
    }
}

pub(crate) async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(path): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (zone, record) = certificate(&state, &viewer, &path, Permission::Read).await?;
    let now = time::OffsetDateTime::now_utc();
    let revocation = record.revoked_at.map(|at| {
        let reason = record.revocation_reason.unwrap_or_default();
        format!("{} ({reason})", format::date_time(at))
    });
    Ok(render(&DetailsPage {
        layout: Layout::for_viewer(record.common_name.clone(), &viewer).with_htmx(),
        zone_id: zone.id.to_string(),
        zone_name: zone.name,
        id: record.id.to_string(),
        status: record.status.as_str(),
        status_label: format::status_label(record.status),
        pending: record.status.settled().is_some(),
        can_revoke: matches!(
            record.status,
            CertificateStatus::Active | CertificateStatus::PendingReactivation
        ),
        can_undo: record.status == CertificateStatus::PendingRevocation,
        revocation,
        expiry: format::expiry(record.expires_on, now),
        fields: fields(&record),
        ca_id: record.ca_id.to_string(),
        file_stem: file_stem(&record.common_name),
        can_edit: viewer.session.can_edit(),
        common_name: record.common_name,
        certificate_pem: record.certificate_pem,
    }))
}

/// The certificate as a `.pem` download.
pub(crate) async fn pem(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(path): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (_, record) = certificate(&state, &viewer, &path, Permission::Read).await?;
    let file_name = format!("{}.pem", file_stem(&record.common_name));
    Ok(attachment(
        record.certificate_pem,
        "application/x-pem-file",
        &file_name,
    ))
}

struct ReasonOption {
    value: &'static str,
    label: String,
}

#[derive(Template)]
#[template(path = "revoke.html")]
struct ConfirmPage {
    layout: Layout,
    zone_id: String,
    id: String,
    common_name: String,
    serial: String,
    reasons: Vec<ReasonOption>,
}

pub(crate) async fn confirm_revoke(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(path): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (zone, record) = certificate(&state, &viewer, &path, Permission::Edit).await?;
    let reasons = RevocationReason::ALL
        .into_iter()
        .filter(|reason| reason.applies_to_leaves())
        .map(|reason| ReasonOption {
            value: reason.as_str(),
            label: reason_label(reason),
        })
        .collect();
    Ok(render(&ConfirmPage {
        layout: Layout::for_viewer(format!("Revoke {}", record.common_name), &viewer),
        zone_id: zone.id.to_string(),
        id: record.id.to_string(),
        serial: record.serial_number.to_decimal(),
        common_name: record.common_name,
        reasons,
    }))
}

/// `keyCompromise` → `Key compromise`.
fn reason_label(reason: RevocationReason) -> String {
    let mut label = String::new();
    for (i, c) in reason.as_str().chars().enumerate() {
        match (i, c.is_ascii_uppercase()) {
            (0, _) => label.push(c.to_ascii_uppercase()),
            (_, true) => {
                label.push(' ');
                label.push(c.to_ascii_lowercase());
            }
            _ => label.push(c),
        }
    }
    label
}

#[derive(Deserialize)]
pub(crate) struct RevokeForm {
    csrf: Option<String>,
    reason: Option<String>,
}

pub(crate) async fn revoke(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((raw_zone, raw_id)): Path<(String, String)>,
    Form(form): Form<RevokeForm>,
) -> Result<Response, PageError> {
    viewer.check_write(&headers, form.csrf.as_deref())?;
    let zone = zone(&state, &viewer, &raw_zone, Permission::Edit).await?;
    let reason = form
        .reason
        .as_deref()
        .filter(|r| !r.is_empty())
        .map(str::parse::<RevocationReason>)
        .transpose()
        .map_err(authority::Error::from)?;
    let record = state
        .authority
        .revoke_certificate(&zone, &ids::certificate(&raw_id)?, reason, viewer.actor)
        .await?;
    Ok(back_to(&zone.id, &record.id))
}

pub(crate) async fn reactivate(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((raw_zone, raw_id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    viewer.check_write(&headers, form.csrf.as_deref())?;
    let zone = zone(&state, &viewer, &raw_zone, Permission::Edit).await?;
    let record = state
        .authority
        .reactivate_certificate(&zone, &ids::certificate(&raw_id)?, viewer.actor)
        .await?;
    Ok(back_to(&zone.id, &record.id))
}

/// Post/redirect/get: after a change, the certificate's page.
fn back_to(zone_id: &ZoneId, id: &CertificateId) -> Response {
    Redirect::to(&certificate_url(zone_id, id)).into_response()
}

/// The certificate a path names, in a zone the viewer reaches with `needed`.
async fn certificate(
    state: &AppState,
    viewer: &Viewer,
    (raw_zone, raw_id): &(String, String),
    needed: Permission,
) -> Result<(Zone, CertificateRecord), PageError> {
    let zone = zone(state, viewer, raw_zone, needed).await?;
    let record = state
        .authority
        .certificate(&zone, &ids::certificate(raw_id)?)
        .await?;
    Ok((zone, record))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_only_safe_characters() {
        assert_eq!(file_stem("client-1.example.com"), "client-1.example.com");
        assert_eq!(file_stem("Ana \"Ops\"/../x"), "Ana__Ops__.._x");
        assert_eq!(file_stem(""), "certificate");
        assert_eq!(file_stem(".."), "certificate");
    }

    #[test]
    fn reasons_read_as_words() {
        assert_eq!(
            reason_label(RevocationReason::KeyCompromise),
            "Key compromise"
        );
        assert_eq!(reason_label(RevocationReason::Unspecified), "Unspecified");
    }
}
