-- Settings shared by every node (e.g. the generated token secret).
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE api_keys (
    id BIGSERIAL PRIMARY KEY,
    portal_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

CREATE TABLE imports (
    id BIGSERIAL PRIMARY KEY,
    portal_id BIGINT NOT NULL,
    api_key_id BIGINT,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    request_json TEXT NOT NULL,
    mapped_object_type_ids TEXT NOT NULL,
    counters TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    failure_reason TEXT
);
CREATE INDEX imports_portal_id ON imports (portal_id, id);

-- Uploaded files live in the database, in chunks, so any node sharing it can process them.
-- import_id stays NULL until the import that owns the file is committed.
CREATE TABLE import_files (
    id BIGSERIAL PRIMARY KEY,
    portal_id BIGINT NOT NULL,
    import_id BIGINT REFERENCES imports (id),
    position INTEGER NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT,
    size_bytes BIGINT NOT NULL,
    chunk_count INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX import_files_import ON import_files (import_id, position);

CREATE TABLE file_chunks (
    file_id BIGINT NOT NULL REFERENCES import_files (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (file_id, seq)
);

-- The durable queue: one job per import, claimed with a lease, checkpointed per batch.
CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    import_id BIGINT NOT NULL UNIQUE REFERENCES imports (id),
    portal_id BIGINT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    locked_by TEXT,
    locked_until TIMESTAMP,
    file_index INTEGER NOT NULL DEFAULT 0,
    rows_done BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX jobs_claimable ON jobs (state, id);

CREATE TABLE import_errors (
    id BIGSERIAL PRIMARY KEY,
    import_id BIGINT NOT NULL REFERENCES imports (id),
    portal_id BIGINT NOT NULL,
    file_id BIGINT NOT NULL,
    line_number BIGINT NOT NULL,
    error_type TEXT NOT NULL,
    message TEXT NOT NULL,
    object_type_id TEXT,
    column_number INTEGER,
    invalid_value TEXT,
    row_data TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX import_errors_import ON import_errors (import_id, id);

-- CRM records: the alternate key (email, domain) as an indexed column, every property in one
-- JSON document so custom properties need no DDL.
CREATE TABLE contacts (
    id BIGSERIAL PRIMARY KEY,
    portal_id BIGINT NOT NULL,
    email TEXT,
    properties TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    created_by_import BIGINT,
    updated_by_import BIGINT
);
CREATE UNIQUE INDEX contacts_portal_email ON contacts (portal_id, email);
CREATE INDEX contacts_portal_id ON contacts (portal_id, id);

CREATE TABLE companies (
    id BIGSERIAL PRIMARY KEY,
    portal_id BIGINT NOT NULL,
    domain TEXT,
    properties TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    created_by_import BIGINT,
    updated_by_import BIGINT
);
CREATE UNIQUE INDEX companies_portal_domain ON companies (portal_id, domain);
CREATE INDEX companies_portal_id ON companies (portal_id, id);

CREATE TABLE deals (
    id BIGSERIAL PRIMARY KEY,
    portal_id BIGINT NOT NULL,
    properties TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    created_by_import BIGINT,
    updated_by_import BIGINT
);
CREATE INDEX deals_portal_id ON deals (portal_id, id);
