//! `GET /accounts/{account_id}/audit_logs`: the account's audit log, newest first, read-only.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::dto::{Envelope, ResultInfo, timestamp};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Caller, PathParams, QueryPairs};

const DEFAULT_PER_PAGE: u64 = 50;
const MAX_PER_PAGE: u64 = 1000;

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditActor {
    /// `token`, `cli`, `system` or `worker`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<String>,
    pub ip: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditResource {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// One recorded change.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditLogEntry {
    pub id: i64,
    /// `YYYY-MM-DDTHH:MM:SSZ`
    pub when: String,
    /// e.g. `certificate.created`, `certificate.revocation_requested`, `token.revoked`.
    pub action: String,
    pub actor: AuditActor,
    pub resource: AuditResource,
    pub zone_id: Option<String>,
    pub details: Option<String>,
    /// Position in the tamper-evident hash chain, once sealed (a few seconds after the change).
    pub chain_seq: Option<i64>,
    pub hash: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the query string for OpenAPI; read through QueryPairs
pub(crate) struct AuditLogParams {
    /// Page number, ≥ 1 (default 1).
    page: Option<u64>,
    /// Entries per page, 1…1000 (default 50).
    per_page: Option<u64>,
}

#[utoipa::path(
    get,
    path = "/accounts/{account_id}/audit_logs",
    operation_id = "audit-logs-list",
    tag = "Audit Logs",
    params(("account_id" = String, Path, description = "Account identifier (32 hex characters)"), AuditLogParams),
    responses(
        (status = 200, description = "A page of the account's audit log, newest first", body = Envelope<Vec<AuditLogEntry>>),
        (status = "4XX", description = "Refused (credentials must cover the whole account)", body = ErrorEnvelope),
    ),
    security(("api_token" = []), ("api_key" = [], "api_email" = []))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(account_id): PathParams<String>,
    query: QueryPairs,
) -> Result<Json<Envelope<Vec<AuditLogEntry>>>, ApiError> {
    let (page, per_page) = query.paging(DEFAULT_PER_PAGE, 1..=MAX_PER_PAGE)?;
    let offset = (page - 1).saturating_mul(per_page);
    let (events, total) = state
        .authority
        .audit_log(
            &caller.principal,
            &authority::ids::account(&account_id)?,
            offset,
            per_page as u32,
        )
        .await?;
    let entries: Vec<AuditLogEntry> = events
        .into_iter()
        .map(|event| AuditLogEntry {
            id: event.id,
            when: timestamp(event.entry.occurred_at),
            action: event.entry.action.as_str().to_string(),
            actor: AuditActor {
                kind: event.entry.actor.kind.as_str().to_string(),
                id: event.entry.actor.id,
                ip: event.entry.actor.source_ip,
            },
            resource: AuditResource {
                kind: event.entry.object_type.as_str().to_string(),
                id: event.entry.object_id,
            },
            zone_id: event.entry.zone_id.map(|id| id.to_string()),
            details: event.entry.details,
            chain_seq: event.seal.as_ref().map(|seal| seal.chain_seq),
            hash: event.seal.map(|seal| seal.hash),
        })
        .collect();
    let info = ResultInfo {
        page,
        per_page,
        count: entries.len() as u64,
        total_count: total,
        total_pages: total.div_ceil(per_page),
    };
    Ok(Json(Envelope {
        result_info: Some(info),
        ..Envelope::new(entries)
    }))
}
