//! Durability and operations: readiness, bounded retries, upload retention, and the API and
//! the worker as separate processes on one database (a cancel made on the one stops the other).

use crate::support::*;
use std::time::{Duration, Instant};

#[test]
fn ready_answers_when_the_database_does() {
    let s = TestServer::start();
    let r = Resp::from(ureq::get(&s.url("/ready")).call());
    assert_eq!(r.status, 200);
    assert_eq!(r.json["status"], "ready");
    assert_eq!(r.json["backend"], backend());
    // A schema older than the binary (a migration not applied) is not ready.
    let db = hubport::open_database(&s.config).unwrap();
    hubport::db::sql::execute(
        &mut db.conn().unwrap(),
        "DELETE FROM __diesel_schema_migrations WHERE version = (SELECT MAX(version) FROM __diesel_schema_migrations)",
        vec![],
    )
    .unwrap();
    let r = Resp::from(ureq::get(&s.url("/ready")).call());
    assert!(r.assert_error(503, "SERVICE_UNAVAILABLE")["message"].is_string());
    assert_eq!(
        Resp::from(ureq::get(&s.url("/health")).call()).status,
        200,
        "still alive"
    );
}

/// Sets the stored chunks of the only file to `chunks`, in that encoding (None: as received).
fn replace_chunks(s: &TestServer, encoding: Option<&str>, chunks: &[&[u8]]) {
    use hubport::db::sql::{execute, Val};
    let db = hubport::open_database(&s.config).unwrap();
    let mut c = db.conn().unwrap();
    let file = sql_count(&s.db.url, "SELECT MAX(id) AS n FROM import_files");
    execute(&mut c, "DELETE FROM file_chunks", vec![]).unwrap();
    for (seq, data) in chunks.iter().enumerate() {
        let vals = vec![
            Val::I64(file),
            Val::I32(seq as i32),
            Val::Bytes(data.to_vec()),
        ];
        let q = "INSERT INTO file_chunks (file_id, seq, data) VALUES (?, ?, ?)";
        execute(&mut c, q, vals).unwrap();
    }
    let vals = vec![
        Val::OptText(encoding.map(str::to_string)),
        Val::I32(chunks.len() as i32),
        Val::I64(file),
    ];
    let q = "UPDATE import_files SET chunk_encoding = ?, chunk_count = ? WHERE id = ?";
    execute(&mut c, q, vals).unwrap();
}

#[test]
fn uploads_are_stored_compressed_and_older_uncompressed_ones_still_import() {
    let csv = format!(
        "Email,First Name\n{}",
        (0..2000)
            .map(|i| format!("person{i}@example.com,Person\n"))
            .collect::<String>()
    );
    let request = |name: &str| {
        let column = |column: &str, property: &str| {
            serde_json::json!({"columnObjectTypeId": "0-1", "columnName": column,
                "propertyName": property})
        };
        let mappings = [column("Email", "email"), column("First Name", "firstname")];
        serde_json::json!({"name": name, "importOperations": {"0-1": "UPSERT"},
            "files": [{"fileName": "people.csv",
                "fileImportPage": {"hasHeader": true, "columnMappings": mappings}}]})
        .to_string()
    };
    let s = TestServer::start_with(|c| c.run_worker = false);
    let t = s.token(1, &[]);
    let id = s.post_import(&t, &request("now"), &[("people.csv", csv.as_bytes())]);
    let stored = sql_count(&s.db.url, "SELECT SUM(LENGTH(data)) AS n FROM file_chunks");
    assert!(
        stored * 4 < csv.len() as i64,
        "{stored} bytes stored of {}",
        csv.len()
    );
    let encoded = "SELECT COUNT(*) AS n FROM import_files WHERE chunk_encoding = 'lz4'";
    assert_eq!(sql_count(&s.db.url, encoded), 1);
    let db = s.stop();
    let s = TestServer::start_on(db, |_| {});
    assert_eq!(s.wait_finished(&t, &id)["state"], "DONE");
    assert_eq!(s.all_records(&t, "contacts", "email").len(), 2000);
    // A file an earlier hubport stored, in two chunks as received, imports the same.
    let db = s.stop();
    let s = TestServer::start_on(db, |c| c.run_worker = false);
    let id = s.post_import(&t, &request("before"), &[("people.csv", csv.as_bytes())]);
    let (head, tail) = csv.as_bytes().split_at(1000);
    replace_chunks(&s, None, &[head, tail]);
    let db = s.stop();
    let s = TestServer::start_on(db, |_| {});
    let done = s.wait_finished(&t, &id);
    assert_eq!(done["state"], "DONE");
    assert_eq!(outcome(&done), [0, 2000, 0]);
}

