//! The audit log's hash chain: each sealed event commits to every event sealed before it.
//!
//! Events are appended unsealed (cheaply, inside the transaction of the change they record) and
//! sealed shortly after, in id order, by the publication worker: `hash = SHA-256(prev_hash ||
//! chain_seq || canonical event)`. Editing a sealed event breaks its hash; deleting one leaves a gap
//! in `chain_seq` and breaks the next event's `prev_hash`. The newest hash is the chain's head:
//! record it elsewhere (a ticket, a log) and truncation becomes detectable too.

use ring::digest;

use crate::model::{AuditEvent, AuditSeal};
use crate::{AuditStore, StoreResult};

/// The `prev_hash` of the first sealed event.
pub const GENESIS: &str = "";

/// Canonical bytes of an event: every field tagged (absent / present), length-prefixed.
fn canonical(event: &AuditEvent) -> Vec<u8> {
    let entry = &event.entry;
    let mut bytes = Vec::with_capacity(256);
    bytes.extend_from_slice(&event.id.to_be_bytes());
    bytes.extend_from_slice(&entry.occurred_at.unix_timestamp().to_be_bytes());
    let fields = [
        entry.account_id.as_ref().map(|id| id.as_str()),
        entry.zone_id.as_ref().map(|id| id.as_str()),
        Some(entry.actor.kind.as_str()),
        entry.actor.id.as_deref(),
        entry.actor.source_ip.as_deref(),
        Some(entry.action.as_str()),
        Some(entry.object_type.as_str()),
        Some(entry.object_id.as_str()),
        entry.details.as_deref(),
    ];
    for field in fields {
        match field {
            None => bytes.push(0),
            Some(text) => {
                bytes.push(1);
                bytes.extend_from_slice(&(text.len() as u64).to_be_bytes());
                bytes.extend_from_slice(text.as_bytes());
            }
        }
    }
    bytes
}

/// The hash sealing `event` as number `chain_seq` after `prev_hash`.
pub fn seal_hash(prev_hash: &str, chain_seq: i64, event: &AuditEvent) -> String {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(&(prev_hash.len() as u64).to_be_bytes());
    context.update(prev_hash.as_bytes());
    context.update(&chain_seq.to_be_bytes());
    context.update(&canonical(event));
    hex::encode(context.finish())
}

/// Seals for `events` (unsealed, in id order), continuing after `head` (`(chain_seq, hash)`).
pub(crate) fn seal_in_order(
    head: Option<(i64, String)>,
    events: &[AuditEvent],
) -> Vec<(i64, AuditSeal)> {
    let (mut seq, mut prev) = head.unwrap_or((0, GENESIS.to_string()));
    events
        .iter()
        .map(|event| {
            seq += 1;
            let hash = seal_hash(&prev, seq, event);
            let seal = AuditSeal {
                chain_seq: seq,
                prev_hash: prev.clone(),
                hash: hash.clone(),
            };
            prev = hash;
            (event.id, seal)
        })
        .collect()
}

/// What `verify_chain` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Sealed events checked.
    pub sealed: u64,
    /// Events not sealed yet (appended in the last moments; sealed by the next worker pass).
    pub unsealed: u64,
    /// `(chain_seq, hash)` of the newest sealed event.
    pub head: Option<(i64, String)>,
    /// The first inconsistency, if any.
    pub problem: Option<ChainProblem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainProblem {
    /// Event number `chain_seq` is not there: deleted.
    Missing { chain_seq: i64 },
    /// Event `id` (number `chain_seq`) does not hash to its seal: edited.
    Altered { chain_seq: i64, id: i64 },
    /// Event number `chain_seq` does not follow the hash before it: reordered or replaced.
    Broken { chain_seq: i64, id: i64 },
}

impl std::fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainProblem::Missing { chain_seq } => {
                write!(f, "event #{chain_seq} of the chain is missing (deleted)")
            }
            ChainProblem::Altered { chain_seq, id } => {
                write!(
                    f,
                    "event #{chain_seq} (id {id}) was altered: its content no longer matches its hash"
                )
            }
            ChainProblem::Broken { chain_seq, id } => {
                write!(
                    f,
                    "event #{chain_seq} (id {id}) does not follow the previous event's hash"
                )
            }
        }
    }
}

const PAGE: u32 = 5_000;

/// Walk the whole chain in order and recompute every hash.
pub async fn verify_chain(store: &dyn AuditStore) -> StoreResult<ChainReport> {
    let mut report = ChainReport {
        sealed: 0,
        unsealed: store.unsealed_audit_events().await?,
        head: None,
        problem: None,
    };
    let mut expected_seq = 1;
    let mut prev = GENESIS.to_string();
    loop {
        let page = store.sealed_audit_events(expected_seq - 1, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for (event, seal) in &page {
            let problem = if seal.chain_seq != expected_seq {
                Some(ChainProblem::Missing {
                    chain_seq: expected_seq,
                })
            } else if seal.prev_hash != prev {
                Some(ChainProblem::Broken {
                    chain_seq: seal.chain_seq,
                    id: event.id,
                })
            } else if seal_hash(&prev, seal.chain_seq, event) != seal.hash {
                Some(ChainProblem::Altered {
                    chain_seq: seal.chain_seq,
                    id: event.id,
                })
            } else {
                None
            };
            if problem.is_some() {
                report.problem = problem;
                return Ok(report);
            }
            report.sealed += 1;
            report.head = Some((seal.chain_seq, seal.hash.clone()));
            prev = seal.hash.clone();
            expected_seq += 1;
        }
    }
    Ok(report)
}
