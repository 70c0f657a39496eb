-- PostgreSQL-only change (LZ4-compressed upload chunks): SQLite stores BLOBs as they come.
SELECT 1;
