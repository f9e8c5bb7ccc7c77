//! The OCSP responder: answers from the certificates' current published state.
//!
//! Every request reads the serial's status from the store (one indexed lookup per certificate asked about), so an answer is
//! never staler than the database, on any replica. Signing is what is cached: a nonce-less
//! single-certificate request reuses the worker's pre-signed answer or a cached one for the same
//! (CA, serial, CertID hash, status) until it nears its nextUpdate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use pki::{
    OcspFailure, OcspItem, OcspRequest, OcspStatus, SerialNumber, ocsp_failure, sign_ocsp_response,
};
use store::{CaId, CertificateStatus, SerialStatus};
use time::{Duration, OffsetDateTime};

use crate::Authority;
use crate::metrics::OcspOutcome;

const MAX_CACHED: usize = 100_000;
/// Answers this close to their nextUpdate are re-signed rather than served.
const FRESHNESS_MARGIN: Duration = Duration::minutes(5);

/// A DER OCSPResponse and, when it is a signed answer, until when it may be cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspAnswer {
    pub der: Arc<Vec<u8>>,
    pub next_update: Option<OffsetDateTime>,
    /// A fresh per-request answer (it echoes a nonce): must not be cached by intermediaries.
    pub unique: bool,
}

impl OcspAnswer {
    /// For a CA this responder does not know (or an id that cannot name one).
    pub fn unauthorized() -> Self {
        Self::failure(OcspFailure::Unauthorized)
    }

    /// For a request that could not be received in time (a client trickling its body).
    pub fn try_later() -> Self {
        Self::failure(OcspFailure::TryLater)
    }

