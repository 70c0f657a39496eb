-- The record-storage change is PostgreSQL's (half-filled pages, the (portal_id, id) key);
-- SQLite's tables need none, and both backends keep the same migration names.
SELECT 1;
