//! Turning rows of either backend into domain records.

use std::str::FromStr;

use sqlx::Row;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::model::*;

type Result<T> = std::result::Result<T, StoreError>;

/// The handful of column types clientca stores, readable from a row of either backend.
pub(crate) trait DecodeRow: Row {
    fn text(&self, column: &str) -> Result<String>;
    fn opt_text(&self, column: &str) -> Result<Option<String>>;
    fn int(&self, column: &str) -> Result<i64>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>>;
    fn flag(&self, column: &str) -> Result<bool>;
    fn bytes(&self, column: &str) -> Result<Vec<u8>>;
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

fn time_at(row: &impl DecodeRow, column: &str) -> Result<OffsetDateTime> {
    from_unix(row.int(column)?)
}

fn opt_time_at(row: &impl DecodeRow, column: &str) -> Result<Option<OffsetDateTime>> {
    row.opt_int(column)?.map(from_unix).transpose()
}

pub(crate) fn parsed<T: FromStr<Err = String>>(row: &impl DecodeRow, column: &str) -> Result<T> {
    row.text(column)?.parse().map_err(StoreError::Corrupt)
}

pub(crate) fn account(row: &impl DecodeRow) -> Result<Account> {
    Ok(Account {
        id: row.text("id")?,
        name: row.text("name")?,
        created_at: time_at(row, "created_at")?,
    })
}

pub(crate) fn zone(row: &impl DecodeRow) -> Result<Zone> {
    Ok(Zone {
        id: row.text("id")?,
        account_id: row.text("account_id")?,
        name: row.text("name")?,
        created_at: time_at(row, "created_at")?,
    })
}

pub(crate) fn ca(row: &impl DecodeRow) -> Result<CaRecord> {
    Ok(CaRecord {
        id: row.text("id")?,
        account_id: row.text("account_id")?,
        name: row.text("name")?,
        certificate_pem: row.text("certificate_pem")?,
        certificate_der: row.bytes("certificate_der")?,
        sealed_private_key: row.bytes("sealed_private_key")?,
        not_before: time_at(row, "not_before")?,
        not_after: time_at(row, "not_after")?,
        created_at: time_at(row, "created_at")?,
    })
}

/// A token row; its zone list (for zone-scoped tokens) is read separately.
pub(crate) fn token(row: &impl DecodeRow, zones: Vec<String>) -> Result<ApiToken> {
    Ok(ApiToken {
        id: row.text("id")?,
        name: row.text("name")?,
        email: row.opt_text("email")?,
        account_id: row.text("account_id")?,
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
        id: row.text("id")?,
        zone_id: row.text("zone_id")?,
        ca_id: row.text("ca_id")?,
        ca_name: row.text("ca_name")?,
        serial_number: row.text("serial_number")?,
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
        revocation_reason: row.opt_text("revocation_reason")?,
        updated_at: time_at(row, "updated_at")?,
    })
}

pub(crate) fn pending(row: &impl DecodeRow) -> Result<PendingTransition> {
    Ok(PendingTransition {
        certificate_id: row.text("id")?,
        zone_id: row.text("zone_id")?,
        ca_id: row.text("ca_id")?,
        account_id: row.text("account_id")?,
        serial_number: row.text("serial_number")?,
        status: parsed(row, "status")?,
        revoked_at: opt_time_at(row, "revoked_at")?,
        revocation_reason: row.opt_text("revocation_reason")?,
        seq: row.int("seq")?,
    })
}

pub(crate) fn revoked_serial(row: &impl DecodeRow) -> Result<RevokedSerial> {
    Ok(RevokedSerial {
        serial_number: row.text("serial_number")?,
        // Rows revoked before revoked_at existed cannot occur; the epoch is a safe floor.
        revoked_at: opt_time_at(row, "revoked_at")?.unwrap_or(OffsetDateTime::UNIX_EPOCH),
        revocation_reason: row.opt_text("revocation_reason")?,
    })
}

pub(crate) fn crl(row: &impl DecodeRow) -> Result<CrlRecord> {
    Ok(CrlRecord {
        ca_id: row.text("ca_id")?,
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
        ca_id: row.text(&column("ca_id"))?,
        serial_number: row.text(&column("serial_number"))?,
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
        revocation_reason: row.opt_text("revocation_reason")?,
        stored_answer: match row.opt_text("o_ca_id")? {
            Some(_) => Some(ocsp(row, "o_")?),
            None => None,
        },
    })
}

pub(crate) fn audit_event(row: &impl DecodeRow) -> Result<AuditEvent> {
    let kind: ActorKind = parsed(row, "actor_type")?;
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
                kind,
                id: row.opt_text("actor_id")?,
                source_ip: row.opt_text("source_ip")?,
            },
            action: row.text("action")?,
            object_type: row.text("object_type")?,
            object_id: row.text("object_id")?,
            account_id: row.opt_text("account_id")?,
            zone_id: row.opt_text("zone_id")?,
            details: row.opt_text("details")?,
        },
    })
}
