DROP INDEX imports_portal_created;
ALTER TABLE imports DROP COLUMN row_count;
