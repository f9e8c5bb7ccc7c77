//! Publishing revocation: the worker's pass, the CRLs and OCSP answers it signs, and serving
//! CRLs. The policy lives here — which CAs get a new CRL, how CRLs are numbered and how many are
//! kept, what the audit log says; the store runs the one transaction this policy drives
//! (`store::PublicationTx`), so what is published is exactly what settles.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, OnceLock, RwLock};

use pki::{CaSigner, OcspItem, OcspRequest, OcspStatus, RevokedEntry};
use store::{
    Actor, ActorKind, AuditAction, AuditEntry, CaId, CertificateStatus, CrlRecord, OcspRecord,
    PendingTransition, PublicationTx, Settlement, StoreError,
};
use time::OffsetDateTime;

use crate::cas::LoadedCa;
use crate::{Authority, Error};

/// CRLs kept per CA: the newest, and the one before it (relying parties may still be fetching it).
const CRLS_KEPT: i64 = 2;

/// Fewer OCSP answers than this are signed on the calling thread: starting threads costs more.
const MIN_ANSWERS_PER_THREAD: usize = 256;

/// What one publication pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishReport {
    /// Another process held the publication lock; nothing was done.
    pub skipped: bool,
    /// Transitions settled.
    pub settled: u64,
    /// (CA id, CRL number) of every CRL signed.
    pub crls: Vec<(CaId, i64)>,
    /// Transitions settled, by the status reached.
    pub settled_by_status: Vec<(CertificateStatus, u64)>,
    /// (CA id, DER size) of every CRL signed.
    pub crl_sizes: Vec<(CaId, usize)>,
}

/// The public endpoints of one CA, as written into its leaves.
pub(crate) struct CaUrls {
    pub(crate) crl: String,
    pub(crate) ocsp: String,
    pub(crate) ca_issuers: String,
}

/// A CA's newest CRL as served: DER, and PEM made once, on the first request for it.
#[derive(Debug)]
pub struct PublishedCrl {
    record: CrlRecord,
    pem: OnceLock<String>,
}

impl PublishedCrl {
    pub fn der(&self) -> &[u8] {
        &self.record.der
    }

    pub fn pem(&self) -> &str {
        self.pem
            .get_or_init(|| pki::to_pem("X509 CRL", &self.record.der))
    }

    pub fn crl_number(&self) -> i64 {
        self.record.crl_number
    }

    /// Until when relying parties may use it.
    pub fn next_update(&self) -> OffsetDateTime {
        self.record.next_update
    }
}

/// The newest CRL of each CA, checked against the store's number before use.
#[derive(Default)]
pub(crate) struct CrlCache {
    latest: RwLock<HashMap<CaId, Arc<PublishedCrl>>>,
}

impl Authority {
    /// One publication pass: settle up to `limit` pending transitions after publishing them,
    /// and re-sign CRLs past half their validity. One transaction: a failure anywhere leaves
    /// everything as it was, and the next pass does it again with the next CRL number.
    pub async fn publish(&self, limit: u32) -> Result<PublishReport, Error> {
        let started = std::time::Instant::now();
        let outcome = self.publish_locked(limit).await;
        self.metrics.pass(
            outcome
                .as_ref()
                .map(|report| !report.skipped)
                .map_err(|_| ()),
            started.elapsed(),
        );
        outcome
    }

    async fn publish_locked(&self, limit: u32) -> Result<PublishReport, Error> {
        let Some(mut tx) = self.store.begin_publication().await? else {
            // Another replica is publishing: this one is alive, and publication is happening.
            self.record_publication_pass();
            return Ok(PublishReport {
                skipped: true,
                ..PublishReport::default()
            });
        };
        match self.publish_in(tx.as_mut(), limit).await {
            Ok(report) => {
                let step = std::time::Instant::now();
                tx.commit().await?;
                tracing::debug!(
                    ms = step.elapsed().as_millis() as u64,
                    "publication: committed"
                );
                self.record_publication_pass();
                for (status, settled) in &report.settled_by_status {
                    self.metrics.settled(*status, *settled);
                }
                for (ca_id, bytes) in &report.crl_sizes {
                    self.metrics.crl_size(ca_id, *bytes);
                }
                if !report.crls.is_empty() {
                    self.publications.notify_waiters();
                }
                Ok(report)
            }
            Err(error) => {
                // Roll back now: that is what releases the publication lock and the pending rows.
                let _ = tx.rollback().await;
                Err(error)
            }
        }
    }

