//! The client certificate lifecycle: issue, read, list, revoke, reactivate.

use pki::{IssueError, LeafRequest, PublicationUrls, RevocationReason, SerialNumber, VerifiedCsr};
use store::{
    Actor, AuditAction, AuditEntry, CertificateId, CertificateQuery, CertificateRecord,
    CertificateStatus, StatusChange, StatusChangeOutcome, StoreError, Zone, ZoneActivity,
};

use crate::metrics::Change;
use crate::{Authority, Error};

/// Serial collisions among 126 random bits do not happen; retrying is for defence in depth.
const SERIAL_ATTEMPTS: usize = 3;

/// How many of a zone's newest certificates its overview charts by day of issue (bounded, so
/// the overview costs the same in a zone of a million).
pub const RECENT_FOR_OVERVIEW: u32 = 10_000;

/// A zone quota meaning "no limit", overriding the server's default (the largest stored value).
pub const UNLIMITED: u64 = i64::MAX as u64;

#[derive(Debug, Clone)]
pub struct IssueRequest {
    pub csr: String,
    pub validity_days: i64,
}

/// A page of a zone's certificates. `offset`/`limit` cut the filtered, ordered set first; `page`
/// and `per_page` then page through that window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRequest {
    pub status: Option<CertificateStatus>,
    pub page: u64,
    pub per_page: u64,
    pub offset: u64,
    pub limit: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct ListedCertificates {
    pub items: Vec<CertificateRecord>,
    pub page: u64,
    pub per_page: u64,
    pub total_count: u64,
    pub total_pages: u64,
}

