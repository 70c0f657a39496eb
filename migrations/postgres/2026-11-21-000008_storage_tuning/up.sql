-- Uploaded chunks are stored as they came: compressing them (TOAST's default) made storing a
-- 114 MiB upload take 4 s, and every read of the file paid to decompress it again.
ALTER TABLE file_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- Alternate keys are compared byte for byte (they are normalised before they are stored), so
-- their indexes need no locale: the database's default collation made every index probe of an
-- import call strcoll.
ALTER TABLE contacts ALTER COLUMN email TYPE TEXT COLLATE "C";
ALTER TABLE companies ALTER COLUMN domain TYPE TEXT COLLATE "C";
