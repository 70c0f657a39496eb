-- PostgreSQL-only changes (uncompressed upload chunks, byte-wise key collation): SQLite never
-- compresses BLOBs and compares TEXT bytewise already.
SELECT 1;
