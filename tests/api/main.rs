//! Integration tests: the real server over real HTTP, on SQLite or PostgreSQL (see support.rs).

mod associations;
mod auth;
mod cli;
mod crash;
mod db_outage;
mod disk_full;
mod durability;
mod hostile;
mod imports_cancel;
mod imports_create;
mod imports_errors;
mod imports_read;
mod limits;
mod malformed;
mod mapping_values;
mod objects;
mod openapi;
mod operations;
mod portal_isolation;
mod properties;
mod rate_limits;
mod real_world_files;
mod semantics;
mod spreadsheets;
mod support;
mod unique_properties;
