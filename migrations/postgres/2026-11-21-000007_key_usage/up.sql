-- Requests per API key per UTC day, summed over every node: the daily rate-limit budget is
-- enforced against this total. Each node adds its counts about once a second.
CREATE TABLE key_usage (
    api_key_id BIGINT NOT NULL,
    -- Days since 1970-01-01, UTC.
    day BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    PRIMARY KEY (api_key_id, day)
);
