//! The account's audit log, newest first (account-wide credentials only, as in the API).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use crate::AppState;
use crate::error::{PageError, render};
use crate::format;
use crate::pages::{Layout, page_number};
use crate::session::Viewer;

const PER_PAGE: u32 = 50;

struct EventRow {
    at: String,
    actor: String,
    action: &'static str,
    object: String,
    zone: String,
    details: String,
    sealed: bool,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    events: Vec<EventRow>,
    page: u64,
    total_pages: u64,
}

#[derive(Default, Deserialize)]
pub(crate) struct AuditQuery {
    page: Option<String>,
}

pub(crate) async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<AuditQuery>,
) -> Result<Response, PageError> {
    let Some(account_id) = viewer.session.audited_account().cloned() else {
        return Err(PageError::forbidden(
            "the audit log is for credentials that reach the whole account",
        ));
    };
    let page = page_number(query.page.as_deref());
    let offset = (page - 1).saturating_mul(u64::from(PER_PAGE));
    let (events, total) = state
        .authority
        .audit_log(&viewer.session.principal, &account_id, offset, PER_PAGE)
        .await?;
    let events = events
        .into_iter()
        .map(|event| {
            let entry = event.entry;
            EventRow {
                at: format::date_time(entry.occurred_at),
                actor: match &entry.actor.id {
                    Some(id) => format!("{} {id}", entry.actor.kind.as_str()),
                    None => entry.actor.kind.as_str().to_string(),
                },
                action: entry.action.as_str(),
                object: format!("{} {}", entry.object_type.as_str(), entry.object_id),
                zone: entry.zone_id.map(|z| z.to_string()).unwrap_or_default(),
                details: entry.details.unwrap_or_default(),
                sealed: event.seal.is_some(),
            }
        })
        .collect();
    Ok(render(&AuditPage {
        layout: Layout::for_viewer("Audit log", &viewer),
        events,
        page,
        total_pages: total.div_ceil(u64::from(PER_PAGE)).max(1),
    }))
}
