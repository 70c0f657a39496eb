DROP TABLE properties;
ALTER TABLE api_keys DROP COLUMN rate_per_day;
ALTER TABLE api_keys DROP COLUMN rate_per_10s;
