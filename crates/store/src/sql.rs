//! SQL shared by both backends. `$n` placeholders work on SQLite and PostgreSQL alike; the
//! statements stick to the common dialect (ON CONFLICT, LIMIT/OFFSET, RETURNING — SQLite ≥ 3.35).

pub(crate) const INSERT_ACCOUNT: &str =
    "INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)";
pub(crate) const SELECT_ACCOUNT: &str = "SELECT id, name, created_at FROM accounts WHERE id = $1";
pub(crate) const SELECT_ACCOUNTS: &str =
    "SELECT id, name, created_at FROM accounts ORDER BY created_at, id";

macro_rules! ca_columns {
    () => {
        "id, account_id, name, certificate_pem, certificate_der, sealed_private_key, \
                          not_before, not_after, created_at, chain_pem, retired_at, generation"
    };
}
macro_rules! insert_ca {
    () => {
        "INSERT INTO certificate_authorities \
        (id, account_id, name, certificate_pem, certificate_der, sealed_private_key, not_before, \
        not_after, created_at, chain_pem, retired_at, generation) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    };
}
pub(crate) const INSERT_CA: &str = insert_ca!();
/// Unless the account has a current CA (the partial unique index settles races).
/// No conflict target: two replicas creating an account's first CA collide on the current-CA
/// index or on the (account, generation) index, whichever PostgreSQL checks first; either way the
/// loser inserts nothing and reads the winner's.
pub(crate) const INSERT_CA_IF_ABSENT: &str = concat!(insert_ca!(), " ON CONFLICT DO NOTHING");
pub(crate) const NEXT_CA_GENERATION: &str = "SELECT COALESCE(MAX(generation), 0) + 1 \
    FROM certificate_authorities WHERE account_id = $1";
/// Retire the account's current CA (`$1`: when).
pub(crate) const RETIRE_CURRENT_CA: &str = "UPDATE certificate_authorities SET retired_at = $1 \
    WHERE account_id = $2 AND retired_at IS NULL RETURNING id";
pub(crate) const SELECT_CA: &str = concat!(
    "SELECT ",
    ca_columns!(),
    " FROM certificate_authorities WHERE id = $1"
);
pub(crate) const SELECT_CAS: &str = concat!(
    "SELECT ",
    ca_columns!(),
    " FROM certificate_authorities ORDER BY id"
);
pub(crate) const RESEAL_CA: &str =
    "UPDATE certificate_authorities SET sealed_private_key = $1 WHERE id = $2";
pub(crate) const REPLACE_SETTING: &str = "UPDATE settings SET value = $1 WHERE key = $2";
pub(crate) const SELECT_CA_FOR_ACCOUNT: &str = concat!(
    "SELECT ",
    ca_columns!(),
    " FROM certificate_authorities WHERE account_id = $1 AND retired_at IS NULL"
);
pub(crate) const SELECT_CAS_OF_ACCOUNT: &str = concat!(
    "SELECT ",
    ca_columns!(),
    " FROM certificate_authorities WHERE account_id = $1 ORDER BY generation"
);

pub(crate) const INSERT_ZONE: &str = "INSERT INTO zones (id, account_id, name, created_at, \
    max_certificates) VALUES ($1, $2, $3, $4, $5)";
pub(crate) const SELECT_ZONE: &str =
    "SELECT id, account_id, name, created_at, max_certificates FROM zones WHERE id = $1";
pub(crate) const SELECT_ZONES: &str =
    "SELECT id, account_id, name, created_at, max_certificates FROM zones ORDER BY created_at, id";
pub(crate) const SET_ZONE_QUOTA: &str = "UPDATE zones SET max_certificates = $1 WHERE id = $2";
/// Certificates waiting for publication, from the pending index.
pub(crate) const PENDING_COUNTS: &str = "SELECT status, CAST(COUNT(*) AS BIGINT) AS count \
    FROM certificates WHERE status IN ('pending_revocation', 'pending_reactivation') \
    GROUP BY status";
/// Active certificates expiring in [$1, $2) and [$1, $3), per zone (the expiry index covers it).
pub(crate) const EXPIRING_SOON: &str = "SELECT zone_id, \
    CAST(SUM(CASE WHEN expires_on < $2 THEN 1 ELSE 0 END) AS BIGINT) AS week, \
    CAST(COUNT(*) AS BIGINT) AS month FROM certificates \
    WHERE status = 'active' AND expires_on >= $1 AND expires_on < $3 \
    GROUP BY zone_id ORDER BY zone_id";
/// A zone's active certificates expiring in [$2, $3), [$2, $4) and [$2, $5). `zone_id || ''`
/// keeps the planner off the zone's list index (a whole-zone walk) and on the expiry index, whose
/// range holds only what expires soon.
pub(crate) const ZONE_EXPIRING: &str = "SELECT \
    CAST(COALESCE(SUM(CASE WHEN expires_on < $3 THEN 1 ELSE 0 END), 0) AS BIGINT) AS week, \
    CAST(COALESCE(SUM(CASE WHEN expires_on < $4 THEN 1 ELSE 0 END), 0) AS BIGINT) AS month, \
    CAST(COUNT(*) AS BIGINT) AS quarter FROM certificates \
    WHERE status = 'active' AND expires_on >= $2 AND expires_on < $5 AND zone_id || '' = $1";
/// When a zone's newest $2 certificates were issued, newest first (the list index, backwards).
pub(crate) const ZONE_RECENT_ISSUED: &str =
    "SELECT issued_on FROM certificates WHERE zone_id = $1 ORDER BY seq DESC LIMIT $2";
/// A zone's certificates that are not revoked (what a quota limits), from the list counts.
pub(crate) const COUNT_UNREVOKED: &str = "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) \
    FROM certificate_counts WHERE zone_id = $1 \
    AND status IN ('active', 'pending_revocation', 'pending_reactivation')";

macro_rules! token_columns {
    () => {
        "id, name, email, account_id, permission, all_zones, expires_at, revoked_at, created_at"
    };
}
pub(crate) const INSERT_TOKEN: &str = "INSERT INTO api_tokens \
    (id, name, secret_hash, email, account_id, permission, all_zones, expires_at, revoked_at, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
pub(crate) const INSERT_TOKEN_ZONE: &str =
    "INSERT INTO api_token_zones (token_id, zone_id) VALUES ($1, $2)";
pub(crate) const SELECT_TOKEN_BY_HASH: &str = concat!(
    "SELECT ",
    token_columns!(),
    " FROM api_tokens WHERE secret_hash = $1"
);
pub(crate) const SELECT_TOKEN: &str = concat!(
    "SELECT ",
    token_columns!(),
    " FROM api_tokens WHERE id = $1"
);
pub(crate) const SELECT_TOKENS: &str = concat!(
    "SELECT ",
    token_columns!(),
    " FROM api_tokens ORDER BY created_at, id"
);
pub(crate) const SELECT_TOKEN_ZONES: &str =
    "SELECT zone_id FROM api_token_zones WHERE token_id = $1 ORDER BY zone_id";
pub(crate) const REVOKE_TOKEN: &str =
    "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";

macro_rules! certificate_columns {
    () => {
        "c.id, c.zone_id, c.ca_id, ca.name AS ca_name, c.serial_number, \
    c.status, c.certificate_pem, c.csr, c.common_name, c.organization, c.organizational_unit, \
    c.country, c.state, c.location, c.fingerprint_sha256, c.ski, c.signature, c.issued_on, \
    c.expires_on, c.validity_days, c.revoked_at, c.revocation_reason, c.updated_at"
    };
}
macro_rules! certificate_from {
    () => {
        " FROM certificates c JOIN certificate_authorities ca ON ca.id = c.ca_id"
    };
}
/// Followed by `VALUES (…), (…)` (built per batch).
pub(crate) const INSERT_CERTIFICATE_COLUMNS: &str = "INSERT INTO certificates \
    (id, zone_id, ca_id, serial_number, status, certificate_pem, csr, common_name, organization, \
     organizational_unit, country, state, location, fingerprint_sha256, ski, signature, issued_on, \
     expires_on, validity_days, revoked_at, revocation_reason, updated_at) ";
/// For imports: each row keeps the sequence number (list position) it had.
pub(crate) const INSERT_CERTIFICATE_COLUMNS_WITH_SEQ: &str = "INSERT INTO certificates \
    (id, zone_id, ca_id, serial_number, status, certificate_pem, csr, common_name, organization, \
     organizational_unit, country, state, location, fingerprint_sha256, ski, signature, issued_on, \
     expires_on, validity_days, revoked_at, revocation_reason, updated_at, seq) ";
pub(crate) const SELECT_CERTIFICATE: &str = concat!(
    "SELECT ",
    certificate_columns!(),
    certificate_from!(),
    " WHERE c.zone_id = $1 AND c.id = $2"
);
pub(crate) const LIST_CERTIFICATES: &str = concat!(
    "SELECT ",
    certificate_columns!(),
    certificate_from!(),
    " WHERE c.zone_id = $1 AND c.seq <= $2 ORDER BY c.seq DESC LIMIT $3"
);
pub(crate) const LIST_CERTIFICATES_WITH_STATUS: &str = concat!(
    "SELECT ",
    certificate_columns!(),
    certificate_from!(),
    " WHERE c.zone_id = $1 AND c.seq <= $2 AND c.status = $4 ORDER BY c.seq DESC LIMIT $3"
);
/// Sequence numbers per list block (see migrations 3 and 8). Changing it needs a migration that
/// recounts `certificate_counts`, as migration 8 did going from 4096 to 1024.
pub(crate) const LIST_BLOCK: i64 = 1024;
/// The certificate_counts status that counts every status.
pub(crate) const ALL_STATUSES: &str = "*";
/// `$2` is a status or ALL_STATUSES.
pub(crate) const COUNT_CERTIFICATES: &str = "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) \
    FROM certificate_counts WHERE zone_id = $1 AND status = $2";
/// Per-block counts, newest block first (what a deep page skips over); `$2` as above.
pub(crate) const BLOCK_COUNTS: &str = "SELECT block, count FROM certificate_counts \
    WHERE zone_id = $1 AND status = $2 AND count > 0 ORDER BY block DESC";
/// The newest `$3` of them: where a shallow page starts.
pub(crate) const NEWEST_BLOCK_COUNTS: &str = "SELECT block, count FROM certificate_counts \
    WHERE zone_id = $1 AND status = $2 AND count > 0 ORDER BY block DESC LIMIT $3";
/// The sequence number at which a page starts: index-only, skipping `$3` inside one block.
pub(crate) const PAGE_START: &str = "SELECT seq FROM certificates WHERE zone_id = $1 AND seq < $2 \
    ORDER BY seq DESC LIMIT 1 OFFSET $3";
pub(crate) const PAGE_START_WITH_STATUS: &str = "SELECT seq FROM certificates \
    WHERE zone_id = $1 AND seq < $2 AND status = $4 ORDER BY seq DESC LIMIT 1 OFFSET $3";
/// Count changes: these columns, then one `VALUES` row per (zone, status, block) or a `SELECT`,
/// then `ADD_TO_EXISTING_COUNT`.
pub(crate) const INSERT_COUNT_COLUMNS: &str =
    "INSERT INTO certificate_counts (zone_id, status, block, count) ";
/// Adds to a block's existing count.
pub(crate) const ADD_TO_EXISTING_COUNT: &str = " ON CONFLICT (zone_id, status, block) \
    DO UPDATE SET count = certificate_counts.count + excluded.count";
macro_rules! select_for_status_change {
    () => {
        "SELECT status, seq FROM certificates WHERE zone_id = $1 AND id = $2"
    };
}
pub(crate) const SELECT_FOR_STATUS_CHANGE: &str = select_for_status_change!();
pub(crate) const SELECT_FOR_STATUS_CHANGE_LOCKED: &str =
    concat!(select_for_status_change!(), " FOR UPDATE");
pub(crate) const CHANGE_STATUS: &str = "UPDATE certificates \
    SET status = $1, updated_at = $2, revoked_at = $3, revocation_reason = $4 \
    WHERE zone_id = $5 AND id = $6";

/// Only while the revocation is unpublished: a published one is final.
pub(crate) const CHANGE_PENDING_REASON: &str = "UPDATE certificates \
    SET revocation_reason = $1, updated_at = $2 \
    WHERE zone_id = $3 AND id = $4 AND status = 'pending_revocation'";

macro_rules! select_pending {
    () => {
        "SELECT c.id, c.zone_id, c.ca_id, ca.account_id, c.serial_number, c.status, c.revoked_at, \
         c.revocation_reason, c.seq FROM certificates c JOIN certificate_authorities ca ON ca.id = c.ca_id \
         WHERE c.status IN ('pending_revocation', 'pending_reactivation') \
         ORDER BY c.updated_at, c.id LIMIT $1"
    };
}
pub(crate) const SELECT_PENDING: &str = select_pending!();
/// PostgreSQL: the rows being published stay locked until they settle, so a concurrent
/// reactivation waits and then sees the published state.
pub(crate) const SELECT_PENDING_FOR_UPDATE: &str = concat!(select_pending!(), " FOR UPDATE OF c");
pub(crate) const CAS_WITH_STALE_CRL: &str = "SELECT ca.id FROM certificate_authorities ca \
    WHERE NOT EXISTS (SELECT 1 FROM crls WHERE crls.ca_id = ca.id AND crls.next_update > $1) ORDER BY ca.id";
pub(crate) const REVOKED_SERIALS: &str = "SELECT serial_number, revoked_at, revocation_reason FROM certificates \
    WHERE ca_id = $1 AND status = 'revoked'";
pub(crate) const COUNT_REVOKED: &str = "SELECT CAST(COUNT(*) AS BIGINT) FROM certificates \
    WHERE ca_id = $1 AND status = 'revoked'";
pub(crate) const LATEST_CRL_NUMBER: &str = "SELECT MAX(crl_number) FROM crls WHERE ca_id = $1";
pub(crate) const SELECT_LATEST_CRL: &str = "SELECT ca_id, crl_number, this_update, next_update, der FROM crls \
    WHERE ca_id = $1 ORDER BY crl_number DESC LIMIT 1";
pub(crate) const INSERT_CRL: &str = "INSERT INTO crls (ca_id, crl_number, this_update, next_update, der) VALUES ($1, $2, $3, $4, $5)";
pub(crate) const PRUNE_CRLS: &str = "DELETE FROM crls WHERE ca_id = $1 AND crl_number < $2";
/// Pre-signed OCSP answers, replacing earlier ones for the same serials: the columns, then one
/// `VALUES` row per answer, then `UPSERT_OCSP_CONFLICT`.
pub(crate) const INSERT_OCSP_COLUMNS: &str = "INSERT INTO ocsp_responses \
    (ca_id, serial_number, status, this_update, next_update, der) ";
pub(crate) const UPSERT_OCSP_CONFLICT: &str = " ON CONFLICT (ca_id, serial_number) DO UPDATE \
    SET status = excluded.status, this_update = excluded.this_update, \
    next_update = excluded.next_update, der = excluded.der";
pub(crate) const SERIAL_STATUS: &str = "SELECT c.status, c.revoked_at, c.revocation_reason, \
    o.ca_id AS o_ca_id, o.serial_number AS o_serial_number, o.status AS o_status, \
    o.this_update AS o_this_update, o.next_update AS o_next_update, o.der AS o_der \
    FROM certificates c LEFT JOIN ocsp_responses o \
    ON o.ca_id = c.ca_id AND o.serial_number = c.serial_number \
    WHERE c.ca_id = $1 AND c.serial_number = $2";
/// Paged by CA: every CRL of the next `$2` CAs after `$1`.
pub(crate) const EXPORT_CRLS: &str = "SELECT ca_id, crl_number, this_update, next_update, der FROM crls \
    WHERE ca_id IN (SELECT id FROM certificate_authorities WHERE id > $1 ORDER BY id LIMIT $2) \
    ORDER BY ca_id, crl_number";
/// Keyed by `ca_id || '/' || serial_number`.
pub(crate) const EXPORT_OCSP: &str = "SELECT ca_id, serial_number, status, this_update, next_update, der, \
    ca_id || '/' || serial_number AS cursor FROM ocsp_responses \
    WHERE ca_id || '/' || serial_number > $1 ORDER BY cursor LIMIT $2";
/// Settling certificates that are still in the state the pass read: `SETTLE_TO` with the state
/// reached and the time, `SETTLE_REACTIVATED` when that state is `active`, then `SETTLE_FROM` with
/// the state read and a list of ids, then `SETTLE_RETURNING`.
pub(crate) const SETTLE_TO: &str = "UPDATE certificates SET status = ";
pub(crate) const SETTLE_AT: &str = ", updated_at = ";
pub(crate) const SETTLE_REACTIVATED: &str = ", revoked_at = NULL, revocation_reason = NULL";
pub(crate) const SETTLE_FROM: &str = " WHERE status = ";
pub(crate) const SETTLE_IDS: &str = " AND id IN ";
pub(crate) const SETTLE_RETURNING: &str = " RETURNING id";

pub(crate) const SELECT_HOSTNAMES: &str = "SELECT hostname FROM hostname_associations \
    WHERE zone_id = $1 AND ca_id = $2 ORDER BY hostname";
/// A hostname another account has associated (with any CA), if any (`$1`: the asking account).
pub(crate) const HOSTNAME_TAKEN_ELSEWHERE: &str = "SELECT h.hostname FROM \
    (SELECT zone_id, hostname FROM hostname_associations \
     UNION ALL SELECT zone_id, hostname FROM mtls_hostname_associations) h \
    JOIN zones z ON z.id = h.zone_id WHERE z.account_id <> $1 AND h.hostname = $2 LIMIT 1";
/// Every association, managed CA or uploaded, with its zone's name and account (what an
/// enforcement point needs). `ca_id` or `mtls_certificate_id` is set, never both.
pub(crate) const SELECT_ALL_ASSOCIATIONS: &str = "SELECT h.hostname, h.zone_id, h.ca_id, \
    h.mtls_certificate_id, z.name AS zone_name, z.account_id FROM \
    (SELECT zone_id, hostname, ca_id, NULL AS mtls_certificate_id FROM hostname_associations \
     UNION ALL SELECT zone_id, hostname, NULL AS ca_id, mtls_certificate_id \
     FROM mtls_hostname_associations) h \
    JOIN zones z ON z.id = h.zone_id ORDER BY h.hostname, h.zone_id";
/// The newest CRL number of every CA: a cheap check for "has anything been published".
pub(crate) const LATEST_CRL_NUMBERS: &str =
    "SELECT ca_id, MAX(crl_number) AS crl_number FROM crls GROUP BY ca_id ORDER BY ca_id";
pub(crate) const DELETE_HOSTNAMES: &str =
    "DELETE FROM hostname_associations WHERE zone_id = $1 AND ca_id = $2";
pub(crate) const INSERT_HOSTNAME: &str =
    "INSERT INTO hostname_associations (zone_id, ca_id, hostname) VALUES ($1, $2, $3)";

/// Followed by `VALUES (…), (…)` (built per batch).
pub(crate) const INSERT_AUDIT_COLUMNS: &str = "INSERT INTO audit_events \
    (occurred_at, account_id, zone_id, actor_type, actor_id, source_ip, action, object_type, object_id, details) ";
macro_rules! audit_columns {
    () => {
        "id, occurred_at, account_id, zone_id, actor_type, actor_id, source_ip, \
    action, object_type, object_id, details, chain_seq, prev_hash, hash"
    };
}
pub(crate) const SELECT_AUDIT: &str = concat!(
    "SELECT ",
    audit_columns!(),
    " FROM audit_events WHERE id > $1 ORDER BY id LIMIT $2"
);
pub(crate) const SELECT_AUDIT_FOR_ACCOUNT: &str = concat!(
    "SELECT ",
    audit_columns!(),
    " FROM audit_events WHERE id > $1 AND account_id = $3 ORDER BY id LIMIT $2"
);

pub(crate) const SELECT_SETTING: &str = "SELECT value FROM settings WHERE key = $1";
pub(crate) const DELETE_SETTING: &str = "DELETE FROM settings WHERE key = $1";
pub(crate) const INSERT_SETTING_IF_ABSENT: &str =
    "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING";

// --- Copying a deployment: every table in key order, keyset-paged, and raw inserts. ---

pub(crate) const EXPORT_SETTINGS: &str =
    "SELECT key, value FROM settings WHERE key > $1 ORDER BY key LIMIT $2";
pub(crate) const EXPORT_ACCOUNTS: &str =
    "SELECT id, name, created_at FROM accounts WHERE id > $1 ORDER BY id LIMIT $2";
pub(crate) const EXPORT_CAS: &str = concat!(
    "SELECT ",
    ca_columns!(),
    " FROM certificate_authorities WHERE id > $1 ORDER BY id LIMIT $2"
);
pub(crate) const EXPORT_ZONES: &str = "SELECT id, account_id, name, created_at, max_certificates \
    FROM zones WHERE id > $1 ORDER BY id LIMIT $2";
pub(crate) const EXPORT_TOKENS: &str = concat!(
    "SELECT ",
    token_columns!(),
    ", secret_hash FROM api_tokens WHERE id > $1 ORDER BY id LIMIT $2"
);
pub(crate) const EXPORT_CERTIFICATES: &str = concat!(
    "SELECT c.seq, ",
    certificate_columns!(),
    certificate_from!(),
    " WHERE c.id > $1 ORDER BY c.id LIMIT $2"
);
/// Keyed by `zone_id || '/' || ca_id || '/' || hostname` (hostnames contain no '/').
pub(crate) const EXPORT_HOSTNAMES: &str = "SELECT zone_id, ca_id, hostname, \
    zone_id || '/' || ca_id || '/' || hostname AS cursor FROM hostname_associations \
    WHERE zone_id || '/' || ca_id || '/' || hostname > $1 ORDER BY cursor LIMIT $2";
pub(crate) const INSERT_SETTING: &str = "INSERT INTO settings (key, value) VALUES ($1, $2)";
pub(crate) const INSERT_AUDIT_WITH_ID: &str = "INSERT INTO audit_events \
    (id, occurred_at, account_id, zone_id, actor_type, actor_id, source_ip, action, object_type, object_id, details, \
     chain_seq, prev_hash, hash) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
pub(crate) const AUDIT_HEAD: &str = "SELECT chain_seq, hash FROM audit_events WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1";
/// The oldest unsealed events, through the partial index of unsealed events. SQLite is told the
/// index: with statistics from when the table was small its planner walks the whole table in id
/// order instead (1.3 s at a million events, holding the write lock); PostgreSQL's planner picks
/// the partial index by itself.
macro_rules! select_unsealed_audit {
    ($index_hint:literal) => {
        concat!(
            "SELECT ",
            audit_columns!(),
            " FROM audit_events ",
            $index_hint,
            "WHERE hash IS NULL ORDER BY id LIMIT $1"
        )
    };
}
pub(crate) const SELECT_UNSEALED_AUDIT: &str = select_unsealed_audit!("");
pub(crate) const SELECT_UNSEALED_AUDIT_SQLITE: &str =
    select_unsealed_audit!("INDEXED BY audit_events_unsealed ");
pub(crate) const COUNT_UNSEALED_AUDIT: &str =
    "SELECT COUNT(*) FROM audit_events WHERE hash IS NULL";
pub(crate) const COUNT_UNSEALED_AUDIT_SQLITE: &str =
    "SELECT COUNT(*) FROM audit_events INDEXED BY audit_events_unsealed WHERE hash IS NULL";
pub(crate) const SELECT_SEALED_AUDIT: &str = concat!(
    "SELECT ",
    audit_columns!(),
    " FROM audit_events WHERE chain_seq > $1 ORDER BY chain_seq LIMIT $2"
);
pub(crate) const SELECT_AUDIT_PAGE: &str = concat!(
    "SELECT ",
    audit_columns!(),
    " FROM audit_events WHERE account_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3"
);
pub(crate) const COUNT_AUDIT_FOR_ACCOUNT: &str =
    "SELECT COUNT(*) FROM audit_events WHERE account_id = $1";
/// Followed by `(CAST($n AS BIGINT), …), …` rows, then SEAL_AUDIT_TAIL.
pub(crate) const SEAL_AUDIT_HEAD: &str = "WITH v(id, chain_seq, prev_hash, hash) AS (VALUES ";
pub(crate) const SEAL_AUDIT_TAIL: &str = ") UPDATE audit_events SET chain_seq = v.chain_seq, prev_hash = v.prev_hash, \
    hash = v.hash FROM v WHERE audit_events.id = v.id";
pub(crate) const SCHEMA_VERSION: &str =
    "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success";

pub(crate) fn count_rows(table: crate::model::Table) -> &'static str {
    use crate::model::Table::*;
    match table {
        Settings => "SELECT COUNT(*) FROM settings",
        Accounts => "SELECT COUNT(*) FROM accounts",
        CertificateAuthorities => "SELECT COUNT(*) FROM certificate_authorities",
        Zones => "SELECT COUNT(*) FROM zones",
        ApiTokens => "SELECT COUNT(*) FROM api_tokens",
        Certificates => "SELECT COUNT(*) FROM certificates",
        HostnameAssociations => "SELECT COUNT(*) FROM hostname_associations",
        MtlsCertificates => "SELECT COUNT(*) FROM mtls_certificates",
        MtlsHostnameAssociations => "SELECT COUNT(*) FROM mtls_hostname_associations",
        Crls => "SELECT COUNT(*) FROM crls",
        OcspResponses => "SELECT COUNT(*) FROM ocsp_responses",
        AuditEvents => "SELECT COUNT(*) FROM audit_events",
    }
}

