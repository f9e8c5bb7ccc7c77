//! A zone's certificate metadata as CSV, streamed page by page (a zone may hold millions).

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use futures_util::StreamExt;

use authority::{CertificateRecord, ListRequest, Permission, Zone};

use crate::AppState;
use crate::error::PageError;
use crate::pages::certificates::ListQuery;
use crate::pages::{attachment, zone};
use crate::session::Viewer;

/// Rows read from the store per step of the stream.
const CHUNK: u64 = 500;

const HEADER: &[&str] = &[
    "id",
    "common_name",
    "organization",
    "organizational_unit",
    "country",
    "state",
    "location",
    "status",
    "serial_number",
    "fingerprint_sha256",
    "issued_on",
    "expires_on",
    "validity_days",
    "certificate_authority_id",
];

/// One CSV field, quoted. A spreadsheet would run a cell starting with `=`, `+`, `-`, `@`, tab or
/// carriage return as a formula: such a value gets a leading `'` (OWASP's advice), so a common
/// name chosen by whoever wrote the CSR cannot become one.
pub(crate) fn field(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

fn line(fields: impl IntoIterator<Item = String>) -> String {
    let mut line = fields.into_iter().collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

fn row(record: &CertificateRecord) -> String {
    let rfc3339 = |at: time::OffsetDateTime| {
        at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    line(
        [
            record.id.to_string(),
            record.common_name.clone(),
            record.organization.clone(),
            record.organizational_unit.clone(),
            record.country.clone(),
            record.state.clone(),
            record.location.clone(),
            record.status.as_str().to_string(),
            record.serial_number.to_decimal(),
            record.fingerprint_sha256.clone(),
            rfc3339(record.issued_on),
            rfc3339(record.expires_on),
            record.validity_days.to_string(),
            record.ca_id.to_string(),
        ]
        .iter()
        .map(|value| field(value)),
    )
}

pub(crate) async fn csv(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw_zone): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let status = query.status();
    let zone = zone(&state, &viewer, &raw_zone, Permission::Read).await?;
    let file_name = format!("certificates-{}.csv", zone.id);
    let header_line = line(HEADER.iter().map(|name| field(name)));
    // Newest first, a page at a time; certificates created meanwhile shift later pages, so an
    // export taken during heavy issuance may repeat a row (it never loses one that existed).
    let pages = futures_util::stream::try_unfold(
        (state, zone, 1u64, false),
        move |(state, zone, page, done): (AppState, Zone, u64, bool)| async move {
            if done {
                return Ok(None);
            }
            let request = ListRequest {
                status,
                page,
                per_page: CHUNK,
                offset: 0,
                limit: None,
            };
            let listed = state
                .authority
                .list_certificates(&zone, &request)
                .await
                // The answer has begun: all the client sees is a cut connection, so say why here.
                .inspect_err(|error| tracing::error!(%error, page, "CSV export stopped"))?;
            let done = page >= listed.total_pages;
            let text: String = listed.items.iter().map(row).collect();
            Ok::<_, authority::Error>(Some((text, (state, zone, page + 1, done))))
        },
    );
    let body = futures_util::stream::once(async move { Ok::<_, authority::Error>(header_line) })
        .chain(pages);
    Ok(attachment(
        Body::from_stream(body),
        "text/csv; charset=utf-8",
        &file_name,
    ))
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(field("plain"), "\"plain\"");
        assert_eq!(field("say \"hi\", ok"), "\"say \"\"hi\"\", ok\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        for start in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(field(start).starts_with("\"'"), "{start:?}");
        }
        assert_eq!(field("a\nb"), "\"a\nb\"");
    }
}
