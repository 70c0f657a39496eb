-- Data rows an import's files hold, counted when it is created: the per-portal daily cap sums them.
ALTER TABLE imports ADD COLUMN row_count BIGINT NOT NULL DEFAULT 0;
CREATE INDEX imports_portal_created ON imports (portal_id, created_at);