macro_rules! mtls_columns {
    () => {
        "id, account_id, name, certificates, issuer, serial_number, signature, expires_on, \
    uploaded_on, updated_at"
    };
}
pub(crate) const INSERT_MTLS_CERTIFICATE: &str = concat!(
    "INSERT INTO mtls_certificates (",
    mtls_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
);
pub(crate) const SELECT_MTLS_CERTIFICATE: &str = concat!(
    "SELECT ",
    mtls_columns!(),
    " FROM mtls_certificates WHERE account_id = $1 AND id = $2"
);
pub(crate) const SELECT_MTLS_CERTIFICATES: &str = concat!(
    "SELECT ",
    mtls_columns!(),
    " FROM mtls_certificates WHERE account_id = $1 ORDER BY uploaded_on, id"
);
pub(crate) const COUNT_MTLS_CERTIFICATES: &str =
    "SELECT COUNT(*) FROM mtls_certificates WHERE account_id = $1";
pub(crate) const MTLS_NAME_TAKEN: &str =
    "SELECT id FROM mtls_certificates WHERE account_id = $1 AND name = $2";
pub(crate) const DELETE_MTLS_CERTIFICATE: &str =
    "DELETE FROM mtls_certificates WHERE account_id = $1 AND id = $2";
/// The hostnames an uploaded CA is required on, with their zones.
pub(crate) const SELECT_MTLS_ASSOCIATIONS: &str = "SELECT h.hostname, h.zone_id \
    FROM mtls_hostname_associations h WHERE h.mtls_certificate_id = $1 ORDER BY h.hostname, h.zone_id";
