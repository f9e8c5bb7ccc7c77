-- Listing at any depth in O(blocks + block size): every certificate gets a creation sequence
-- number (`seq`, the list order: newest first), and certificate_counts keeps, per zone and status
-- (and '*' for all statuses), how many certificates fall in each block of 4096 consecutive sequence
-- numbers. A deep page finds its block by summing counts, then skips within one block's index. Counts change in the same transaction
-- as the rows they count. (SQLite cannot change a primary key in place: the table is rebuilt.)

CREATE TABLE certificates_new (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    id                   TEXT NOT NULL UNIQUE,
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
    issued_on            INTEGER NOT NULL,
    expires_on           INTEGER NOT NULL,
    validity_days        INTEGER NOT NULL,
    revoked_at           INTEGER,
    revocation_reason    TEXT,
    updated_at           INTEGER NOT NULL,
    UNIQUE (ca_id, serial_number)
);
INSERT INTO certificates_new (id, zone_id, ca_id, serial_number, status, certificate_pem, csr,
    common_name, organization, organizational_unit, country, state, location, fingerprint_sha256,
    ski, signature, issued_on, expires_on, validity_days, revoked_at, revocation_reason, updated_at)
SELECT id, zone_id, ca_id, serial_number, status, certificate_pem, csr, common_name, organization,
    organizational_unit, country, state, location, fingerprint_sha256, ski, signature, issued_on,
    expires_on, validity_days, revoked_at, revocation_reason, updated_at
FROM certificates ORDER BY issued_on, id;
DROP TABLE certificates;
ALTER TABLE certificates_new RENAME TO certificates;

CREATE INDEX certificates_by_zone ON certificates (zone_id, seq);
CREATE INDEX certificates_by_zone_status ON certificates (zone_id, status, seq);
CREATE INDEX certificates_pending ON certificates (status, updated_at)
    WHERE status IN ('pending_revocation', 'pending_reactivation');
CREATE INDEX certificates_by_ca_status ON certificates (ca_id, status);

CREATE TABLE certificate_counts (
    zone_id  TEXT NOT NULL,
    status   TEXT NOT NULL,
    block    INTEGER NOT NULL,
    count    INTEGER NOT NULL,
    PRIMARY KEY (zone_id, status, block)
);
INSERT INTO certificate_counts (zone_id, status, block, count)
SELECT zone_id, status, seq / 4096, COUNT(*) FROM certificates GROUP BY zone_id, status, seq / 4096;
INSERT INTO certificate_counts (zone_id, status, block, count)
SELECT zone_id, '*', seq / 4096, COUNT(*) FROM certificates GROUP BY zone_id, seq / 4096;
