-- CA generations: an account's issuing CA can be replaced (rotation, or a CA imported under the
-- user's own root); earlier ones stay, retired, to publish CRLs and answer OCSP for what they
-- issued. One current CA per account (retired_at IS NULL) replaces UNIQUE(account_id).
ALTER TABLE certificate_authorities DROP CONSTRAINT certificate_authorities_account_id_key;
-- The certificates above this CA up to the root, issuer first ('' for a self-signed CA).
ALTER TABLE certificate_authorities ADD COLUMN chain_pem TEXT NOT NULL DEFAULT '';
-- When a newer CA replaced it as the account's issuing CA; NULL while current.
ALTER TABLE certificate_authorities ADD COLUMN retired_at BIGINT;
-- 1 for the account's first CA, then one more for each rotation.
ALTER TABLE certificate_authorities ADD COLUMN generation BIGINT NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX certificate_authorities_current ON certificate_authorities (account_id)
    WHERE retired_at IS NULL;
CREATE UNIQUE INDEX certificate_authorities_generation
    ON certificate_authorities (account_id, generation);
