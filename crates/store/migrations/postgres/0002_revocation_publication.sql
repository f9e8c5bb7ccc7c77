-- Published revocation data: signed CRLs per CA and pre-signed OCSP answers for changed serials.

CREATE TABLE crls (
    ca_id        TEXT NOT NULL REFERENCES certificate_authorities(id),
    crl_number   BIGINT NOT NULL,
    this_update  BIGINT NOT NULL,
    next_update  BIGINT NOT NULL,
    der          BYTEA NOT NULL,
    PRIMARY KEY (ca_id, crl_number)
);

CREATE TABLE ocsp_responses (
    ca_id          TEXT NOT NULL REFERENCES certificate_authorities(id),
    serial_number  TEXT NOT NULL,
    status         TEXT NOT NULL,
    this_update    BIGINT NOT NULL,
    next_update    BIGINT NOT NULL,
    der            BYTEA NOT NULL,
    PRIMARY KEY (ca_id, serial_number)
);

-- Building a CA's CRL reads all its revoked serials.
CREATE INDEX certificates_by_ca_status ON certificates (ca_id, status);
