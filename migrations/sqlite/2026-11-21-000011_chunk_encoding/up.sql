-- hubport now compresses upload chunks itself (`chunk_encoding = 'lz4'`: each chunk one LZ4
-- block): a CSV shrinks to about a third, so storing a 114 MiB upload writes a third of the WAL
-- and pages. Files stored before keep a NULL encoding: their chunks are the bytes as received.
ALTER TABLE import_files ADD COLUMN chunk_encoding TEXT;
