-- Listing at any depth in O(blocks + block size): every certificate gets a creation sequence
-- number (`seq`, the list order: newest first), and certificate_counts keeps, per zone and status
-- (and '*' for all statuses), how many certificates fall in each block of 4096 consecutive sequence
-- numbers. A deep page finds its block by summing counts, then skips within one block's index. Counts change in the same transaction
-- as the rows they count.

ALTER TABLE certificates ADD COLUMN seq BIGSERIAL;
CREATE UNIQUE INDEX certificates_seq ON certificates (seq);
DROP INDEX certificates_by_zone;
DROP INDEX certificates_by_zone_status;
CREATE INDEX certificates_by_zone ON certificates (zone_id, seq);
CREATE INDEX certificates_by_zone_status ON certificates (zone_id, status, seq);

CREATE TABLE certificate_counts (
    zone_id  TEXT NOT NULL,
    status   TEXT NOT NULL,
    block    BIGINT NOT NULL,
    count    BIGINT NOT NULL,
    PRIMARY KEY (zone_id, status, block)
);
INSERT INTO certificate_counts (zone_id, status, block, count)
SELECT zone_id, status, seq / 4096, COUNT(*) FROM certificates GROUP BY zone_id, status, seq / 4096;
INSERT INTO certificate_counts (zone_id, status, block, count)
SELECT zone_id, '*', seq / 4096, COUNT(*) FROM certificates GROUP BY zone_id, seq / 4096;
