ALTER TABLE import_files DROP COLUMN chunk_encoding;
