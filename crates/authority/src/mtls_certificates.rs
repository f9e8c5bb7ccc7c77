//! CA certificates an account uploads (`/accounts/{account_id}/mtls_certificates`) so that the
//! gateway accepts client certificates they issued on the hostnames associated with them.
//! clientca stores the certificates only: never a private key, and it signs nothing with them.

use store::{
    AccountId, Actor, AuditAction, AuditEntry, MtlsCertificateId, MtlsCertificateRecord,
    MtlsDeleteOutcome, MtlsUploadOutcome, Permission, TokenScope, ZoneId,
};

use crate::auth::Principal;
use crate::{Authority, Error};

/// Uploaded CAs per account (Cloudflare allows five; a self-hosted CA has fewer reasons to be
/// stingy, but an unbounded list would make every gateway's CertificateRequest unbounded too).
pub const MAX_MTLS_CERTIFICATES_PER_ACCOUNT: u32 = 20;
const MAX_NAME_LENGTH: usize = 255;

/// The body of an upload, as the SDKs send it.
#[derive(Debug, Clone, Default)]
pub struct MtlsCertificateUpload {
    pub ca: bool,
    pub certificates: String,
    pub name: Option<String>,
    /// Refused whenever present: clientca keeps no keys for uploaded certificates.
    pub private_key: Option<String>,
}

impl Authority {
    /// Uploaded certificates belong to the whole account: only account-wide credentials reach
    /// them (zone-scoped tokens see no account resources).
    fn authorize_account(
        &self,
        principal: &Principal,
        account_id: &AccountId,
        needed: Permission,
    ) -> Result<(), Error> {
        if principal.token.account_id != *account_id || principal.token.scope != TokenScope::Account
        {
            return Err(Error::ZoneNotAccessible);
        }
        if !principal.token.permission.allows(needed) {
            return Err(Error::MissingPermission(match needed {
                Permission::Read => "ssl:read",
                Permission::Edit => "ssl:edit",
            }));
        }
        Ok(())
    }

    pub async fn upload_mtls_certificate(
        &self,
        principal: &Principal,
        account_id: &AccountId,
        upload: MtlsCertificateUpload,
        actor: Actor,
    ) -> Result<MtlsCertificateRecord, Error> {
        self.authorize_account(principal, account_id, Permission::Edit)?;
        if !upload.ca || upload.private_key.is_some() {
            return Err(Error::InvalidArgument(
                "clientca stores CA certificates only (ca: true, no private_key): it verifies \
                 client certificates with them and never holds a key for them"
                    .into(),
            ));
        }
        let name = match upload.name.as_deref().map(str::trim) {
            None => None,
            Some(name)
                if name.is_empty()
                    || name.chars().count() > MAX_NAME_LENGTH
                    || name.chars().any(char::is_control) =>
            {
                return Err(Error::InvalidArgument(format!(
                    "name must be 1 to {MAX_NAME_LENGTH} printable characters"
                )));
            }
            Some(name) => Some(name.to_string()),
        };
        let now = crate::now();
        let bundle = pki::parse_ca_bundle(&upload.certificates, now)?;
        let record = MtlsCertificateRecord {
            id: MtlsCertificateId::random(),
            account_id: account_id.clone(),
            name,
            certificates_pem: bundle.pem,
            issuer: bundle.issuer,
            serial_number: bundle.serial_number,
            signature: bundle.signature,
            expires_on: bundle.expires_on,
            uploaded_on: now,
            updated_at: now,
        };
        let audit = account_audit(
            account_id,
            AuditAction::MtlsCertificateUploaded,
            &record.id,
            actor,
        )
        .with_details(format!("issuer={}", record.issuer));
        match self
            .store
            .insert_mtls_certificate(&record, MAX_MTLS_CERTIFICATES_PER_ACCOUNT, &audit)
            .await?
        {
            MtlsUploadOutcome::Uploaded => Ok(record),
            MtlsUploadOutcome::NameTaken => Err(Error::InvalidArgument(format!(
                "an mTLS certificate named {:?} already exists in this account",
                record.name.unwrap_or_default()
            ))),
            MtlsUploadOutcome::LimitReached => Err(Error::MtlsCertificateLimit(
                MAX_MTLS_CERTIFICATES_PER_ACCOUNT,
            )),
        }
    }

    pub async fn mtls_certificates(
        &self,
        principal: &Principal,
        account_id: &AccountId,
    ) -> Result<Vec<MtlsCertificateRecord>, Error> {
        self.authorize_account(principal, account_id, Permission::Read)?;
        Ok(self.store.list_mtls_certificates(account_id).await?)
    }

    pub async fn mtls_certificate(
        &self,
        principal: &Principal,
        account_id: &AccountId,
        id: &MtlsCertificateId,
    ) -> Result<MtlsCertificateRecord, Error> {
        self.authorize_account(principal, account_id, Permission::Read)?;
        self.store
            .get_mtls_certificate(account_id, id)
            .await?
            .ok_or(Error::MtlsCertificateNotFound)
    }

    /// Delete an uploaded certificate; refused while a hostname still requires it (as on
    /// Cloudflare), so no hostname is left trusting nothing.
    pub async fn delete_mtls_certificate(
        &self,
        principal: &Principal,
        account_id: &AccountId,
        id: &MtlsCertificateId,
        actor: Actor,
    ) -> Result<MtlsCertificateRecord, Error> {
        self.authorize_account(principal, account_id, Permission::Edit)?;
        let audit = account_audit(account_id, AuditAction::MtlsCertificateDeleted, id, actor);
        match self
            .store
            .delete_mtls_certificate(account_id, id, &audit)
            .await?
        {
            MtlsDeleteOutcome::Deleted(record) => Ok(record),
            MtlsDeleteOutcome::NotFound => Err(Error::MtlsCertificateNotFound),
            MtlsDeleteOutcome::Associated(hostnames) => {
                Err(Error::MtlsCertificateInUse(hostnames.join(", ")))
            }
        }
    }

    /// The hostnames (with their zones) on which the certificate is required.
    pub async fn mtls_certificate_associations(
        &self,
        principal: &Principal,
        account_id: &AccountId,
        id: &MtlsCertificateId,
    ) -> Result<Vec<(String, ZoneId)>, Error> {
        self.mtls_certificate(principal, account_id, id).await?;
        Ok(self.store.mtls_certificate_associations(id).await?)
    }
}

fn account_audit(
    account_id: &AccountId,
    action: AuditAction,
    object_id: impl ToString,
    actor: Actor,
) -> AuditEntry {
    AuditEntry::new(crate::now(), actor, action, object_id.to_string()).in_account(account_id)
}
