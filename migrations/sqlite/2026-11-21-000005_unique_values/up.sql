-- Values of custom properties with hasUniqueValue, one owner each: imports match records by them
-- (HUBSPOT_ALTERNATE_ID) and refuse a second record with the same value.
CREATE TABLE unique_values (
    portal_id BIGINT NOT NULL,
    object_type TEXT NOT NULL,
    property TEXT NOT NULL,
    value TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    PRIMARY KEY (portal_id, object_type, property, value)
);
CREATE INDEX unique_values_record ON unique_values (portal_id, object_type, record_id);
