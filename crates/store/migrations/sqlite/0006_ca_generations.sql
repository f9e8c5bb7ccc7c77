-- CA generations: an account's issuing CA can be replaced (rotation, or a CA imported under the
-- user's own root); earlier ones stay, retired, to publish CRLs and answer OCSP for what they
-- issued. One current CA per account (retired_at IS NULL) replaces UNIQUE(account_id).
--
-- SQLite cannot drop a constraint: the table is rebuilt, with foreign keys off so that the
-- tables referencing it keep their rows (https://sqlite.org/lang_altertable.html, "other kinds of
-- table schema changes"). This migration therefore runs outside sqlx's transaction and brings
-- its own; it selects the original columns by name, so running it again after a crash between
-- its COMMIT and sqlx's bookkeeping gives the same result.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE certificate_authorities_v6 (
    id                  TEXT PRIMARY KEY,
    account_id          TEXT NOT NULL REFERENCES accounts(id),
    name                TEXT NOT NULL,
    certificate_pem     TEXT NOT NULL,
    certificate_der     BLOB NOT NULL,
    sealed_private_key  BLOB NOT NULL,
    not_before          INTEGER NOT NULL,
    not_after           INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    -- The certificates above this CA up to the root, issuer first ('' for a self-signed CA).
    chain_pem           TEXT NOT NULL DEFAULT '',
    -- When a newer CA replaced it as the account's issuing CA; NULL while current.
    retired_at          INTEGER,
    -- 1 for the account's first CA, then one more for each rotation.
    generation          INTEGER NOT NULL DEFAULT 1
);
INSERT INTO certificate_authorities_v6
    (id, account_id, name, certificate_pem, certificate_der, sealed_private_key, not_before,
     not_after, created_at)
    SELECT id, account_id, name, certificate_pem, certificate_der, sealed_private_key, not_before,
           not_after, created_at
    FROM certificate_authorities;
DROP TABLE certificate_authorities;
ALTER TABLE certificate_authorities_v6 RENAME TO certificate_authorities;
CREATE UNIQUE INDEX certificate_authorities_current ON certificate_authorities (account_id)
    WHERE retired_at IS NULL;
CREATE UNIQUE INDEX certificate_authorities_generation
    ON certificate_authorities (account_id, generation);
COMMIT;
PRAGMA foreign_keys = ON;
