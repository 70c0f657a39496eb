-- Uploaded chunks are stored compressed with LZ4: a CSV shrinks to a third, so storing an
-- upload writes a third of the pages and WAL, and reading it back costs no more (pglz, TOAST's
-- default, took 4 s to store a 114 MiB upload; LZ4 takes less than storing it as it came).
-- A server built without LZ4 (or older than 14) keeps them as they came.
DO $$
BEGIN
    ALTER TABLE file_chunks ALTER COLUMN data SET COMPRESSION lz4;
    ALTER TABLE file_chunks ALTER COLUMN data SET STORAGE EXTENDED;
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    RAISE NOTICE 'this PostgreSQL has no LZ4; upload chunks stay uncompressed';
END
$$;
