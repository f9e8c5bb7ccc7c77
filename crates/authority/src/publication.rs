//! Publishing revocation: the worker's pass, the CRLs it signs, and serving them.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use pki::{
    CaSigner, OcspItem, OcspRequest, OcspStatus, RevocationReason, RevokedEntry, SerialNumber,
};
use store::{
    Actor, ActorKind, CertificateStatus, CrlRecord, OcspRecord, PublishReport, PublishRequest,
    Publisher, RevokedSerial, SettlingSerial, StoreError,
};
use time::OffsetDateTime;

use crate::{Authority, Error};

/// The public endpoints of one CA, as written into its leaves.
pub(crate) struct CaUrls {
    pub crl: String,
    pub ocsp: String,
    pub ca_issuers: String,
}

/// The newest CRL of each CA, checked against the store's number before use.
#[derive(Default)]
pub(crate) struct CrlCache {
    latest: RwLock<HashMap<String, Arc<CrlRecord>>>,
}

impl Authority {
    /// One publication pass: settle up to `limit` pending transitions after publishing them,
    /// and re-sign CRLs past half their validity.
    pub async fn publish(&self, limit: u32) -> Result<PublishReport, Error> {
        let now = crate::now();
        let validity = self.config.publication.crl_validity;
        let request = PublishRequest {
            limit,
            refresh_before: now + validity / 2,
            actor: Actor::new(ActorKind::Worker),
            now,
        };
        Ok(self
            .store
            .publish(
                &request,
                &SigningPublisher {
                    authority: self,
                    now,
                },
            )
            .await?)
    }

    /// The newest CRL of a CA, or `None` for an unknown CA.
    pub async fn latest_crl(&self, ca_id: &str) -> Result<Option<Arc<CrlRecord>>, Error> {
        if !crate::ids::is_uuid(ca_id) {
            return Ok(None);
        }
        let Some(number) = self.store.latest_crl_number(ca_id).await? else {
            return Ok(None);
        };
        if let Some(cached) = self
            .crl_cache
            .latest
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(ca_id)
            && cached.crl_number == number
        {
            return Ok(Some(Arc::clone(cached)));
        }
        let Some(crl) = self.store.latest_crl(ca_id).await? else {
            return Ok(None);
        };
        let crl = Arc::new(crl);
        self.crl_cache
            .latest
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(ca_id.to_string(), Arc::clone(&crl));
        Ok(Some(crl))
    }

    /// A CA's certificate (from the CA cache), or `None` for an unknown CA.
    pub async fn ca_certificate(&self, ca_id: &str) -> Result<Option<store::CaRecord>, Error> {
        Ok(self.ca_by_id(ca_id).await?.map(|ca| ca.record.clone()))
    }

    pub(crate) fn publication_urls(&self, ca_id: &str) -> Option<CaUrls> {
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

    pub(crate) fn sign_crl_record(
        &self,
        ca_id: &str,
        signer: &CaSigner,
        crl_number: i64,
        revoked: &[RevokedSerial],
        now: OffsetDateTime,
    ) -> Result<CrlRecord, Error> {
        let entries = revoked
            .iter()
            .map(|r| {
                Ok(RevokedEntry {
                    // Stored serials are always ours; a corrupt one is an internal error.
                    serial: SerialNumber::from_decimal(&r.serial_number).ok_or_else(|| {
                        StoreError::Corrupt(format!(
                            "stored serial {:?} is invalid",
                            r.serial_number
                        ))
                    })?,
                    revoked_at: r.revoked_at,
                    reason: parse_reason(r.revocation_reason.as_deref()),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let next_update = now + self.config.publication.crl_validity;
        let number = u64::try_from(crl_number).map_err(|_| pki::CrlError::BadNumber)?;
        let der = pki::sign_crl(signer, number, now, next_update, &entries)?;
        Ok(CrlRecord {
            ca_id: ca_id.to_string(),
            crl_number,
            this_update: now,
            next_update,
            der,
        })
    }
}

/// Stored reasons were validated on the way in; anything else reads as unspecified.
pub(crate) fn parse_reason(stored: Option<&str>) -> RevocationReason {
    stored.and_then(|r| r.parse().ok()).unwrap_or_default()
}

/// Signs with the authority's CA keys inside the store's publication transaction.
struct SigningPublisher<'a> {
    authority: &'a Authority,
    now: OffsetDateTime,
}

impl SigningPublisher<'_> {
    async fn signer(&self, ca_id: &str) -> Result<Arc<crate::cas::LoadedCa>, String> {
        self.authority
            .ca_by_id(ca_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("CA {ca_id} not found"))
    }
}

#[async_trait::async_trait]
impl Publisher for SigningPublisher<'_> {
    async fn sign_crl(
        &self,
        ca_id: &str,
        crl_number: i64,
        revoked: &[RevokedSerial],
    ) -> Result<CrlRecord, String> {
        let ca = self.signer(ca_id).await?;
        let (authority, now, revoked) = (self.authority, self.now, revoked.to_vec());
        let ca_id = ca_id.to_string();
        // Signing a large CRL is seconds of CPU: keep it off the async workers.
        tokio::task::block_in_place(|| {
            authority.sign_crl_record(&ca_id, &ca.signer, crl_number, &revoked, now)
        })
        .map_err(|e| e.to_string())
    }

    async fn sign_ocsp(
        &self,
        ca_id: &str,
        settling: &[SettlingSerial],
    ) -> Result<Vec<OcspRecord>, String> {
        let ca = self.signer(ca_id).await?;
        let next_update = self.now + self.authority.config.publication.ocsp_validity;
        settling
            .iter()
            .map(|serial| {
                let parsed =
                    SerialNumber::from_decimal(&serial.serial_number).ok_or_else(|| {
                        format!("stored serial {:?} is invalid", serial.serial_number)
                    })?;
                let status = match serial.settles_to {
                    CertificateStatus::Revoked => OcspStatus::Revoked {
                        at: serial.revoked_at.unwrap_or(self.now),
                        reason: parse_reason(serial.revocation_reason.as_deref()),
                    },
                    _ => OcspStatus::Good,
                };
                let item = OcspItem::for_serial(&ca.signer, parsed).map_err(|e| e.to_string())?;
                let request = OcspRequest::for_items(vec![item]);
                let der =
                    pki::sign_ocsp_response(&ca.signer, &request, &[status], self.now, next_update)
                        .map_err(|e| e.to_string())?;
                Ok(OcspRecord {
                    ca_id: ca_id.to_string(),
                    serial_number: serial.serial_number.clone(),
                    status: serial.settles_to,
                    this_update: self.now,
                    next_update,
                    der,
                })
            })
            .collect()
    }
}
