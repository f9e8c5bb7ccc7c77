-- CA certificates an account uploads (Cloudflare's mtls_certificates with ca: true) so that the
-- gateway accepts client certificates they issued, on the hostnames associated with them.
-- clientca holds no key for them and publishes nothing for them.

CREATE TABLE mtls_certificates (
    id             TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES accounts(id),
    name           TEXT,
    -- The bundle as checked on upload, one PEM block per certificate, issuer first.
    certificates   TEXT NOT NULL,
    issuer         TEXT NOT NULL,
    serial_number  TEXT NOT NULL,
    signature      TEXT NOT NULL,
    expires_on     INTEGER NOT NULL,
    uploaded_on    INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX mtls_certificates_name ON mtls_certificates (account_id, name)
    WHERE name IS NOT NULL;
CREATE INDEX mtls_certificates_account ON mtls_certificates (account_id, uploaded_on);

-- Hostnames requiring client certificates from an uploaded CA (hostname_associations holds
-- those requiring the managed CA). The foreign key keeps an associated CA from being deleted.
CREATE TABLE mtls_hostname_associations (
    zone_id              TEXT NOT NULL REFERENCES zones(id),
    mtls_certificate_id  TEXT NOT NULL REFERENCES mtls_certificates(id),
    hostname             TEXT NOT NULL,
    PRIMARY KEY (zone_id, mtls_certificate_id, hostname)
);
CREATE INDEX mtls_hostname_associations_certificate
    ON mtls_hostname_associations (mtls_certificate_id);
