DROP TABLE unique_values;
