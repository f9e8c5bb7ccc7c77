//! The zones the credential reaches.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::AppState;
use crate::error::{PageError, render};
use crate::format;
use crate::pages::Layout;
use crate::session::Viewer;

struct ZoneRow {
    id: String,
    name: String,
    created: String,
}

#[derive(Template)]
#[template(path = "zones.html")]
struct ZonesPage {
    layout: Layout,
    zones: Vec<ZoneRow>,
    can_edit: bool,
}

pub(crate) async fn index(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let zones = state
        .authority
        .reachable_zones(&viewer.session.principal)
        .await?
        .into_iter()
        .map(|zone| ZoneRow {
            id: zone.id.to_string(),
            name: zone.name,
            created: format::date(zone.created_at),
        })
        .collect();
    Ok(render(&ZonesPage {
        can_edit: viewer.session.can_edit(),
        layout: Layout::for_viewer("Zones", &viewer),
        zones,
    }))
}
