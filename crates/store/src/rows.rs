//! Turning rows of either backend into domain records. Every stored name and id is parsed
//! here; one that does not parse is store corruption, never a client error.

use std::str::FromStr;

use pki::{RevocationReason, SerialNumber};
use sqlx::Row;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::model::*;

type Result<T> = std::result::Result<T, StoreError>;

/// The handful of column types clientca stores, readable from a row of either backend.
pub(crate) trait DecodeRow {
    fn text(&self, column: &str) -> Result<String>;
    fn opt_text(&self, column: &str) -> Result<Option<String>>;
    fn int(&self, column: &str) -> Result<i64>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>>;
    fn flag(&self, column: &str) -> Result<bool>;
    fn bytes(&self, column: &str) -> Result<Vec<u8>>;
    /// The first column of a one-value query (`COUNT(*)`, `MAX(…)`).
    fn first_opt_int(&self) -> Result<Option<i64>>;
    fn first_opt_text(&self) -> Result<Option<String>>;
    fn first_flag(&self) -> Result<bool>;

    fn first_int(&self) -> Result<i64> {
        self.first_opt_int()?
            .ok_or_else(|| StoreError::Corrupt("a count came back NULL".into()))
    }

    /// A count: never negative.
    fn first_count(&self) -> Result<u64> {
        Ok(u64::try_from(self.first_int()?).unwrap_or(0))
    }

    fn first_text(&self) -> Result<String> {
        self.first_opt_text()?
            .ok_or_else(|| StoreError::Corrupt("a value came back NULL".into()))
    }
}

macro_rules! impl_decode_row {
    ($row:ty) => {
        impl DecodeRow for $row {
            fn text(&self, column: &str) -> Result<String> {
                Ok(self.try_get(column)?)
            }
            fn opt_text(&self, column: &str) -> Result<Option<String>> {
                Ok(self.try_get(column)?)
            }
            fn int(&self, column: &str) -> Result<i64> {
                Ok(self.try_get(column)?)
            }
            fn opt_int(&self, column: &str) -> Result<Option<i64>> {
                Ok(self.try_get(column)?)
            }
            fn flag(&self, column: &str) -> Result<bool> {
                Ok(self.try_get(column)?)
            }
            fn bytes(&self, column: &str) -> Result<Vec<u8>> {
                Ok(self.try_get(column)?)
            }
            fn first_opt_int(&self) -> Result<Option<i64>> {
                Ok(self.try_get(0)?)
            }
            fn first_opt_text(&self) -> Result<Option<String>> {
                Ok(self.try_get(0)?)
            }
            fn first_flag(&self) -> Result<bool> {
                Ok(self.try_get(0)?)
            }
        }
    };
}

impl_decode_row!(sqlx::sqlite::SqliteRow);
impl_decode_row!(sqlx::postgres::PgRow);

pub(crate) fn to_unix(at: OffsetDateTime) -> i64 {
    at.unix_timestamp()
}

fn from_unix(seconds: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(seconds)
        .map_err(|_| StoreError::Corrupt(format!("timestamp {seconds} out of range")))
}

pub(crate) fn time_at(row: &impl DecodeRow, column: &str) -> Result<OffsetDateTime> {
    from_unix(row.int(column)?)
}

fn opt_time_at(row: &impl DecodeRow, column: &str) -> Result<Option<OffsetDateTime>> {
    row.opt_int(column)?.map(from_unix).transpose()
}

/// A stored name (status, permission, action, …) parsed back into its type.
pub(crate) fn parsed<T>(row: &impl DecodeRow, column: &str) -> Result<T>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let text = row.text(column)?;
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

fn opt_parsed<T>(row: &impl DecodeRow, column: &str) -> Result<Option<T>>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match row.opt_text(column)? {
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("{column}: {e}"))),
        None => Ok(None),
    }
}

pub(crate) fn id<K: IdKind>(row: &impl DecodeRow, column: &str) -> Result<Id<K>> {
    parsed(row, column)
}