impl Authority {
    pub async fn issue_certificate(
        &self,
        zone: &Zone,
        request: IssueRequest,
        actor: Actor,
    ) -> Result<CertificateRecord, Error> {
        let max = self.config.policy.max_validity_days;
        let validity_days = u32::try_from(request.validity_days)
            .ok()
            .filter(|days| (1..=max).contains(days))
            .ok_or_else(|| {
                Error::InvalidValidity(format!("validity_days must be an integer from 1 to {max}"))
            })?;
        let csr = VerifiedCsr::parse_pem(&request.csr)?;
        let ca = self.ca_for_account(&zone.account_id).await?;
        let urls = self.publication_urls(&ca.record.id);

        for _ in 0..SERIAL_ATTEMPTS {
            let now = crate::now();
            let leaf = pki::issue_leaf(
                &ca.signer,
                LeafRequest {
                    csr: &csr,
                    serial: SerialNumber::time_ordered(now),
                    now,
                    validity_days,
                    publication: urls.as_ref().map(|u| PublicationUrls {
                        crl: &u.crl,
                        ocsp: &u.ocsp,
                        ca_issuers: &u.ca_issuers,
                    }),
                },
            )
            .map_err(|e| match e {
                IssueError::OutlivesCa { .. } => Error::InvalidValidity(e.to_string()),
                other => Error::Issue(other),
            })?;
            let subject = csr.subject();
            let record = CertificateRecord {
                id: CertificateId::new_v7(),
                zone_id: zone.id.clone(),
                ca_id: ca.record.id.clone(),
                ca_name: ca.record.name.clone(),
                serial_number: leaf.serial,
                status: CertificateStatus::Active,
                certificate_pem: leaf.pem,
                csr: csr.pem(),
                common_name: subject.common_name.clone(),
                organization: subject.organization.clone(),
                organizational_unit: subject.organizational_unit.clone(),
                country: subject.country.clone(),
                state: subject.state.clone(),
                location: subject.location.clone(),
                fingerprint_sha256: leaf.fingerprint_sha256,
                ski: leaf.ski,
                signature: leaf.signature_name.to_string(),
                issued_on: leaf.not_before,
                expires_on: leaf.not_after,
                validity_days: i64::from(validity_days),
                revoked_at: None,
                revocation_reason: None,
                updated_at: now,
            };
            let audit = zone_audit(
                zone,
                AuditAction::CertificateCreated,
                &record.id,
                actor.clone(),
            )
            .with_details(format!(
                "serial_number={}",
                record.serial_number.to_decimal()
            ));
            match self
                .store
                .insert_certificate(&record, &audit, self.quota(zone))
                .await
            {
                Ok(()) => {
                    self.metrics.issued();
                    return Ok(record);
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(Error::SerialExhausted)
    }

    /// The limit on `zone`'s certificates that are not revoked, if any: its own, else the
    /// server's default.
    fn quota(&self, zone: &Zone) -> Option<u64> {
        zone.max_certificates
            .or(self.config.policy.max_certificates_per_zone)
            .filter(|limit| *limit < UNLIMITED)
    }

    pub async fn certificate(
        &self,
        zone: &Zone,
        id: &CertificateId,
    ) -> Result<CertificateRecord, Error> {
        self.store
            .get_certificate(&zone.id, id)
            .await?
            .ok_or(Error::CertificateNotFound)
    }

    /// How many of the zone's certificates are in each state, in [`CertificateStatus::ALL`] order.
    pub async fn certificate_counts(
        &self,
        zone: &Zone,
    ) -> Result<Vec<(CertificateStatus, u64)>, Error> {
        let mut counts = Vec::with_capacity(CertificateStatus::ALL.len());
        for status in CertificateStatus::ALL {
            counts.push((
                status,
                self.store
                    .count_certificates(&zone.id, Some(status))
                    .await?,
            ));
        }
        Ok(counts)
    }

    /// What a zone's overview shows beside its counts: certificates expiring soon, and when its
    /// newest [`RECENT_FOR_OVERVIEW`] certificates were issued.
    pub async fn zone_activity(&self, zone: &Zone) -> Result<ZoneActivity, Error> {
        Ok(self
            .store
            .zone_activity(&zone.id, crate::now(), RECENT_FOR_OVERVIEW)
            .await?)
    }

    pub async fn list_certificates(
        &self,
        zone: &Zone,
        request: &ListRequest,
    ) -> Result<ListedCertificates, Error> {
        // One store call: the page's rows and the size of the filtered set, which the window
        // (offset, then limit) and the page count are computed from.
        let page_start = request
            .page
            .saturating_sub(1)
            .saturating_mul(request.per_page);
        let room_in_window = request
            .limit
            .map_or(u64::MAX, |limit| limit.saturating_sub(page_start));
        let query = CertificateQuery {
            zone_id: zone.id.clone(),
            status: request.status,
            offset: request.offset.saturating_add(page_start),
            limit: request.per_page.min(room_in_window),
        };
        let page = self.store.list_certificates(&query).await?;
        let in_window = page.total.saturating_sub(request.offset);
        let total_count = request
            .limit
            .map_or(in_window, |limit| in_window.min(limit));
        Ok(ListedCertificates {
            items: page.items,
            page: request.page,
            per_page: request.per_page,
            total_count,
            total_pages: total_count.div_ceil(request.per_page.max(1)),
        })
    }

    /// `active`/`pending_reactivation` → `pending_revocation`; already revoking or revoked: unchanged.
    /// Revoke: `active`/`pending_reactivation` → `pending_revocation` with `reason` (default
    /// `unspecified`). Already revoking or revoked: unchanged when no reason or the same reason is
    /// asked for; a different reason replaces the old one while the revocation is unpublished and
    /// is refused once it is published (never a success that ignores it).
    pub async fn revoke_certificate(
        &self,
        zone: &Zone,
        id: &CertificateId,
        requested: Option<RevocationReason>,
        actor: Actor,
    ) -> Result<CertificateRecord, Error> {
        if let Some(reason) = requested.filter(|reason| !reason.applies_to_leaves()) {
            return Err(Error::InvalidArgument(format!(
                "{reason} is a reason for revoking a CA or attribute authority, not a client \
                 certificate"
            )));
        }
        let reason = requested.unwrap_or_default();
        let change = StatusChange {
            zone_id: zone.id.clone(),
            certificate_id: id.clone(),
            from: &[
                CertificateStatus::Active,
                CertificateStatus::PendingReactivation,
            ],
            to: CertificateStatus::PendingRevocation,
            revocation_reason: Some(reason),
            audit: zone_audit(
                zone,
                AuditAction::CertificateRevocationRequested,
                id,
                actor.clone(),
            )
            .with_details(format!("reason={reason}")),
        };
        let mut record = match self.store.change_status(&change).await? {
            StatusChangeOutcome::Changed(record) => {
                self.metrics.requested(Change::revocation);
                return Ok(record);
            }
            StatusChangeOutcome::Unchanged(record) => record,
            StatusChangeOutcome::NotFound => return Err(Error::CertificateNotFound),
        };
        let current = record.revocation_reason.unwrap_or_default();
        let Some(wanted) = requested.filter(|wanted| *wanted != current) else {
            return Ok(record);
        };
        if record.status == CertificateStatus::PendingRevocation {
            let audit = zone_audit(
                zone,
                AuditAction::CertificateRevocationReasonChanged,
                id,
                actor,
            )
            .with_details(format!("reason={current}->{wanted}"));
            match self
                .store
                .change_pending_reason(&zone.id, id, wanted, &audit)
                .await?
            {
                StatusChangeOutcome::Changed(changed) => return Ok(changed),
                // Published in the meantime: now final, like any revoked certificate.
                StatusChangeOutcome::Unchanged(now) => record = now,
                StatusChangeOutcome::NotFound => return Err(Error::CertificateNotFound),
            }
            if record.revocation_reason.unwrap_or_default() == wanted {
                return Ok(record);
            }
        }
        Err(Error::InvalidArgument(format!(
            "the certificate's revocation ({}) is already published with reason {}; a \
             published revocation cannot change",
            record.status,
            record.revocation_reason.unwrap_or_default()
        )))
    }

    /// `pending_revocation` → `pending_reactivation`; `revoked` is final (an error); other states
    /// are returned unchanged.
    pub async fn reactivate_certificate(
        &self,
        zone: &Zone,
        id: &CertificateId,
        actor: Actor,
    ) -> Result<CertificateRecord, Error> {
        let change = StatusChange {
            zone_id: zone.id.clone(),
            certificate_id: id.clone(),
            from: &[CertificateStatus::PendingRevocation],
            to: CertificateStatus::PendingReactivation,
            revocation_reason: None,
            audit: zone_audit(
                zone,
                AuditAction::CertificateReactivationRequested,
                id,
                actor,
            ),
        };
        match self.store.change_status(&change).await? {
            StatusChangeOutcome::Changed(record) => {
                self.metrics.requested(Change::reactivation);
                Ok(record)
            }
            StatusChangeOutcome::Unchanged(record)
                if record.status == CertificateStatus::Revoked =>
            {
                Err(Error::CertificateRevoked)
            }
            StatusChangeOutcome::Unchanged(record) => Ok(record),
            StatusChangeOutcome::NotFound => Err(Error::CertificateNotFound),
        }
    }
}

/// An audit event in the zone's (and so the account's) log.
pub(crate) fn zone_audit(
    zone: &Zone,
    action: AuditAction,
    object_id: impl ToString,
    actor: Actor,
) -> AuditEntry {
    AuditEntry::new(crate::now(), actor, action, object_id.to_string())
        .in_account(&zone.account_id)
        .in_zone(&zone.id)
}
