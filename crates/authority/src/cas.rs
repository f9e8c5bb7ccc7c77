//! Each account's managed CA: created on first use, its decrypted signer cached in memory.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use pki::CaSigner;
use store::{AccountId, Actor, ActorKind, AuditAction, AuditEntry, CaId, CaRecord};
use time::Duration;
use tokio::sync::Mutex;

use crate::master_key::MasterKeyError;
use crate::{Authority, Error};

/// A CA ready to sign, with the identity the API reports.
pub(crate) struct LoadedCa {
    pub(crate) record: CaRecord,
    pub(crate) signer: CaSigner,
}

#[derive(Default)]
pub(crate) struct CaCache {
    by_account: RwLock<HashMap<AccountId, Arc<LoadedCa>>>,
    /// Account of each loaded CA (CAs never move between accounts).
    account_of: RwLock<HashMap<CaId, AccountId>>,
    /// Serialises creation inside this process; the store's UNIQUE(account_id) settles races
    /// between processes.
    creating: Mutex<()>,
}

impl Authority {
    /// The account's CA, creating it on first use.
    pub(crate) async fn ca_for_account(
        &self,
        account_id: &AccountId,
    ) -> Result<Arc<LoadedCa>, Error> {
        if let Some(ca) = self.cached_ca(account_id) {
            return Ok(ca);
        }
        let _creating = self.cas.creating.lock().await;
        if let Some(ca) = self.cached_ca(account_id) {
            return Ok(ca);
        }
        let record = match self.store.get_ca_for_account(account_id).await? {
            Some(record) => record,
            None => {
                self.create_ca(account_id, self.config.policy.ca_key)
                    .await?
            }
        };
        let loaded = Arc::new(self.load_ca(record)?);
        self.cas
            .account_of
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(loaded.record.id.clone(), account_id.clone());
        self.cas
            .by_account
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account_id.clone(), Arc::clone(&loaded));
        Ok(loaded)
    }

    /// A CA by its id, ready to sign; `None` when no such CA exists.
    pub(crate) async fn ca_by_id(&self, ca_id: &CaId) -> Result<Option<Arc<LoadedCa>>, Error> {
        let known = self
            .cas
            .account_of
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(ca_id)
            .cloned();
        let account_id = match known {
            Some(account_id) => account_id,
            None => match self.store.get_ca(ca_id).await? {
                Some(record) => record.account_id,
                None => return Ok(None),
            },
        };
        self.ca_for_account(&account_id).await.map(Some)
    }

    /// The account's CA record if it has one, without creating it.
    pub async fn existing_ca(&self, account_id: &AccountId) -> Result<Option<CaRecord>, Error> {
        if let Some(ca) = self.cached_ca(account_id) {
            return Ok(Some(ca.record.clone()));
        }
        Ok(self.store.get_ca_for_account(account_id).await?)
    }

    /// Re-seal every CA key under `new` (the current key must be configured and right), and make
    /// `new` the key the database expects. Servers must restart with `new` afterwards.
    pub async fn rotate_master_key(
        &self,
        new: &crate::MasterKey,
        actor: Actor,
    ) -> Result<usize, Error> {
        let current = self
            .config
            .master_key
            .as_ref()
            .ok_or(MasterKeyError::Missing)?;
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

    fn cached_ca(&self, account_id: &AccountId) -> Option<Arc<LoadedCa>> {
        self.cas
            .by_account
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(account_id)
            .cloned()
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
        let key = self
            .config
            .master_key
            .as_ref()
            .ok_or(MasterKeyError::Missing)?;
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
        let initial_crl = self.sign_crl_record(&id, &signer, 1, &[], now)?;
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
        let key = self
            .config
            .master_key
            .as_ref()
            .ok_or(MasterKeyError::Missing)?;
        let pkcs8 = key.open(&record.sealed_private_key, record.id.as_str().as_bytes())?;
        let signer = CaSigner::from_parts(&record.certificate_der, &pkcs8)?;
        Ok(LoadedCa { record, signer })
    }
}
