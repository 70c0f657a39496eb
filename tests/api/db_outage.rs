//! PostgreSQL going away mid-import: requests during the outage get HubSpot's 503 quickly (not
//! a hang), /health stays up, and once the server is back the worker retries the interrupted
//! batch and the import ends exactly as a clean run would. The test stops and restarts a
//! PostgreSQL cluster of its own (`PgCluster`), never the shared one.

use crate::support::*;
use std::time::{Duration, Instant};

/// Polls the import until `done` says so, tolerating the 503s of a database coming back.
fn poll(
    p: &Process,
    token: &str,
    id: &str,
    within: Duration,
    done: impl Fn(&Resp) -> bool,
) -> Resp {
    let until = Instant::now() + within;
    loop {
        let r = p.get(token, &format!("/crm/v3/imports/{id}"));
        assert!(r.status == 200 || r.status == 503, "{}", r.text);
        if r.status == 200 && done(&r) {
            return r;
        }
        assert!(Instant::now() < until, "gave up waiting: {}", r.text);
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Times one unauthenticated or authenticated GET during the outage and checks HubSpot's 503.
fn unavailable(r: impl FnOnce() -> Resp, what: &str) -> Duration {
    let started = Instant::now();
    let r = r();
    let took = started.elapsed();
    let body = r.assert_error(503, "SERVICE_UNAVAILABLE");
    assert_eq!(
        body["message"], "The service is temporarily unavailable. Please retry.",
        "{what}"
    );
    assert!(
        took < Duration::from_secs(3),
        "{what} took {took:?} to answer 503"
    );
    took
}

#[test]
fn postgres_restarted_mid_import_the_import_finishes_as_a_clean_run() {
    if backend() != "postgres" {
        // Runs in the PostgreSQL run (HUBPORT_TEST_BACKEND=postgres), where the PostgreSQL
        // binaries are required; the SQLite run needs nothing but the Rust toolchain.
        println!("PostgreSQL restart test: part of the PostgreSQL run");
        return;
    }
    let cluster = PgCluster::start();
    let db = TestDb::at(cluster.url());
    // The default lease (30 s) and database timeout (2 s): recovery must not wait for a lease.
    let server = Process::start(
        &db,
        None,
        &[
            ("HUBPORT_BATCH_ROWS", "200"),
            ("HUBPORT_GROUP_COMMIT_MS", "20"),
            ("HUBPORT_DB_TIMEOUT_MS", "2000"),
        ],
    );
    let token = Process::token(&db, 1);

    let (rows, bad_every) = (40_000i64, 101);
    let csv = csv_of("Email,First", rows, |i| {
        if i % bad_every == 0 {
            format!("not-an-email-{i},B{i}")
        } else {
            format!("p{i}@restart.example,N{i}")
        }
    });
    let bad = (0..rows).filter(|i| i % bad_every == 0).count() as i64;
    let request = contacts_request(
        "restart.csv",
        "CREATE",
        &[("Email", "email"), ("First", "firstname")],
    );
    let id = server.post_import(&token, &request, "restart.csv", &csv);

    let before = poll(&server, &token, &id, Duration::from_secs(60), |r| {
        counter(&r.json, "TOTAL_ROWS") >= 2_000
    });
    cluster.stop("fast");
    assert_eq!(before.json["state"], "PROCESSING");
    assert!(
        counter(&before.json, "TOTAL_ROWS") < rows,
        "stopped mid-import"
    );

    let read = unavailable(
        || server.get(&token, &format!("/crm/v3/imports/{id}")),
        "GET import",
    );
    let ready = unavailable(
        || Resp::from(ureq::get(&format!("{}/ready", server.base)).call()),
        "/ready",
    );
    let health = Resp::from(ureq::get(&format!("{}/health", server.base)).call());
    assert_eq!(health.status, 200, "the process itself is alive");
    println!("during the outage: GET import 503 in {read:?}, /ready 503 in {ready:?}");

    cluster.resume();
    let back = Instant::now();
    let done = poll(&server, &token, &id, Duration::from_secs(90), |r| {
        r.json["state"] != "PROCESSING"
    });
    println!("import ended {:?} after the restart", back.elapsed());
    assert_eq!(done.json["state"], "DONE", "{}", done.text);
    assert_eq!(counter(&done.json, "TOTAL_ROWS"), rows);
    assert_eq!(counter(&done.json, "CREATED_OBJECTS"), rows - bad);
    assert_eq!(
        counter(&done.json, "UPDATED_OBJECTS"),
        0,
        "no row written twice"
    );
    assert_eq!(counter(&done.json, "ERRORS"), bad);
    assert_eq!(
        sql_count(&db.url, "SELECT COUNT(*) AS n FROM contacts"),
        rows - bad,
        "one contact per row"
    );
    assert_eq!(
        sql_count(&db.url, "SELECT COUNT(DISTINCT email) AS n FROM contacts"),
        rows - bad,
        "one contact per email"
    );
    assert_eq!(
        sql_count(&db.url, "SELECT COUNT(*) AS n FROM import_errors"),
        bad,
        "each row error recorded once"
    );
    assert_eq!(
        sql_count(
            &db.url,
            "SELECT CAST(MAX(attempts) AS BIGINT) AS n FROM jobs"
        ),
        1,
        "the outage did not count as a failed attempt"
    );
    assert!(
        server
            .logs()
            .contains("database unreachable; the import retries its batch once it is back"),
        "the worker saw the outage mid-import"
    );
}