    fn failure(kind: OcspFailure) -> Self {
        Self {
            der: Arc::new(ocsp_failure(kind)),
            next_update: None,
            unique: false,
        }
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct AnswerKey {
    ca_id: CaId,
    serial: SerialNumber,
    hash_algorithm: String,
    status: Option<CertificateStatus>,
}

/// A signed answer and its nextUpdate.
type SignedAnswer = (Arc<Vec<u8>>, OffsetDateTime);

#[derive(Default)]
pub(crate) struct AnswerCache {
    answers: Mutex<HashMap<AnswerKey, SignedAnswer>>,
}

impl AnswerCache {
    fn get(&self, key: &AnswerKey, now: OffsetDateTime) -> Option<SignedAnswer> {
        let answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        answers
            .get(key)
            .filter(|(_, next_update)| *next_update - now > FRESHNESS_MARGIN)
            .cloned()
    }

    fn put(&self, key: AnswerKey, der: Arc<Vec<u8>>, next_update: OffsetDateTime) {
        let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        if answers.len() >= MAX_CACHED {
            answers.clear();
        }
        answers.insert(key, (der, next_update));
    }
}

impl Authority {
    /// Answer a DER OCSPRequest for the CA `ca_id`. Always an OCSPResponse: malformed input gets
    /// `malformedRequest`, an unknown CA `unauthorized`, a storage failure `tryLater`.
    pub async fn ocsp_answer(&self, ca_id: &CaId, request_der: &[u8]) -> OcspAnswer {
        let (answer, outcome) = self.answer_ocsp(ca_id, request_der).await;
        self.metrics.ocsp(outcome);
        answer
    }

    async fn answer_ocsp(&self, ca_id: &CaId, request_der: &[u8]) -> (OcspAnswer, OcspOutcome) {
        let failure =
            |failure: OcspFailure, outcome: OcspOutcome| (OcspAnswer::failure(failure), outcome);
        let Ok(request) = OcspRequest::parse(request_der) else {
            return failure(
                OcspFailure::MalformedRequest,
                OcspOutcome::malformed_request,
            );
        };
        let ca = match self.ca_by_id(ca_id).await {
            Ok(Some(ca)) => ca,
            Ok(None) => return failure(OcspFailure::Unauthorized, OcspOutcome::unauthorized),
            Err(error) => {
                tracing::warn!(%error, "OCSP: cannot load the CA");
                return failure(OcspFailure::TryLater, OcspOutcome::try_later);
            }
        };
        let now = crate::now();
        let mut statuses = Vec::with_capacity(request.items().len());
        let mut lookups = Vec::with_capacity(request.items().len());
        for item in request.items() {
            let serial = item.serial().filter(|_| item.issued_by(&ca.signer));
            let lookup = match serial {
                Some(serial) => match self.store.serial_status(ca_id, serial).await {
                    Ok(lookup) => lookup,
                    Err(error) => {
                        tracing::warn!(%error, "OCSP: status lookup failed");
                        return failure(OcspFailure::TryLater, OcspOutcome::try_later);
                    }
                },
                None => None,
            };
            statuses.push(published_status(lookup.as_ref()));
            lookups.push((serial, lookup));
        }
        let outcome = match &statuses[..] {
            [OcspStatus::Good] => OcspOutcome::good,
            [OcspStatus::Revoked { .. }] => OcspOutcome::revoked,
            [OcspStatus::Unknown] => OcspOutcome::unknown,
            _ => OcspOutcome::multiple,
        };

        let cacheable = !request.has_nonce() && request.items().len() == 1;
        let key = match (&lookups[..], cacheable) {
            ([(Some(serial), lookup)], true) => Some(AnswerKey {
                ca_id: ca_id.clone(),
                serial: *serial,
                hash_algorithm: request.items()[0].hash_algorithm(),
                status: lookup.as_ref().map(|l| settled(l.status)),
            }),
            _ => None,
        };
        if let Some(key) = &key {
            if let Some((der, next_update)) = self.ocsp_cache.get(key, now) {
                self.metrics.ocsp_presigned();
                return (signed(der, next_update, false), outcome);
            }
            // The worker pre-signed with a SHA-1 CertID; reuse it only for that exact CertID.
            let same_cert_id = lookups[0]
                .0
                .and_then(|serial| OcspItem::for_serial(&ca.signer, serial).ok())
                .is_some_and(|worker_item| worker_item == request.items()[0]);
            if let Some(answer) = same_cert_id
                .then(|| stored_answer(&lookups[0].1, key, now))
                .flatten()
            {
                self.ocsp_cache
                    .put(key.clone(), Arc::clone(&answer.0), answer.1);
                self.metrics.ocsp_presigned();
                return (signed(answer.0, answer.1, false), outcome);
            }
        }
        let next_update = now + self.config.publication.ocsp_validity;
        match sign_ocsp_response(&ca.signer, &request, &statuses, now, next_update) {
            Ok(der) => {
                let der = Arc::new(der);
                if let Some(key) = key {
                    self.ocsp_cache.put(key, Arc::clone(&der), next_update);
                }
                (signed(der, next_update, request.has_nonce()), outcome)
            }
            Err(error) => {
                tracing::error!(%error, "OCSP: signing failed");
                failure(OcspFailure::InternalError, OcspOutcome::internal_error)
            }
        }
    }
}

fn signed(der: Arc<Vec<u8>>, next_update: OffsetDateTime, unique: bool) -> OcspAnswer {
    OcspAnswer {
        der,
        next_update: Some(next_update),
        unique,
    }
}

/// What has been published about a serial: `pending_revocation` is not revoked yet (no CRL
/// lists it), and `pending_reactivation` was never published as revoked.
fn published_status(lookup: Option<&SerialStatus>) -> OcspStatus {
    match lookup {
        None => OcspStatus::Unknown,
        Some(status) if status.status == CertificateStatus::Revoked => OcspStatus::Revoked {
            at: status.revoked_at.unwrap_or(OffsetDateTime::UNIX_EPOCH),
            reason: status.revocation_reason.unwrap_or_default(),
        },
        Some(_) => OcspStatus::Good,
    }
}

fn settled(status: CertificateStatus) -> CertificateStatus {
    match status {
        CertificateStatus::Revoked => CertificateStatus::Revoked,
        _ => CertificateStatus::Active,
    }
}

/// The worker's pre-signed answer, when it says what the store says now and is still fresh.
fn stored_answer(
    lookup: &Option<SerialStatus>,
    key: &AnswerKey,
    now: OffsetDateTime,
) -> Option<SignedAnswer> {
    let stored = lookup.as_ref()?.stored_answer.as_ref()?;
    (Some(stored.status) == key.status && stored.next_update - now > FRESHNESS_MARGIN)
        .then(|| (Arc::new(stored.der.clone()), stored.next_update))
}
