-- Per-key overrides of the server's rate limits (NULL: the server default).
ALTER TABLE api_keys ADD COLUMN rate_per_10s INTEGER;
ALTER TABLE api_keys ADD COLUMN rate_per_day INTEGER;

-- Custom properties per portal and object type; HubSpot's defaults live in code.
CREATE TABLE properties (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    portal_id BIGINT NOT NULL,
    object_type TEXT NOT NULL,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX properties_portal_name ON properties (portal_id, object_type, name);
