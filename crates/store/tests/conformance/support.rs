//! Records and helpers the role tests share.

use store::*;
use test_support::TestDatabase;
use time::OffsetDateTime;

pub(crate) async fn open(db: &TestDatabase) -> DynStore {
    connect(&db.url).await.expect("store opens")
}

pub(crate) fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000 + seconds).unwrap()
}

pub(crate) fn account_id(tag: char) -> AccountId {
    AccountId::parse(&tag.to_string().repeat(32)).expect("hex tag")
}

/// A certificate id that sorts by `n`.
pub(crate) fn cert_id(n: u32) -> CertificateId {
    CertificateId::parse(&format!("00000000-0000-4000-8000-{n:012}")).unwrap()
}

pub(crate) fn ca_id(n: u32) -> CaId {
    CaId::parse(&format!("c0000000-0000-4000-8000-{n:012}")).unwrap()
}

pub(crate) fn serial(n: u128) -> pki::SerialNumber {
    pki::SerialNumber::from_decimal(&n.to_string()).unwrap()
}

pub(crate) fn audit(action: AuditAction, object_id: impl ToString) -> AuditEntry {
    AuditEntry {
        occurred_at: at(0),
        actor: Actor {
            kind: ActorKind::Cli,
            id: Some("tester".into()),
            source_ip: Some("127.0.0.1".into()),
        },
        action,
        object_type: action.object(),
        object_id: object_id.to_string(),
        account_id: Some(account_id('a')),
        zone_id: None,
        details: None,
    }
}

/// How many audit events of `action` the store holds.
pub(crate) async fn audit_count(store: &DynStore, action: AuditAction) -> usize {
    store
        .audit_events(None, 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.entry.action == action)
        .count()
}

pub(crate) struct Tenant {
    pub account: Account,
    pub zone: Zone,
    pub ca: CaRecord,
}

impl Tenant {
    /// Associations with the tenant's managed CA.
    pub(crate) fn managed(&self) -> AssociationTarget {
        AssociationTarget::ManagedCa(self.ca.id.clone())
    }
}

/// An account (id `tag` × 32), its zone and its CA.
pub(crate) async fn tenant(store: &DynStore, tag: char) -> Tenant {
    let account = Account {
        id: account_id(tag),
        name: format!("account {tag}"),
        created_at: at(0),
    };
    store
        .create_account(&account, &audit(AuditAction::AccountCreated, &account.id))
        .await
        .unwrap();
    let zone = Zone {
        id: ZoneId::parse(&format!("{tag}{}", "0".repeat(31))).unwrap(),
        account_id: account.id.clone(),
        name: format!("{tag}.example.com"),
        created_at: at(1),
        max_certificates: None,
    };
    store
        .create_zone(&zone, &audit(AuditAction::ZoneCreated, &zone.id))
        .await
        .unwrap();
    let ca_id = ca_id(u32::from(tag));
    let ca = store
        .insert_ca_if_absent(
            &ca_record(&account.id, &ca_id),
            &first_crl(&ca_id),
            &audit(AuditAction::CertificateAuthorityCreated, &ca_id),
        )
        .await
        .unwrap();
    Tenant { account, zone, ca }
}

pub(crate) fn ca_record(account_id: &AccountId, id: &CaId) -> CaRecord {
    CaRecord {
        id: id.clone(),
        account_id: account_id.clone(),
        name: format!("Managed CA for account {account_id}"),
        certificate_pem: "-----BEGIN CERTIFICATE-----\n".into(),
        certificate_der: vec![0x30, 0x00],
        sealed_private_key: vec![1, 2, 3],
        not_before: at(0),
        not_after: at(86_400 * 7305),
        created_at: at(0),
        chain_pem: String::new(),
        retired_at: None,
        generation: 1,
    }
}

pub(crate) fn first_crl(ca_id: &CaId) -> CrlRecord {
    CrlRecord {
        ca_id: ca_id.clone(),
        crl_number: 1,
        this_update: at(0),
        next_update: at(86_400),
        der: format!("empty crl of {ca_id}").into_bytes(),
    }
}

pub(crate) fn certificate(
    tenant: &Tenant,
    id: &CertificateId,
    serial_number: u128,
    issued_at: i64,
) -> CertificateRecord {
    CertificateRecord {
        id: id.clone(),
        zone_id: tenant.zone.id.clone(),
        ca_id: tenant.ca.id.clone(),
        ca_name: tenant.ca.name.clone(),
        serial_number: serial(serial_number),
        status: CertificateStatus::Active,
        certificate_pem: format!("pem of {id}"),
        csr: format!("csr of {id}"),
        common_name: format!("cn-{id}"),
        organization: "Org".into(),
        organizational_unit: "Unit".into(),
        country: "US".into(),
        state: "CA".into(),
        location: "SF".into(),
        fingerprint_sha256: "f".repeat(64),
        ski: "e".repeat(40),
        signature: "ECDSAWithSHA256".into(),
        issued_on: at(issued_at),
        expires_on: at(issued_at + 86_400),
        validity_days: 1,
        revoked_at: None,
        revocation_reason: None,
        updated_at: at(issued_at),
    }
}

/// Insert `cert` the way a create does.
pub(crate) async fn insert(store: &DynStore, cert: &CertificateRecord) {
    store
        .insert_certificate(
            cert,
            &audit(AuditAction::CertificateCreated, &cert.id),
            None,
        )
        .await
        .unwrap();
}

/// A change from `from` to `to` (with reason `keyCompromise` when revoking) at `seconds`.
pub(crate) fn change(
    zone: &Zone,
    id: &CertificateId,
    from: &'static [CertificateStatus],
    to: CertificateStatus,
    seconds: i64,
) -> StatusChange {
    let revoking = to == CertificateStatus::PendingRevocation;
    StatusChange {
        zone_id: zone.id.clone(),
        certificate_id: id.clone(),
        from,
        to,
        revocation_reason: revoking.then_some(pki::RevocationReason::KeyCompromise),
        audit: AuditEntry {
            occurred_at: at(seconds),
            ..audit(
                if revoking {
                    AuditAction::CertificateRevocationRequested
                } else {
                    AuditAction::CertificateReactivationRequested
                },
                id,
            )
        },
    }
}

/// An uploaded CA certificate record of `account_id` (the store keeps PEM it was given).
pub(crate) fn mtls_record(
    account_id: &AccountId,
    n: u32,
    name: Option<&str>,
) -> MtlsCertificateRecord {
    MtlsCertificateRecord {
        id: MtlsCertificateId::parse(&format!("10000000-0000-4000-8000-{n:012}")).unwrap(),
        account_id: account_id.clone(),
        name: name.map(str::to_string),
        certificates_pem: format!("-----BEGIN CERTIFICATE-----\n{n}\n"),
        issuer: "CN=Corporate Root".into(),
        serial_number: n.to_string(),
        signature: "SHA256WithRSA".into(),
        expires_on: at(86_400 * 365),
        uploaded_on: at(i64::from(n)),
        updated_at: at(i64::from(n)),
    }
}
