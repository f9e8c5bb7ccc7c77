//! The hostnames that require a client certificate from the zone's managed CA, as an editable
//! list of names.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use authority::Permission;

use crate::AppState;
use crate::error::{PageError, render};
use crate::pages::{Layout, zone};
use crate::session::Viewer;

#[derive(Template)]
#[template(path = "hostnames.html")]
struct HostnamesPage {
    layout: Layout,
    zone_id: String,
    zone_name: String,
    /// One name per line.
    hostnames: String,
    count: usize,
    error: Option<String>,
    saved: bool,
    can_edit: bool,
}

#[derive(Default, Deserialize)]
pub(crate) struct Saved {
    saved: Option<String>,
}

pub(crate) async fn form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw_zone): Path<String>,
    axum::extract::Query(query): axum::extract::Query<Saved>,
) -> Result<Response, PageError> {
    let zone = zone(&state, &viewer, &raw_zone, Permission::Read).await?;
    let hostnames = state.authority.hostname_associations(&zone, None).await?;
    Ok(render(&HostnamesPage {
        layout: Layout::for_viewer(format!("Hostnames · {}", zone.name), &viewer),
        zone_id: zone.id.to_string(),
        zone_name: zone.name,
        count: hostnames.len(),
        hostnames: hostnames.join("\n"),
        error: None,
        saved: query.saved.is_some(),
        can_edit: viewer.session.can_edit(),
    }))
}

#[derive(Deserialize)]
pub(crate) struct HostnamesForm {
    csrf: Option<String>,
    #[serde(default)]
    hostnames: String,
}

/// The names in a textarea: one per line (commas and spaces separate too), blanks ignored.
fn names(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect()
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(raw_zone): Path<String>,
    Form(form): Form<HostnamesForm>,
) -> Result<Response, PageError> {
    viewer.check_write(&headers, form.csrf.as_deref())?;
    let zone = zone(&state, &viewer, &raw_zone, Permission::Edit).await?;
    let names = names(&form.hostnames);
    match state
        .authority
        .replace_hostname_associations(&zone, None, &names, viewer.actor.clone())
        .await
    {
        Ok(_) => {
            Ok(Redirect::to(&format!("/ui/zones/{}/hostnames?saved=1", zone.id)).into_response())
        }
        Err(error @ authority::Error::InvalidHostname(_)) => {
            let page = HostnamesPage {
                layout: Layout::for_viewer(format!("Hostnames · {}", zone.name), &viewer),
                zone_id: zone.id.to_string(),
                zone_name: zone.name.clone(),
                count: names.len(),
                hostnames: form.hostnames,
                error: Some(PageError::from(error).field_message()),
                saved: false,
                can_edit: true,
            };
            Ok((StatusCode::BAD_REQUEST, render(&page)).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_split_on_lines_commas_and_spaces() {
        assert_eq!(
            super::names("a.example.com\r\n\n b.example.com, c.example.com\t"),
            ["a.example.com", "b.example.com", "c.example.com"]
        );
        assert!(super::names(" \n ").is_empty());
    }
}
