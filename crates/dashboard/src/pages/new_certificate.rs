//! A new certificate: from the user's own CSR (pasted or read from a file, a plain form that
//! works without JavaScript), or from a key generated in the browser (`assets/keygen.js` builds
//! the CSR there and posts it here asking for JSON; the private key never leaves the tab).

use askama::Template;
use axum::Form;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use authority::{CertificateRecord, IssueRequest, Permission, Zone};

use crate::AppState;
use crate::error::{Caller, PageError, render};
use crate::pages::{Layout, certificate_url, zone};
use crate::session::Viewer;

/// What the form proposes (Cloudflare's default is 10 years; a year suits most client keys).
const DEFAULT_VALIDITY_DAYS: &str = "365";

#[derive(Template)]
#[template(path = "new_certificate.html")]
struct NewPage {
    layout: Layout,
    zone_id: String,
    zone_name: String,
    csr: String,
    validity_days: String,
    csr_error: Option<String>,
    validity_error: Option<String>,
}

pub(crate) async fn form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw_zone): Path<String>,
) -> Result<Response, PageError> {
    let zone = zone(&state, &viewer, &raw_zone, Permission::Edit).await?;
    Ok(render(&NewPage {
        layout: Layout::for_viewer(format!("New certificate · {}", zone.name), &viewer),
        zone_id: zone.id.to_string(),
        zone_name: zone.name,
        csr: String::new(),
        validity_days: DEFAULT_VALIDITY_DAYS.into(),
        csr_error: None,
        validity_error: None,
    }))
}

#[derive(Deserialize)]
pub(crate) struct NewForm {
    csrf: Option<String>,
    #[serde(default)]
    csr: String,
    #[serde(default)]
    validity_days: String,
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(raw_zone): Path<String>,
    Form(form): Form<NewForm>,
) -> Result<Response, PageError> {
    if Caller::of(&headers) == Caller::Script {
        // Every refusal in JSON, so keygen.js can show the API's message and code.
        return Ok(
            issue_for_script(&state, &viewer, &headers, &raw_zone, &form)
                .await
                .unwrap_or_else(PageError::into_json),
        );
    }
    viewer.check_write(&headers, form.csrf.as_deref())?;
    let zone = zone(&state, &viewer, &raw_zone, Permission::Edit).await?;
    let again = |csr_error: Option<String>, validity_error: Option<String>| {
        let page = NewPage {
            layout: Layout::for_viewer(format!("New certificate · {}", zone.name), &viewer),
            zone_id: zone.id.to_string(),
            zone_name: zone.name.clone(),
            csr: form.csr.clone(),
            validity_days: form.validity_days.clone(),
            csr_error,
            validity_error,
        };
        (StatusCode::BAD_REQUEST, render(&page)).into_response()
    };
    match issue(&state, &viewer, &zone, &form).await {
        Ok(record) => Ok(Redirect::to(&certificate_url(&zone.id, &record.id)).into_response()),
        Err(error @ authority::Error::InvalidCsr(_)) => {
            Ok(again(Some(PageError::from(error).field_message()), None))
        }
        Err(error @ authority::Error::InvalidValidity(_)) => {
            Ok(again(None, Some(PageError::from(error).field_message())))
        }
        Err(other) => Err(other.into()),
    }
}

/// The create both callers make: the form's validity, then the authority's checks and issuance.
async fn issue(
    state: &AppState,
    viewer: &Viewer,
    zone: &Zone,
    form: &NewForm,
) -> Result<CertificateRecord, authority::Error> {
    let validity_days = form.validity_days.trim().parse::<i64>().map_err(|_| {
        authority::Error::InvalidValidity("validity must be a whole number of days".into())
    })?;
    let request = IssueRequest {
        csr: form.csr.clone(),
        validity_days,
    };
    state
        .authority
        .issue_certificate(zone, request, viewer.actor.clone())
        .await
}

/// What the in-browser flow gets back: the certificate and the chain to bundle into a `.p12`.
#[derive(Serialize)]
struct Issued {
    id: String,
    url: String,
    certificate: String,
    /// The issuing CA's certificate and any above it, PEM, issuer first.
    chain: String,
}

/// The create for `keygen.js`: the same checks and authority call as the form's, answered in
/// JSON.
async fn issue_for_script(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    raw_zone: &str,
    form: &NewForm,
) -> Result<Response, PageError> {
    viewer.check_write(headers, form.csrf.as_deref())?;
    let zone = zone(state, viewer, raw_zone, Permission::Edit).await?;
    let record = issue(state, viewer, &zone, form).await?;
    let ca = state.authority.ca_certificate(&record.ca_id).await?;
    let chain = ca.map_or_else(String::new, |ca| {
        format!("{}{}", ca.certificate_pem, ca.chain_pem)
    });
    Ok(Json(Issued {
        url: certificate_url(&zone.id, &record.id),
        id: record.id.to_string(),
        certificate: record.certificate_pem,
        chain,
    })
    .into_response())
}
