//! What an enforcement point (the mTLS gateway) reads: which hostnames require which account's
//! CAs, and what has been published as revoked. Nothing here needs the master key.

use std::collections::HashMap;

use pki::SerialNumber;
use store::{AccountId, CaId, MtlsCertificateId};

use crate::hostnames::association;
use crate::{Authority, Error};

/// A hostname that requires client certificates from one account's CAs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnforcedHost {
    /// As associated: a name, or `*.` and a name.
    pub hostname: String,
    pub account_id: AccountId,
}

/// A CA whose certificates an account's hostnames accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedCa {
    pub id: CaId,
    pub account_id: AccountId,
    pub certificate_der: Vec<u8>,
}

/// A CA certificate an account uploaded and associated with some hostname: its hostnames trust
/// every certificate of the bundle. Nothing is published for it, so nothing is revoked by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedTrust {
    pub id: MtlsCertificateId,
    pub account_id: AccountId,
    pub certificates_der: Vec<Vec<u8>>,
}

/// Hostnames and the CAs they trust, as of one read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnforcementView {
    pub hosts: Vec<EnforcedHost>,
    /// Every managed CA (each account's hostnames trust its own).
    pub cas: Vec<TrustedCa>,
    /// Uploaded CA certificates that some hostname requires.
    pub uploaded: Vec<UploadedTrust>,
    /// Associations not honoured (outside their zone, or claimed by two accounts), for logs.
    pub refused: Vec<String>,
}

impl Authority {
    /// The hostnames to enforce and the CAs they trust. An association is honoured only when it
    /// lies within its zone, and a hostname two accounts associate is refused rather than
    /// guessed (the API prevents both; a database edited behind its back could still hold them).
    pub async fn enforcement_view(&self) -> Result<EnforcementView, Error> {
        let mut by_hostname: HashMap<String, Vec<AccountId>> = HashMap::new();
        let mut refused = Vec::new();
        for row in self.store.all_hostname_associations().await? {
            let within = association(&row.hostname, &row.zone_name)
                .is_ok_and(|normalised| normalised == row.hostname);
            if !within {
                refused.push(format!("{} (outside zone {})", row.hostname, row.zone_name));
                continue;
            }
            let accounts = by_hostname.entry(row.hostname).or_default();
            if !accounts.contains(&row.account_id) {
                accounts.push(row.account_id);
            }
        }
        let mut hosts = Vec::new();
        for (hostname, accounts) in by_hostname {
            match <[AccountId; 1]>::try_from(accounts) {
                Ok([account_id]) => hosts.push(EnforcedHost {
                    hostname,
                    account_id,
                }),
                Err(_) => refused.push(format!("{hostname} (claimed by several accounts)")),
            }
        }
        hosts.sort_by(|a, b| a.hostname.cmp(&b.hostname));
        let cas = self
            .store
            .list_cas()
            .await?
            .into_iter()
            .map(|ca| TrustedCa {
                id: ca.id,
                account_id: ca.account_id,
                certificate_der: ca.certificate_der,
            })
            .collect();
        let mut uploaded = Vec::new();
        for record in self.store.associated_mtls_certificates().await? {
            let certificates_der = pki::ca_bundle_ders(&record.certificates_pem).map_err(|e| {
                store::StoreError::Corrupt(format!(
                    "mTLS certificate {} is unreadable: {e}",
                    record.id
                ))
            })?;
            uploaded.push(UploadedTrust {
                id: record.id,
                account_id: record.account_id,
                certificates_der,
            });
        }
        Ok(EnforcementView {
            hosts,
            cas,
            uploaded,
            refused,
        })
    }

    /// Every CA's newest CRL number: when none changed, nothing was published.
    pub async fn published_crl_numbers(&self) -> Result<Vec<(CaId, i64)>, Error> {
        Ok(self.store.latest_crl_numbers().await?)
    }

    /// The serials the CA's newest CRL lists, with that CRL's number; `None` for an unknown CA.
    pub async fn published_revocations(
        &self,
        ca_id: &CaId,
    ) -> Result<Option<(i64, Vec<SerialNumber>)>, Error> {
        // Straight from the store, not through the CRL cache: a gateway process would otherwise
        // keep every CA's newest CRL (40 MB at a million entries) for nothing.
        let Some(crl) = self.store.latest_crl(ca_id).await? else {
            return Ok(None);
        };
        let serials = pki::crl_serials(&crl.der).map_err(|e| {
            store::StoreError::Corrupt(format!("the CRL of {ca_id} is unreadable: {e}"))
        })?;
        Ok(Some((crl.crl_number, serials)))
    }
}
