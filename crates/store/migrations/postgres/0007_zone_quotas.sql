-- An optional per-zone limit on certificates that are not revoked (NULL: the server's
-- --max-certificates-per-zone applies). Creates check it under the zone's write lock.
ALTER TABLE zones ADD COLUMN max_certificates BIGINT CHECK (max_certificates >= 0);

-- Active certificates by expiry, for the metrics of certificates expiring soon: a scrape reads
-- the range that expires within 30 days, not every row.
CREATE INDEX certificates_expiring ON certificates (status, expires_on, zone_id);
