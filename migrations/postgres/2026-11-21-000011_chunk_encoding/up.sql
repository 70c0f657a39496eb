-- hubport now compresses upload chunks itself, as it receives them (`chunk_encoding = 'lz4'`:
-- each chunk one LZ4 block). The server took a second to store a 114 MiB upload, compressing it
-- on one backend while the upload waited; so it stores the chunks as they come again. Files
-- stored before keep a NULL encoding: their chunks are the bytes as received.
ALTER TABLE import_files ADD COLUMN chunk_encoding TEXT;
ALTER TABLE file_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
