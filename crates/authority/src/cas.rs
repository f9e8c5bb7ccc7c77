//! Each account's managed CA: created on first use, its decrypted signer cached in memory.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use pki::CaSigner;
use store::{AccountId, Actor, ActorKind, AuditAction, AuditEntry, CaId, CaRecord};
use time::Duration;
use tokio::sync::Mutex;

use crate::master_key::MasterKeyError;
use crate::publication::Revocations;
use crate::{Authority, Error};

/// The setting that holds a sealed CA key waiting for its signed certificate.
fn pending_key_setting(account_id: &AccountId, fingerprint: &str) -> String {
    format!("pending_ca_key/{account_id}/{fingerprint}")
}

/// Where a new issuing CA comes from.
#[derive(Debug)]
pub enum NewCa {
    /// A fresh self-signed CA with a key of this type.
    Generate(pki::CaKeyAlgorithm),
    /// The user's CA certificate (PEM), its PKCS#8 key (PEM), and the chain above it up to the
    /// root (PEM, issuer first) unless it is self-signed.
    Import {
        certificate_pem: String,
        private_key_pem: String,
        chain_pem: Option<String>,
    },
}

/// A CA ready to sign, with the identity the API reports.
pub(crate) struct LoadedCa {
    pub(crate) record: CaRecord,
    pub(crate) signer: CaSigner,
}

/// Decrypted CA signers (every generation that was asked for) and each account's current CA.
#[derive(Default)]
pub(crate) struct CaCache {
    by_id: RwLock<HashMap<CaId, Arc<LoadedCa>>>,
    /// The account's issuing CA, and when that was read: another process (`clientca ca rotate`,
    /// another replica) may rotate it, so it is re-read once older than the token cache TTL.
    current: RwLock<HashMap<AccountId, (CaId, Instant)>>,
    /// Serialises creation and rotation inside this process; the store's one-current-CA index
    /// settles races between processes.
    creating: Mutex<()>,
}