#[test]
fn a_damaged_stored_chunk_fails_the_import_with_its_reason() {
    let s = TestServer::start_with(|c| c.run_worker = false);
    let t = s.token(1, &[]);
    let id = s.post_import(&t, GUIDE_REQUEST, &[("Nov-event-leads.csv", GUIDE_CSV)]);
    replace_chunks(&s, Some("lz4"), &[&[0x10, 0, 0, 0, 0xff, 0xff]]);
    let db = s.stop();
    let s = TestServer::start_on(db, |c| c.lease = Duration::from_secs(1));
    let done = s.wait_finished(&t, &id);
    assert_eq!(done["state"], "FAILED");
    let reason = done["errorMessage"].as_str().unwrap();
    assert!(reason.contains("damaged LZ4 chunk"), "{reason}");
    assert!(s.all_records(&t, "contacts", "email").is_empty());
}

#[test]
fn a_job_that_keeps_failing_ends_failed_with_its_reason() {
    let s = TestServer::start_with(|c| c.run_worker = false);
    let t = s.token(1, &[]);
    let id = s.post_import(&t, GUIDE_REQUEST, &[("Nov-event-leads.csv", GUIDE_CSV)]);
    // The stored bytes vanish (storage lost): every attempt fails the same way.
    let db = hubport::open_database(&s.config).unwrap();
    hubport::db::sql::execute(&mut db.conn().unwrap(), "DELETE FROM file_chunks", vec![]).unwrap();
    let db = s.stop();
    let s = TestServer::start_on(db, |c| c.lease = Duration::from_secs(1));
    let done = s.wait_finished(&t, &id);
    assert_eq!(done["state"], "FAILED", "never stuck in PROCESSING");
    let reason = done["errorMessage"].as_str().unwrap();
    assert!(
        reason.contains("gave up after 5 attempts") && reason.contains("missing"),
        "{reason}"
    );
}

#[test]
fn uploaded_bytes_go_after_the_retention_and_the_history_stays() {
    let s = TestServer::start_with(|c| c.upload_retention = Duration::ZERO);
    let t = s.token(1, &[]);
    let done = s.import(&t, GUIDE_REQUEST, &[("Nov-event-leads.csv", GUIDE_CSV)]);
    assert!(sql_count(&s.db.url, "SELECT COUNT(*) AS n FROM file_chunks") > 0);
    let db = s.stop();
    // The sweep runs when a worker starts (and every ten minutes).
    let s = TestServer::start_on(db, |c| c.upload_retention = Duration::ZERO);
    let until = Instant::now() + Duration::from_secs(20);
    while sql_count(&s.db.url, "SELECT COUNT(*) AS n FROM file_chunks") > 0 {
        assert!(Instant::now() < until, "the retention sweep never ran");
        std::thread::sleep(Duration::from_millis(50));
    }
    let id = done["id"].as_str().unwrap();
    let again = s.get(&t, &format!("/crm/v3/imports/{id}"));
    assert_eq!(again.json["state"], "DONE");
    assert_eq!(
        again.json["metadata"]["fileIds"],
        done["metadata"]["fileIds"]
    );
    assert_eq!(import_errors(&s, &t, &done, "").len(), 1);
}

