//! A new certificate from the user's own CSR: pasted or read from a file, a plain form that
//! works without JavaScript.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use authority::{IssueRequest, Permission};

use crate::AppState;
use crate::error::{PageError, render};
use crate::pages::{Layout, zone};
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
    let Ok(validity_days) = form.validity_days.trim().parse::<i64>() else {
        return Ok(again(
            None,
            Some("validity must be a whole number of days".into()),
        ));
    };
    let request = IssueRequest {
        csr: form.csr.clone(),
        validity_days,
    };
    match state
        .authority
        .issue_certificate(&zone, request, viewer.actor.clone())
        .await
    {
        Ok(record) => Ok(Redirect::to(&format!(
            "/ui/zones/{}/certificates/{}",
            zone.id, record.id
        ))
        .into_response()),
        Err(error @ authority::Error::InvalidCsr(_)) => {
            Ok(again(Some(PageError::from(error).field_message()), None))
        }
        Err(error @ authority::Error::InvalidValidity(_)) => {
            Ok(again(None, Some(PageError::from(error).field_message())))
        }
        Err(other) => Err(other.into()),
    }
}