    async fn publish_in(
        &self,
        tx: &mut dyn PublicationTx,
        limit: u32,
    ) -> Result<PublishReport, Error> {
        let now = crate::now();
        let pending = tx.take_pending(limit).await?;
        let refresh_before = now + self.config.publication.crl_validity / 2;
        let stale = tx.cas_with_crl_expiring_before(refresh_before).await?;
        // Every CA a transition touches, and every CA whose CRL is past half its life.
        let cas: BTreeSet<&CaId> = pending
            .iter()
            .map(|p| &p.ca_id)
            .chain(stale.iter())
            .collect();
        let mut report = PublishReport::default();
        for ca_id in cas {
            let ca = self.ca_by_id(ca_id).await?.ok_or_else(|| {
                StoreError::Corrupt(format!("certificate authority {ca_id} is missing"))
            })?;
            let ours: Vec<&PendingTransition> =
                pending.iter().filter(|p| &p.ca_id == ca_id).collect();
            let step = std::time::Instant::now();
            let before = self.revoked_before_pass(tx, ca_id, &ours).await?;
            lap(ca_id, step, "previous revocations read");
            let added: Vec<RevokedEntry> = ours
                .iter()
                .filter(|p| p.status == CertificateStatus::PendingRevocation)
                .map(|p| RevokedEntry {
                    serial: p.serial_number,
                    revoked_at: p.revoked_at.unwrap_or(now),
                    reason: p.revocation_reason.unwrap_or_default(),
                })
                .collect();
            let number = tx.latest_crl_number(ca_id).await?.unwrap_or(0) + 1;
            // Signing a large CRL is a hash over tens of megabytes: keep it off the async workers.
            let sign = |before| {
                tokio::task::block_in_place(|| {
                    self.sign_crl_record(ca_id, &ca.signer, number, before, &added, now)
                })
            };
            let crl = match sign(before) {
                // A CRL this build cannot extend (another encoding of the issuer's name, say)
                // must not stop publication: sign this one from the rows instead.
                Err(Error::Crl(
                    error @ (pki::CrlError::OtherIssuer
                    | pki::CrlError::PreviousUnreadable
                    | pki::CrlError::TooLarge),
                )) => {
                    tracing::warn!(
                        ca = %ca_id, %error,
                        "publication: the latest CRL cannot be extended; reading the database"
                    );
                    sign(Revocations::Listed(revoked_rows(tx, ca_id).await?))?
                }
                signed => signed?,
            };
            lap(ca_id, step, "CRL signed");
            tx.insert_crl(&crl).await?;
            report.crl_sizes.push((ca_id.clone(), crl.der.len()));
            tx.prune_crls(ca_id, number - (CRLS_KEPT - 1)).await?;
            report.crls.push((ca_id.clone(), number));
            lap(ca_id, step, "CRL stored");
            let answers =
                tokio::task::block_in_place(|| self.sign_settled_answers(&ca, &ours, now))?;
            lap(ca_id, step, "OCSP answers signed");
            tx.store_ocsp_answers(&answers).await?;
            lap(ca_id, step, "OCSP answers stored");
        }
        let settlements: Vec<Settlement<'_>> = pending
            .iter()
            .filter_map(|transition| {
                let action = match transition.status.settled()? {
                    CertificateStatus::Revoked => AuditAction::CertificateRevoked,
                    _ => AuditAction::CertificateReactivated,
                };
                let crl_number = report
                    .crls
                    .iter()
                    .find(|(ca, _)| *ca == transition.ca_id)
                    .map(|(_, number)| *number)?;
                let audit = AuditEntry::new(
                    now,
                    Actor::new(ActorKind::Worker),
                    action,
                    transition.certificate_id.as_str(),
                )
                .in_account(&transition.account_id)
                .in_zone(&transition.zone_id)
                .with_details(format!("crl_number={crl_number}"));
                Some(Settlement { transition, audit })
            })
            .collect();
        let step = std::time::Instant::now();
        report.settled = tx.settle(&settlements, now).await?;
        tracing::debug!(
            ms = step.elapsed().as_millis() as u64,
            "publication: settled"
        );
        for status in [CertificateStatus::Revoked, CertificateStatus::Active] {
            let count = settlements
                .iter()
                .filter(|s| s.transition.status.settled() == Some(status))
                .count();
            if count > 0 {
                report.settled_by_status.push((status, count as u64));
            }
        }
        Ok(report)
    }