#[test]
fn the_api_and_the_worker_run_as_separate_processes() {
    let db = TestDb::new();
    let api = Process::start_args(&db, &["--no-worker"], &[]);
    let token = Process::token(&db, 1);
    let id = api.post_import(&token, GUIDE_REQUEST, "Nov-event-leads.csv", GUIDE_CSV);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        api.get(&token, &format!("/crm/v3/imports/{id}")).json["state"],
        "STARTED",
        "serve --no-worker processes nothing"
    );
    let _worker = Process::start_worker(&db, &[]);
    let done = api.wait_finished(&token, &id);
    assert_eq!(done["state"], "DONE", "the worker processed it: {done}");
    assert_eq!(counter(&done, "CREATED_OBJECTS"), 4);
}

#[test]
fn a_cancel_on_one_node_stops_the_worker_on_another_within_one_batch() {
    const BATCH: i64 = 100;
    // The most rows one batch commits: on PostgreSQL, batches that only create records are twice
    // HUBPORT_BATCH_ROWS (`jobs::batch::new_batch_rows`).
    let largest_batch = match backend() {
        "postgres" => 2 * BATCH,
        _ => BATCH,
    };
    let db = TestDb::new();
    let api = Process::start_args(&db, &["--no-worker"], &[]);
    // One transaction per batch: on SQLite the other process's cancel gets its turn to write
    // only between transactions (README, Running several nodes).
    let _worker = Process::start_worker(
        &db,
        &[
            ("HUBPORT_BATCH_ROWS", "100"),
            ("HUBPORT_GROUP_COMMIT_MS", "0"),
        ],
    );
    let token = Process::token(&db, 1);
    // Long enough that the import is still running when the cancel comes, however slowly this
    // test's thread gets its turn on a busy machine: 40,000 rows were sometimes done by then.
    let rows = 200_000;
    let csv = csv_of("Email,First", rows, |i| format!("c{i}@cancel.example,N{i}"));
    let request = contacts_request(
        "cancel.csv",
        "UPSERT",
        &[("Email", "email"), ("First", "firstname")],
    );
    let id = api.post_import(&token, &request, "cancel.csv", &csv);
    let path = format!("/crm/v3/imports/{id}");

    // The other node is well into the file.
    let until = Instant::now() + Duration::from_secs(60);
    while counter(&api.get(&token, &path).json, "TOTAL_ROWS") < 1_000 {
        assert!(Instant::now() < until, "the worker node made no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    let canceled = Resp::from(
        ureq::post(&format!("{}{path}/cancel", api.base))
            .set("Authorization", &format!("Bearer {token}"))
            .send_bytes(&[]),
    );
    assert_eq!(canceled.status, 200, "{}", canceled.text);
    let at_cancel = counter(&api.get(&token, &path).json, "TOTAL_ROWS");

    // Long enough for several more batches had the worker not stopped.
    std::thread::sleep(Duration::from_millis(1500));
    let after = api.get(&token, &path).json;
    assert_eq!(after["state"], "CANCELED", "{after}");
    let total = counter(&after, "TOTAL_ROWS");
    assert!(
        total <= at_cancel + largest_batch,
        "the worker went on after the cancel: {at_cancel} rows at the cancel, {total} later"
    );
    assert!(total < rows, "the import was not stopped early: {total}");
    // What was committed stays, and matches the counters.
    let contacts = api.count_all(&token, "/crm/v3/objects/contacts?limit=100");
    assert_eq!(contacts, counter(&after, "CREATED_OBJECTS"));
}

#[test]
fn an_import_ends_with_its_records_in_the_sqlite_database_file() {
    // SQLite commits into its write-ahead log; a thread of the import's own copies them into the
    // database file (a checkpoint), and the import ends once it has. PostgreSQL has no such step.
    if backend() != "sqlite" {
        return;
    }
    let s = TestServer::start_with(|c| c.batch_rows = 10);
    let t = s.token(1, &[]);
    s.import_new_contacts(&t, 50);
    // The database file alone, without its log, as a copy of it is read.
    let copy = s.db.data_dir.path().join("copy.db");
    std::fs::copy(s.db.data_dir.path().join("hubport.db"), &copy).unwrap();
    let url = format!("sqlite://{}", copy.display());
    assert_eq!(sql_count(&url, "SELECT COUNT(*) AS n FROM contacts"), 50);
}
