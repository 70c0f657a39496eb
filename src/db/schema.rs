//! The portable schema both backends share (BIGINT ids, TEXT, TIMESTAMP as UTC).
//! Written by hand to match `migrations/{sqlite,postgres}`.

diesel::table! {
    settings (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    api_keys (id) {
        id -> BigInt,
        portal_id -> BigInt,
        name -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        rate_per_10s -> Nullable<Integer>,
        rate_per_day -> Nullable<Integer>,
    }
}

diesel::table! {
    properties (id) {
        id -> BigInt,
        portal_id -> BigInt,
        object_type -> Text,
        name -> Text,
        definition -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    imports (id) {
        id -> BigInt,
        portal_id -> BigInt,
        api_key_id -> Nullable<BigInt>,
        name -> Text,
        state -> Text,
        request_json -> Text,
        mapped_object_type_ids -> Text,
        counters -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        failure_reason -> Nullable<Text>,
        row_count -> BigInt,
    }
}

diesel::table! {
    import_files (id) {
        id -> BigInt,
        portal_id -> BigInt,
        import_id -> Nullable<BigInt>,
        position -> Integer,
        file_name -> Text,
        content_type -> Nullable<Text>,
        size_bytes -> BigInt,
        chunk_count -> Integer,
        created_at -> Timestamp,
        chunk_encoding -> Nullable<Text>,
    }
}

diesel::table! {
    file_chunks (file_id, seq) {
        file_id -> BigInt,
        seq -> Integer,
        data -> Binary,
    }
}

diesel::table! {
    jobs (id) {
        id -> BigInt,
        import_id -> BigInt,
        portal_id -> BigInt,
        state -> Text,
        attempts -> Integer,
        locked_by -> Nullable<Text>,
        locked_until -> Nullable<Timestamp>,
        file_index -> Integer,
        rows_done -> BigInt,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    import_errors (id) {
        id -> BigInt,
        import_id -> BigInt,
        portal_id -> BigInt,
        file_id -> BigInt,
        line_number -> BigInt,
        error_type -> Text,
        message -> Text,
        object_type_id -> Nullable<Text>,
        column_number -> Nullable<Integer>,
        invalid_value -> Nullable<Text>,
        row_data -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    associations (portal_id, from_type, from_id, to_type, to_id, type_id) {
        portal_id -> BigInt,
        from_type -> Text,
        from_id -> BigInt,
        to_type -> Text,
        to_id -> BigInt,
        type_id -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    contact_emails (portal_id, email) {
        portal_id -> BigInt,
        email -> Text,
        contact_id -> BigInt,
    }
}

diesel::table! {
    unique_values (portal_id, object_type, property, value) {
        portal_id -> BigInt,
        object_type -> Text,
        property -> Text,
        value -> Text,
        record_id -> BigInt,
    }
}

// The record tables, in column order: PostgreSQL's COPY writes to them (db/records.rs).
diesel::table! {
    contacts (id) {
        id -> BigInt,
        portal_id -> BigInt,
        email -> Nullable<Text>,
        properties -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        created_by_import -> Nullable<BigInt>,
        updated_by_import -> Nullable<BigInt>,
    }
}

diesel::table! {
    companies (id) {
        id -> BigInt,
        portal_id -> BigInt,
        domain -> Nullable<Text>,
        properties -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        created_by_import -> Nullable<BigInt>,
        updated_by_import -> Nullable<BigInt>,
    }
}

diesel::table! {
    deals (id) {
        id -> BigInt,
        portal_id -> BigInt,
        properties -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        created_by_import -> Nullable<BigInt>,
        updated_by_import -> Nullable<BigInt>,
    }
}

diesel::table! {
    key_usage (api_key_id, day) {
        api_key_id -> BigInt,
        day -> BigInt,
        requests -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    key_usage,
    unique_values,
    contact_emails,
    associations,
    settings,
    api_keys,
    imports,
    import_files,
    file_chunks,
    jobs,
    import_errors,
    properties
);