pub(crate) const SELECT_MTLS_HOSTNAMES: &str = "SELECT hostname FROM mtls_hostname_associations \
    WHERE zone_id = $1 AND mtls_certificate_id = $2 ORDER BY hostname";
pub(crate) const DELETE_MTLS_HOSTNAMES: &str =
    "DELETE FROM mtls_hostname_associations WHERE zone_id = $1 AND mtls_certificate_id = $2";
pub(crate) const INSERT_MTLS_HOSTNAME: &str = "INSERT INTO mtls_hostname_associations \
    (zone_id, mtls_certificate_id, hostname) VALUES ($1, $2, $3)";
/// Every uploaded CA that some hostname requires (what an enforcement point trusts).
pub(crate) const SELECT_ASSOCIATED_MTLS_CERTIFICATES: &str = concat!(
    "SELECT ",
    mtls_columns!(),
    " FROM mtls_certificates m WHERE EXISTS (SELECT 1 FROM mtls_hostname_associations h \
    WHERE h.mtls_certificate_id = m.id) ORDER BY m.id"
);
pub(crate) const EXPORT_MTLS_CERTIFICATES: &str = concat!(
    "SELECT ",
    mtls_columns!(),
    ", id AS cursor FROM mtls_certificates WHERE id > $1 ORDER BY id LIMIT $2"
);
pub(crate) const EXPORT_MTLS_HOSTNAMES: &str = "SELECT zone_id, mtls_certificate_id, hostname, \
    zone_id || '/' || mtls_certificate_id || '/' || hostname AS cursor \
    FROM mtls_hostname_associations \
    WHERE zone_id || '/' || mtls_certificate_id || '/' || hostname > $1 ORDER BY cursor LIMIT $2";