/// Ids read as plain text (the zone list of a token, a cursor) parsed into their type.
pub(crate) fn parse_id<K: IdKind>(text: &str) -> Result<Id<K>> {
    text.parse()
        .map_err(|e: InvalidId| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn serial(row: &impl DecodeRow, column: &str) -> Result<SerialNumber> {
    let text = row.text(column)?;
    SerialNumber::from_decimal(&text)
        .ok_or_else(|| StoreError::Corrupt(format!("stored serial {text:?} is invalid")))
}

fn reason(row: &impl DecodeRow, column: &str) -> Result<Option<RevocationReason>> {
    opt_parsed(row, column)
}

pub(crate) fn account(row: &impl DecodeRow) -> Result<Account> {
    Ok(Account {
        id: id(row, "id")?,
        name: row.text("name")?,
        created_at: time_at(row, "created_at")?,
    })
}

pub(crate) fn zone(row: &impl DecodeRow) -> Result<Zone> {
    Ok(Zone {
        id: id(row, "id")?,
        account_id: id(row, "account_id")?,
        name: row.text("name")?,
        created_at: time_at(row, "created_at")?,
        max_certificates: row
            .opt_int("max_certificates")?
            .map(|limit| u64::try_from(limit).unwrap_or(0)),
    })
}

pub(crate) fn ca(row: &impl DecodeRow) -> Result<CaRecord> {
    Ok(CaRecord {
        id: id(row, "id")?,
        account_id: id(row, "account_id")?,
        name: row.text("name")?,
        certificate_pem: row.text("certificate_pem")?,
        certificate_der: row.bytes("certificate_der")?,
        sealed_private_key: row.bytes("sealed_private_key")?,
        not_before: time_at(row, "not_before")?,
        not_after: time_at(row, "not_after")?,
        created_at: time_at(row, "created_at")?,
        chain_pem: row.text("chain_pem")?,
        retired_at: opt_time_at(row, "retired_at")?,
        generation: row.int("generation")?,
    })
}

pub(crate) fn mtls_certificate(row: &impl DecodeRow) -> Result<MtlsCertificateRecord> {
    Ok(MtlsCertificateRecord {
        id: id(row, "id")?,
        account_id: id(row, "account_id")?,
        name: row.opt_text("name")?,
        certificates_pem: row.text("certificates")?,
        issuer: row.text("issuer")?,
        serial_number: row.text("serial_number")?,
        signature: row.text("signature")?,
        expires_on: time_at(row, "expires_on")?,
        uploaded_on: time_at(row, "uploaded_on")?,
        updated_at: time_at(row, "updated_at")?,
    })
}

/// A token row; its zone list (for zone-scoped tokens) is read separately.
pub(crate) fn token(row: &impl DecodeRow, zones: Vec<ZoneId>) -> Result<ApiToken> {
    Ok(ApiToken {
        id: id(row, "id")?,
        name: row.text("name")?,
        email: row.opt_text("email")?,
        account_id: id(row, "account_id")?,
        permission: parsed(row, "permission")?,
        scope: if row.flag("all_zones")? {
            TokenScope::Account
        } else {
            TokenScope::Zones(zones)
        },
        expires_at: opt_time_at(row, "expires_at")?,
        revoked_at: opt_time_at(row, "revoked_at")?,
        created_at: time_at(row, "created_at")?,
    })
}

pub(crate) fn certificate(row: &impl DecodeRow) -> Result<CertificateRecord> {
    Ok(CertificateRecord {
        id: id(row, "id")?,
        zone_id: id(row, "zone_id")?,
        ca_id: id(row, "ca_id")?,
        ca_name: row.text("ca_name")?,
        serial_number: serial(row, "serial_number")?,
        status: parsed(row, "status")?,
        certificate_pem: row.text("certificate_pem")?,
        csr: row.text("csr")?,
        common_name: row.text("common_name")?,
        organization: row.text("organization")?,
        organizational_unit: row.text("organizational_unit")?,
        country: row.text("country")?,
        state: row.text("state")?,
        location: row.text("location")?,
        fingerprint_sha256: row.text("fingerprint_sha256")?,
        ski: row.text("ski")?,
        signature: row.text("signature")?,
        issued_on: time_at(row, "issued_on")?,
        expires_on: time_at(row, "expires_on")?,
        validity_days: row.int("validity_days")?,
        revoked_at: opt_time_at(row, "revoked_at")?,
        revocation_reason: reason(row, "revocation_reason")?,
        updated_at: time_at(row, "updated_at")?,
    })
}

pub(crate) fn pending(row: &impl DecodeRow) -> Result<PendingTransition> {
    Ok(PendingTransition {
        certificate_id: id(row, "id")?,
        zone_id: id(row, "zone_id")?,
        ca_id: id(row, "ca_id")?,
        account_id: id(row, "account_id")?,
        serial_number: serial(row, "serial_number")?,
        status: parsed(row, "status")?,
        revoked_at: opt_time_at(row, "revoked_at")?,
        revocation_reason: reason(row, "revocation_reason")?,
        seq: row.int("seq")?,
    })
}

pub(crate) fn revoked_serial(row: &impl DecodeRow) -> Result<RevokedSerial> {
    Ok(RevokedSerial {
        serial_number: serial(row, "serial_number")?,
        // Rows revoked before revoked_at existed cannot occur; the epoch is a safe floor.
        revoked_at: opt_time_at(row, "revoked_at")?.unwrap_or(OffsetDateTime::UNIX_EPOCH),
        revocation_reason: reason(row, "revocation_reason")?,
    })
}

pub(crate) fn crl(row: &impl DecodeRow) -> Result<CrlRecord> {
    Ok(CrlRecord {
        ca_id: id(row, "ca_id")?,
        crl_number: row.int("crl_number")?,
        this_update: time_at(row, "this_update")?,
        next_update: time_at(row, "next_update")?,
        der: row.bytes("der")?,
    })
}

/// An OCSP record whose columns carry `prefix` (joined queries alias them `o_…`).
pub(crate) fn ocsp(row: &impl DecodeRow, prefix: &str) -> Result<OcspRecord> {
    let column = |name: &str| format!("{prefix}{name}");
    Ok(OcspRecord {
        ca_id: id(row, &column("ca_id"))?,
        serial_number: serial(row, &column("serial_number"))?,
        status: parsed(row, &column("status"))?,
        this_update: time_at(row, &column("this_update"))?,
        next_update: time_at(row, &column("next_update"))?,
        der: row.bytes(&column("der"))?,
    })
}

pub(crate) fn serial_status(row: &impl DecodeRow) -> Result<SerialStatus> {
    Ok(SerialStatus {
        status: parsed(row, "status")?,
        revoked_at: opt_time_at(row, "revoked_at")?,
        revocation_reason: reason(row, "revocation_reason")?,
        stored_answer: match row.opt_text("o_ca_id")? {
            Some(_) => Some(ocsp(row, "o_")?),
            None => None,
        },
    })
}

pub(crate) fn hostname_association(row: &impl DecodeRow) -> Result<HostnameAssociation> {
    Ok(HostnameAssociation {
        zone_id: id(row, "zone_id")?,
        ca_id: id(row, "ca_id")?,
        hostname: row.text("hostname")?,
    })
}

pub(crate) fn mtls_hostname_association(row: &impl DecodeRow) -> Result<MtlsHostnameAssociation> {
    Ok(MtlsHostnameAssociation {
        zone_id: id(row, "zone_id")?,
        mtls_certificate_id: id(row, "mtls_certificate_id")?,
        hostname: row.text("hostname")?,
    })
}

pub(crate) fn audit_event(row: &impl DecodeRow) -> Result<AuditEvent> {
    let seal = match row.opt_int("chain_seq")? {
        Some(chain_seq) => Some(AuditSeal {
            chain_seq,
            prev_hash: row.opt_text("prev_hash")?.unwrap_or_default(),
            hash: row.opt_text("hash")?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(AuditEvent {
        id: row.int("id")?,
        seal,
        entry: AuditEntry {
            occurred_at: time_at(row, "occurred_at")?,
            actor: Actor {
                kind: parsed(row, "actor_type")?,
                id: row.opt_text("actor_id")?,
                source_ip: row.opt_text("source_ip")?,
            },
            action: parsed(row, "action")?,
            object_type: parsed(row, "object_type")?,
            object_id: row.text("object_id")?,
            account_id: opt_parsed(row, "account_id")?,
            zone_id: opt_parsed(row, "zone_id")?,
            details: row.opt_text("details")?,
        },
    })
}