    /// Pre-signed OCSP answers (SHA-1 CertID, no nonce) for serials about to settle, signed on
    /// every core: 10,000 of them are 0.4 s of signatures on one.
    fn sign_settled_answers(
        &self,
        ca: &LoadedCa,
        settling: &[&PendingTransition],
        now: OffsetDateTime,
    ) -> Result<Vec<OcspRecord>, Error> {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let share = settling.len().div_ceil(cores).max(MIN_ANSWERS_PER_THREAD);
        if settling.len() <= share {
            return self.sign_answers(ca, settling, now);
        }
        std::thread::scope(|scope| {
            // A part whose thread cannot be started (no threads left) is signed here instead.
            let parts: Vec<_> = settling
                .chunks(share)
                .map(|part| {
                    let signer = std::thread::Builder::new()
                        .name("clientca-ocsp-sign".into())
                        .spawn_scoped(scope, move || self.sign_answers(ca, part, now));
                    (part, signer.ok())
                })
                .collect();
            let mut answers = Vec::with_capacity(settling.len());
            for (part, signer) in parts {
                let signed = match signer {
                    Some(signer) => signer
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?,
                    None => self.sign_answers(ca, part, now)?,
                };
                answers.extend(signed);
            }
            Ok(answers)
        })
    }

    fn sign_answers(
        &self,
        ca: &LoadedCa,
        settling: &[&PendingTransition],
        now: OffsetDateTime,
    ) -> Result<Vec<OcspRecord>, Error> {
        let next_update = now + self.config.publication.ocsp_validity;
        settling
            .iter()
            .filter_map(|p| Some((p, p.status.settled()?)))
            .map(|(p, settles_to)| {
                let status = match settles_to {
                    CertificateStatus::Revoked => OcspStatus::Revoked {
                        at: p.revoked_at.unwrap_or(now),
                        reason: p.revocation_reason.unwrap_or_default(),
                    },
                    _ => OcspStatus::Good,
                };
                let item = OcspItem::for_serial(&ca.signer, p.serial_number)?;
                let request = OcspRequest::for_items(vec![item]);
                let der =
                    pki::sign_ocsp_response(&ca.signer, &request, &[status], now, next_update)?;
                Ok(OcspRecord {
                    ca_id: p.ca_id.clone(),
                    serial_number: p.serial_number,
                    status: settles_to,
                    this_update: now,
                    next_update,
                    der,
                })
            })
            .collect()
    }

    /// Resolves when this process next publishes a CRL (other processes' publications are seen
    /// by polling `published_crl_numbers`).
    pub async fn published(&self) {
        self.publications.notified().await;
    }

    /// The newest CRL of a CA, or `None` for an unknown CA.
    pub async fn latest_crl(&self, ca_id: &CaId) -> Result<Option<Arc<PublishedCrl>>, Error> {
        let Some(number) = self.store.latest_crl_number(ca_id).await? else {
            return Ok(None);
        };
        if let Some(cached) = self
            .crl_cache
            .latest
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(ca_id)
            && cached.crl_number() == number
        {
            return Ok(Some(Arc::clone(cached)));
        }
        let Some(record) = self.store.latest_crl(ca_id).await? else {
            return Ok(None);
        };
        let crl = Arc::new(PublishedCrl {
            record,
            pem: OnceLock::new(),
        });
        self.crl_cache
            .latest
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(ca_id.clone(), Arc::clone(&crl));
        Ok(Some(crl))
    }

    /// A CA's certificate (from the CA cache), or `None` for an unknown CA.
    pub async fn ca_certificate(&self, ca_id: &CaId) -> Result<Option<store::CaRecord>, Error> {
        Ok(self.ca_by_id(ca_id).await?.map(|ca| ca.record.clone()))
    }

