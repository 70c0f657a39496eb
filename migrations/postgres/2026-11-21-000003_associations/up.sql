-- Associations between records, one row per direction (each with its HubSpot type id), so that
-- reading "this record's companies" is one index range.
CREATE TABLE associations (
    portal_id BIGINT NOT NULL,
    from_type TEXT NOT NULL,
    from_id BIGINT NOT NULL,
    to_type TEXT NOT NULL,
    to_id BIGINT NOT NULL,
    type_id INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (portal_id, from_type, from_id, to_type, to_id, type_id)
);
