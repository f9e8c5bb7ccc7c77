//! A zone at a glance: how many certificates are in each state, its CA, its hostnames.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use authority::{CertificateStatus, Permission};

use crate::AppState;
use crate::error::{PageError, render};
use crate::format;
use crate::pages::{Layout, zone};
use crate::session::Viewer;

struct StatusCount {
    status: &'static str,
    label: &'static str,
    count: u64,
}

struct CaCard {
    id: String,
    name: String,
    fingerprint: String,
    not_after: String,
    expiry: format::Expiry,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    layout: Layout,
    zone_id: String,
    zone_name: String,
    counts: Vec<StatusCount>,
    total: u64,
    ca: Option<CaCard>,
    hostnames: Vec<String>,
    can_edit: bool,
}

pub(crate) async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw_zone): Path<String>,
) -> Result<Response, PageError> {
    let zone = zone(&state, &viewer, &raw_zone, Permission::Read).await?;
    let authority = &state.authority;
    let counts: Vec<StatusCount> = authority
        .certificate_counts(&zone)
        .await?
        .into_iter()
        .map(|(status, count)| StatusCount {
            status: status.as_str(),
            label: format::status_label(status),
            count,
        })
        .collect();
    let now = time::OffsetDateTime::now_utc();
    let ca = authority
        .existing_ca(&zone.account_id)
        .await?
        .map(|ca| CaCard {
            id: ca.id.to_string(),
            fingerprint: authority::fingerprint_sha256(&ca.certificate_der),
            not_after: format::date(ca.not_after),
            expiry: format::expiry(ca.not_after, now),
            name: ca.name,
        });
    let hostnames = authority.hostname_associations(&zone, None).await?;
    debug_assert_eq!(counts.len(), CertificateStatus::ALL.len());
    Ok(render(&OverviewPage {
        layout: Layout::for_viewer(zone.name.clone(), &viewer),
        total: counts.iter().map(|c| c.count).sum(),
        counts,
        ca,
        hostnames,
        can_edit: viewer.session.can_edit(),
        zone_id: zone.id.to_string(),
        zone_name: zone.name,
    }))
}