    pub(crate) fn publication_urls(&self, ca_id: &CaId) -> Option<CaUrls> {
        let base = self
            .config
            .publication
            .public_url
            .as_deref()?
            .trim_end_matches('/');
        Some(CaUrls {
            crl: format!("{base}/ca/{ca_id}/crl"),
            ocsp: format!("{base}/ca/{ca_id}/ocsp"),
            ca_issuers: format!("{base}/ca/{ca_id}.crt"),
        })
    }

    /// The CA's settled revocations before this pass. Its latest CRL lists exactly them (they
    /// are settled in the pass that signs it, and revocation is final), so the next CRL extends
    /// it — a walk over one blob, where reading a million rows took seconds. When the CRL and
    /// the database disagree (a copied or bulk-loaded deployment, a missing CRL), the database
    /// is read instead, and is what the new CRL lists.
    async fn revoked_before_pass(
        &self,
        tx: &mut dyn PublicationTx,
        ca_id: &CaId,
        settling: &[&PendingTransition],
    ) -> Result<Revocations, Error> {
        let revoked = tx.count_revoked(ca_id).await?;
        if let Some(crl) = tx.latest_crl_in_pass(ca_id).await? {
            // A serial settling now cannot be on an earlier CRL: if one is, the two sets are
            // not nested (a deployment copied while running), and equal counts prove nothing.
            let settling: HashSet<_> = settling.iter().map(|p| p.serial_number).collect();
            let (mut listed, mut settling_listed) = (0_u64, false);
            let walked = tokio::task::block_in_place(|| {
                pki::visit_crl_serials(&crl.der, |serial| {
                    listed += 1;
                    settling_listed |= serial.is_some_and(|serial| settling.contains(&serial));
                })
            });
            match walked {
                Ok(()) if listed == revoked && !settling_listed => {
                    return Ok(Revocations::OnCrl(crl));
                }
                Ok(()) => tracing::info!(
                    ca = %ca_id, on_crl = listed, revoked,
                    "publication: the latest CRL and the database disagree; reading the database"
                ),
                Err(error) => tracing::warn!(
                    ca = %ca_id, %error,
                    "publication: the latest CRL cannot be read; reading the database"
                ),
            }
        }
        Ok(Revocations::Listed(revoked_rows(tx, ca_id).await?))
    }

    /// Sign a CA's CRL number `crl_number`: the revocations `before` and then `added`.
    pub(crate) fn sign_crl_record(
        &self,
        ca_id: &CaId,
        signer: &CaSigner,
        crl_number: i64,
        before: Revocations,
        added: &[RevokedEntry],
        now: OffsetDateTime,
    ) -> Result<CrlRecord, Error> {
        let next_update = now + self.config.publication.crl_validity;
        let number = u64::try_from(crl_number).map_err(|_| pki::CrlError::BadNumber)?;
        let der = match before {
            Revocations::OnCrl(previous) => {
                pki::extend_crl(signer, &previous.der, number, now, next_update, added)?
            }
            Revocations::Listed(mut entries) => {
                entries.extend_from_slice(added);
                pki::sign_crl(signer, number, now, next_update, &entries)?
            }
        };
        Ok(CrlRecord {
            ca_id: ca_id.clone(),
            crl_number,
            this_update: now,
            next_update,
            der,
        })
    }
}

/// Every settled revocation of a CA, read from its rows.
async fn revoked_rows(
    tx: &mut dyn PublicationTx,
    ca_id: &CaId,
) -> Result<Vec<RevokedEntry>, Error> {
    let rows = tx.revoked_serials(ca_id).await?;
    Ok(rows
        .into_iter()
        .map(|r| RevokedEntry {
            serial: r.serial_number,
            revoked_at: r.revoked_at,
            reason: r.revocation_reason.unwrap_or_default(),
        })
        .collect())
}

/// A CA's settled revocations, as the next CRL is built from them.
pub(crate) enum Revocations {
    /// Its latest CRL, which lists exactly them.
    OnCrl(CrlRecord),
    /// Each of them.
    Listed(Vec<RevokedEntry>),
}

/// A debug line with the time since `started`: where a large pass spends it
/// (`RUST_LOG=authority=debug`; BENCHMARKS.md, "Publication at scale").
fn lap(ca_id: &CaId, started: std::time::Instant, step: &str) {
    tracing::debug!(ca = %ca_id, ms = started.elapsed().as_millis() as u64, "publication: {step}");
}
