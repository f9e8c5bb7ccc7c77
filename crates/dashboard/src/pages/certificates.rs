//! A zone's certificates: status tabs and pages exactly as the API's list, refreshing by itself
//! while any certificate on the page is pending.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use api::{CERTIFICATES_PER_PAGE, CERTIFICATES_PER_PAGE_RANGE};
use authority::{CertificateRecord, CertificateStatus, ListRequest, Permission};

use crate::AppState;
use crate::error::{PageError, render};
use crate::format;
use crate::pages::{Layout, page_number, zone};
use crate::session::Viewer;

/// `?status=&page=&per_page=`, read leniently: a value that does not parse is the default, as a
/// hand-edited URL should still show a page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    status: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

impl ListQuery {
    pub(crate) fn status(&self) -> Option<CertificateStatus> {
        self.status.as_deref().and_then(|s| s.parse().ok())
    }

    fn request(&self) -> ListRequest {
        let number =
            |text: &Option<String>| text.as_deref().and_then(|t| t.trim().parse::<u64>().ok());
        ListRequest {
            status: self.status(),
            page: page_number(self.page.as_deref()),
            per_page: number(&self.per_page)
                .unwrap_or(CERTIFICATES_PER_PAGE)
                .clamp(
                    *CERTIFICATES_PER_PAGE_RANGE.start(),
                    *CERTIFICATES_PER_PAGE_RANGE.end(),
                ),
            offset: 0,
            limit: None,
        }
    }
}

pub(crate) struct Row {
    id: String,
    common_name: String,
    /// `O / OU`, whichever are set.
    organization: String,
    status: &'static str,
    status_label: &'static str,
    expires: String,
    expiry: format::Expiry,
    issued: String,
    serial: String,
}

impl Row {
    fn new(record: &CertificateRecord, now: time::OffsetDateTime) -> Self {
        let organization = [&record.organization, &record.organizational_unit]
            .into_iter()
            .filter(|part| !part.is_empty())
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" / ");
        Row {
            id: record.id.to_string(),
            common_name: record.common_name.clone(),
            organization,
            status: record.status.as_str(),
            status_label: format::status_label(record.status),
            expires: format::date(record.expires_on),
            expiry: format::expiry(record.expires_on, now),
            issued: format::date(record.issued_on),
            serial: format::short_serial(&format!("{:x}", record.serial_number.value())),
        }
    }
}

pub(crate) struct Tab {
    label: &'static str,
    /// The `status` query value (`""` for all).
    value: &'static str,
    current: bool,
}

#[derive(Template)]
#[template(path = "certificates.html")]
struct ListPage {
    layout: Layout,
    zone_id: String,
    zone_name: String,
    tabs: Vec<Tab>,
    status: &'static str,
    rows: Vec<Row>,
    page: u64,
    per_page: u64,
    total_pages: u64,
    total_count: u64,
    /// Some certificate on this page is waiting for publication: poll until none is.
    pending: bool,
    can_edit: bool,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw_zone): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let zone = zone(&state, &viewer, &raw_zone, Permission::Read).await?;
    let request = query.request();
    let listed = state.authority.list_certificates(&zone, &request).await?;
    let now = time::OffsetDateTime::now_utc();
    let status = request.status.map_or("", CertificateStatus::as_str);
    let tabs = std::iter::once(("All", ""))
        .chain(
            CertificateStatus::ALL
                .into_iter()
                .map(|s| (format::status_label(s), s.as_str())),
        )
        .map(|(label, value)| Tab {
            label,
            value,
            current: value == status,
        })
        .collect();
    Ok(render(&ListPage {
        layout: Layout::for_viewer(format!("Certificates · {}", zone.name), &viewer).with_htmx(),
        pending: listed.items.iter().any(|c| c.status.settled().is_some()),
        rows: listed.items.iter().map(|c| Row::new(c, now)).collect(),
        tabs,
        status,
        page: listed.page,
        per_page: listed.per_page,
        total_pages: listed.total_pages.max(1),
        total_count: listed.total_count,
        can_edit: viewer.session.can_edit(),
        zone_id: zone.id.to_string(),
        zone_name: zone.name,
    }))
}
