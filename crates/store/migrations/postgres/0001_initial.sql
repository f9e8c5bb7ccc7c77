-- clientca schema, PostgreSQL dialect. Times are unix seconds (BIGINT); ids are text.

CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- One managed CA per account (UNIQUE makes concurrent creation race-free).
CREATE TABLE certificate_authorities (
    id                  TEXT PRIMARY KEY,
    account_id          TEXT NOT NULL UNIQUE REFERENCES accounts(id),
    name                TEXT NOT NULL,
    certificate_pem     TEXT NOT NULL,
    certificate_der     BYTEA NOT NULL,
    sealed_private_key  BYTEA NOT NULL,
    not_before          BIGINT NOT NULL,
    not_after           BIGINT NOT NULL,
    created_at          BIGINT NOT NULL
);

CREATE TABLE zones (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX zones_by_account ON zones (account_id);

-- API tokens and legacy global keys; only a SHA-256 of the secret is kept.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    email        TEXT,                      -- set for legacy X-Auth-Email/X-Auth-Key credentials
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    permission   TEXT NOT NULL CHECK (permission IN ('read', 'edit')),
    all_zones    BOOLEAN NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    created_at   BIGINT NOT NULL
);

CREATE TABLE api_token_zones (
    token_id  TEXT NOT NULL REFERENCES api_tokens(id),
    zone_id   TEXT NOT NULL REFERENCES zones(id),
    PRIMARY KEY (token_id, zone_id)
);

CREATE TABLE certificates (
    id                   TEXT PRIMARY KEY,
    zone_id              TEXT NOT NULL REFERENCES zones(id),
    ca_id                TEXT NOT NULL REFERENCES certificate_authorities(id),
    serial_number        TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN
                           ('active', 'pending_revocation', 'revoked', 'pending_reactivation')),
    certificate_pem      TEXT NOT NULL,
    csr                  TEXT NOT NULL,
    common_name          TEXT NOT NULL,
    organization         TEXT NOT NULL,
    organizational_unit  TEXT NOT NULL,
    country              TEXT NOT NULL,
    state                TEXT NOT NULL,
    location             TEXT NOT NULL,
    fingerprint_sha256   TEXT NOT NULL,
    ski                  TEXT NOT NULL,
    signature            TEXT NOT NULL,
    issued_on            BIGINT NOT NULL,
    expires_on           BIGINT NOT NULL,
    validity_days        BIGINT NOT NULL,
    revoked_at           BIGINT,
    revocation_reason    TEXT,
    updated_at           BIGINT NOT NULL,
    UNIQUE (ca_id, serial_number)
);
-- Listing: newest first, ties by id, optionally filtered by status.
CREATE INDEX certificates_by_zone ON certificates (zone_id, issued_on DESC, id DESC);
CREATE INDEX certificates_by_zone_status ON certificates (zone_id, status, issued_on DESC, id DESC);
-- The publication worker's queue.
CREATE INDEX certificates_pending ON certificates (status, updated_at)
    WHERE status IN ('pending_revocation', 'pending_reactivation');

CREATE TABLE hostname_associations (
    zone_id   TEXT NOT NULL REFERENCES zones(id),
    ca_id     TEXT NOT NULL REFERENCES certificate_authorities(id),
    hostname  TEXT NOT NULL,
    PRIMARY KEY (zone_id, ca_id, hostname)
);

-- Append-only record of every mutation.
CREATE TABLE audit_events (
    id           BIGSERIAL PRIMARY KEY,
    occurred_at  BIGINT NOT NULL,
    account_id   TEXT,
    zone_id      TEXT,
    actor_type   TEXT NOT NULL,
    actor_id     TEXT,
    source_ip    TEXT,
    action       TEXT NOT NULL,
    object_type  TEXT NOT NULL,
    object_id    TEXT NOT NULL,
    details      TEXT
);
CREATE INDEX audit_events_by_account ON audit_events (account_id, id);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit_events is append-only'; END;
$$;
CREATE TRIGGER audit_events_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
