-- A CRL of a million entries is about 50 MB. PostgreSQL compresses it on every insert, and pglz
-- took 0.6 s of a publication pass to do so where lz4 takes 0.23 s, for the same size
-- (BENCHMARKS.md, "Publication at scale"). Only new rows take the new method; the table keeps
-- a CA's latest CRLs alone, so the next pass's CRL is the first in lz4. A server built without
-- lz4 (or older than PostgreSQL 14) keeps pglz: a slower pass, not a failed upgrade. EXECUTE
-- defers parsing, so older servers' syntax error is caught here too.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE crls ALTER COLUMN der SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    RAISE NOTICE 'crls.der keeps pglz compression: %', SQLERRM;
END
$$;