impl Authority {
    /// The account's issuing CA, creating it on first use.
    pub(crate) async fn ca_for_account(
        &self,
        account_id: &AccountId,
    ) -> Result<Arc<LoadedCa>, Error> {
        if let Some(ca) = self.cached_current(account_id) {
            return Ok(ca);
        }
        let record = match self.store.get_ca_for_account(account_id).await? {
            Some(record) => record,
            None => {
                let _creating = self.cas.creating.lock().await;
                match self.store.get_ca_for_account(account_id).await? {
                    Some(record) => record,
                    None => {
                        self.create_ca(account_id, self.config.policy.ca_key)
                            .await?
                    }
                }
            }
        };
        let loaded = self.loaded(record)?;
        self.cas
            .current
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                account_id.clone(),
                (loaded.record.id.clone(), Instant::now()),
            );
        Ok(loaded)
    }

    /// A CA by its id (any generation), ready to sign; `None` when no such CA exists.
    pub(crate) async fn ca_by_id(&self, ca_id: &CaId) -> Result<Option<Arc<LoadedCa>>, Error> {
        if let Some(ca) = self.cached_by_id(ca_id) {
            return Ok(Some(ca));
        }
        match self.store.get_ca(ca_id).await? {
            Some(record) => self.loaded(record).map(Some),
            None => Ok(None),
        }
    }

    /// The account's issuing CA record if it has one, without creating it.
    pub async fn existing_ca(&self, account_id: &AccountId) -> Result<Option<CaRecord>, Error> {
        if let Some(ca) = self.cached_current(account_id) {
            return Ok(Some(ca.record.clone()));
        }
        Ok(self.store.get_ca_for_account(account_id).await?)
    }

    /// Every CA the account has had, oldest first (the last one current).
    pub async fn account_cas(&self, account_id: &AccountId) -> Result<Vec<CaRecord>, Error> {
        Ok(self.store.cas_of_account(account_id).await?)
    }

    /// Re-seal every CA key under `new` (the current key must be configured and right), and make
    /// `new` the key the database expects. Servers must restart with `new` afterwards.
    pub async fn rotate_master_key(
        &self,
        new: &crate::MasterKey,
        actor: Actor,
    ) -> Result<usize, Error> {
        let current = self.master_key()?;
        crate::master_key::verify_against_store(current, self.store.as_ref()).await?;
        let mut resealed = Vec::new();
        for ca in self.store.list_cas().await? {
            let pkcs8 = current.open(&ca.sealed_private_key, ca.id.as_str().as_bytes())?;
            let sealed = new.seal(&pkcs8, ca.id.as_str().as_bytes())?;
            resealed.push((ca.id, sealed));
        }
        let audit = AuditEntry::new(
            crate::now(),
            actor,
            AuditAction::MasterKeyRotated,
            "master_key",
        )
        .with_details(format!("certificate_authorities={}", resealed.len()));
        let check = crate::master_key::check_value(new)?;
        self.store.reseal_ca_keys(&resealed, &check, &audit).await?;
        Ok(resealed.len())
    }

    /// Make a new CA the account's issuing CA: generated with a key of `algorithm`, or imported
    /// (an intermediate under the user's root, with its key). The current one is retired, not
    /// deleted: it keeps publishing CRLs and answering OCSP for the certificates it issued, and
    /// the gateway keeps trusting it. Returns the new CA and the retired one's id.
    pub async fn rotate_ca(
        &self,
        account_id: &AccountId,
        source: NewCa,
        actor: Actor,
    ) -> Result<(CaRecord, Option<CaId>), Error> {
        let key = self.master_key()?;
        if self.store.get_account(account_id).await?.is_none() {
            return Err(Error::NotFound(format!("account {account_id}")));
        }
        let now = crate::now();
        let (parts, kind) = match source {
            NewCa::Generate(algorithm) => {
                let name = self
                    .config
                    .policy
                    .ca_name_template
                    .replace("{account_id}", account_id.as_str());
                let generated = pki::generate_managed_ca(
                    &name,
                    now,
                    Duration::days(i64::from(self.config.policy.ca_validity_days)),
                    algorithm,
                )?;
                let parts = pki::ImportedCa {
                    certificate_der: generated.certificate_der,
                    certificate_pem: generated.certificate_pem,
                    private_key_pkcs8_der: generated.private_key_pkcs8_der,
                    chain_pem: String::new(),
                    not_before: generated.not_before,
                    not_after: generated.not_after,
                    name,
                };
                (parts, "generated")
            }
            NewCa::Import {
                certificate_pem,
                private_key_pem,
                chain_pem,
            } => {
                let imported = pki::import_ca(
                    &certificate_pem,
                    &private_key_pem,
                    chain_pem.as_deref(),
                    now,
                )?;
                (imported, "imported")
            }
        };
        let id = CaId::random();
        let signer = CaSigner::from_parts(&parts.certificate_der, &parts.private_key_pkcs8_der)?;
        let initial_crl =
            self.sign_crl_record(&id, &signer, 1, Revocations::Listed(Vec::new()), &[], now)?;
        let record = CaRecord {
            sealed_private_key: key.seal(&parts.private_key_pkcs8_der, id.as_str().as_bytes())?,
            id,
            account_id: account_id.clone(),
            name: parts.name,
            certificate_pem: parts.certificate_pem,
            certificate_der: parts.certificate_der,
            not_before: parts.not_before,
            not_after: parts.not_after,
            created_at: now,
            chain_pem: parts.chain_pem,
            retired_at: None,
            generation: 0,
        };
        let _rotating = self.cas.creating.lock().await;
        let previous = self.store.get_ca_for_account(account_id).await?;
        let audit = AuditEntry::new(
            now,
            actor,
            AuditAction::CertificateAuthorityRotated,
            record.id.as_str(),
        )
        .in_account(account_id)
        .with_details(format!(
            "{kind}; replaces={}",
            previous.map_or_else(|| "none".to_string(), |ca| ca.id.to_string())
        ));
        let retired = self.store.rotate_ca(&record, &initial_crl, &audit).await?;
        self.cas
            .current
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(account_id);
        tracing::info!(ca_id = %record.id, %account_id, retired = ?retired, "{kind} CA is now current");
        // As stored: with the generation the store gave it.
        let stored = self.store.get_ca(&record.id).await?.ok_or_else(|| {
            store::StoreError::Corrupt(format!("the new CA {} vanished", record.id))
        })?;
        Ok((stored, retired))
    }

    /// Generate a CA key for the account and return a CSR for the user's root to sign; the key
    /// waits, sealed, until `install_ca` brings the signed certificate. (Kept in the settings
    /// table under the key's fingerprint: a master-key rotation before the install makes it
    /// unusable — make a new CSR then.)
    pub async fn ca_csr(
        &self,
        account_id: &AccountId,
        algorithm: pki::CaKeyAlgorithm,
        common_name: Option<&str>,
    ) -> Result<String, Error> {
        let key = self.master_key()?;
        if self.store.get_account(account_id).await?.is_none() {
            return Err(Error::NotFound(format!("account {account_id}")));
        }
        let default_name = format!("Issuing CA for account {account_id}");
        let (pkcs8, csr) = pki::ca_key_and_csr(common_name.unwrap_or(&default_name), algorithm)?;
        let setting = pending_key_setting(account_id, &pki::key_fingerprint(&pkcs8)?);
        let sealed = key.seal(&pkcs8, setting.as_bytes())?;
        self.store
            .put_setting_if_absent(&setting, &hex::encode(sealed))
            .await?;
        Ok(csr)
    }

    /// Complete `ca_csr`: the signed certificate (and the chain above it) with the key that
    /// waited for it become the account's issuing CA, as an import would.
    pub async fn install_ca(
        &self,
        account_id: &AccountId,
        certificate_pem: &str,
        chain_pem: Option<String>,
        actor: Actor,
    ) -> Result<(CaRecord, Option<CaId>), Error> {
        let key = self.master_key()?;
        let not_a_certificate = || Error::InvalidImportedCa(pki::ImportError::NotOneCertificate);
        let ders = pki::ca_bundle_ders(certificate_pem).map_err(|_| not_a_certificate())?;
        let [der] = ders.as_slice() else {
            return Err(not_a_certificate());
        };
        let fingerprint = pki::public_key_fingerprint(der).ok_or_else(not_a_certificate)?;
        let setting = pending_key_setting(account_id, &fingerprint);
        let Some(sealed) = self.store.get_setting(&setting).await? else {
            return Err(Error::InvalidArgument(
                "no key waits for this certificate: its public key is not one `ca csr` made for \
                 this account"
                    .into(),
            ));
        };
        let sealed = hex::decode(sealed)
            .map_err(|_| store::StoreError::Corrupt(format!("setting {setting} is not hex")))?;
        let pkcs8 = key.open(&sealed, setting.as_bytes())?;
        let source = NewCa::Import {
            certificate_pem: certificate_pem.to_string(),
            private_key_pem: pki::to_pem("PRIVATE KEY", &pkcs8),
            chain_pem,
        };
        let installed = self.rotate_ca(account_id, source, actor).await?;
        self.store.delete_setting(&setting).await?;
        Ok(installed)
    }

    /// The master key, which everything that creates or loads a CA key needs.
    pub(crate) fn master_key(&self) -> Result<&crate::MasterKey, Error> {
        Ok(self
            .config
            .master_key
            .as_ref()
            .ok_or(MasterKeyError::Missing)?)
    }

    fn cached_current(&self, account_id: &AccountId) -> Option<Arc<LoadedCa>> {
        let (id, read_at) = self
            .cas
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(account_id)
            .cloned()?;
        if read_at.elapsed() > self.config.token_cache_ttl {
            return None;
        }
        self.cached_by_id(&id)
    }

    fn cached_by_id(&self, ca_id: &CaId) -> Option<Arc<LoadedCa>> {
        self.cas
            .by_id
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(ca_id)
            .cloned()
    }

    /// The signer of `record`, decrypted once per process.
    fn loaded(&self, record: CaRecord) -> Result<Arc<LoadedCa>, Error> {
        if let Some(ca) = self.cached_by_id(&record.id) {
            return Ok(ca);
        }
        let loaded = Arc::new(self.load_ca(record)?);
        self.cas
            .by_id
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(loaded.record.id.clone(), Arc::clone(&loaded));
        Ok(loaded)
    }

    /// Give the account its managed CA now, with a key of `algorithm`, instead of on first use
    /// with the server's default. Refused when the account already has one of another type.
    pub async fn create_account_ca(
        &self,
        account_id: &AccountId,
        algorithm: pki::CaKeyAlgorithm,
    ) -> Result<CaRecord, Error> {
        let _creating = self.cas.creating.lock().await;
        let record = match self.store.get_ca_for_account(account_id).await? {
            Some(existing) => existing,
            None => self.create_ca(account_id, algorithm).await?,
        };
        let loaded = self.load_ca(record)?;
        if loaded.signer.key_algorithm() != Some(algorithm) {
            return Err(Error::InvalidArgument(format!(
                "the account already has a CA with another key type ({})",
                loaded.signer.signature_name()
            )));
        }
        Ok(loaded.record)
    }

    async fn create_ca(
        &self,
        account_id: &AccountId,
        algorithm: pki::CaKeyAlgorithm,
    ) -> Result<CaRecord, Error> {
        let key = self.master_key()?;
        let policy = &self.config.policy;
        let name = policy
            .ca_name_template
            .replace("{account_id}", account_id.as_str());
        let now = crate::now();
        let generated = pki::generate_managed_ca(
            &name,
            now,
            Duration::days(i64::from(policy.ca_validity_days)),
            algorithm,
        )?;
        let id = CaId::random();
        let signer =
            CaSigner::from_parts(&generated.certificate_der, &generated.private_key_pkcs8_der)?;
        let initial_crl =
            self.sign_crl_record(&id, &signer, 1, Revocations::Listed(Vec::new()), &[], now)?;
        let record = CaRecord {
            sealed_private_key: key
                .seal(&generated.private_key_pkcs8_der, id.as_str().as_bytes())?,
            id,
            account_id: account_id.clone(),
            name,
            certificate_pem: generated.certificate_pem,
            certificate_der: generated.certificate_der,
            not_before: generated.not_before,
            not_after: generated.not_after,
            created_at: now,
            chain_pem: String::new(),
            retired_at: None,
            generation: 1,
        };
        let audit = AuditEntry::new(
            now,
            Actor::new(ActorKind::System),
            AuditAction::CertificateAuthorityCreated,
            record.id.as_str(),
        )
        .in_account(account_id);
        let winner = self
            .store
            .insert_ca_if_absent(&record, &initial_crl, &audit)
            .await?;
        if winner.id == record.id {
            tracing::info!(ca_id = %winner.id, %account_id, "created managed CA");
        }
        Ok(winner)
    }

    fn load_ca(&self, record: CaRecord) -> Result<LoadedCa, Error> {
        let key = self.master_key()?;
        let pkcs8 = key.open(&record.sealed_private_key, record.id.as_str().as_bytes())?;
        let signer = CaSigner::from_parts(&record.certificate_der, &pkcs8)?;
        Ok(LoadedCa { record, signer })
    }
}
