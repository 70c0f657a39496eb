//! kill -9 of a real hubport process mid-import, then a restart: the import resumes from its
//! last checkpoint and ends with exactly the records, counters and row errors of a clean run.

use crate::support::*;
use std::time::{Duration, Instant};

/// Small batches, grouped into short transactions (several batches each), so that kills land
/// at many points of an import that is still far from done.
const ENV: &[(&str, &str)] = &[
    ("HUBPORT_BATCH_ROWS", "100"),
    ("HUBPORT_GROUP_COMMIT_MS", "20"),
    ("HUBPORT_LEASE_SECS", "1"),
];

#[test]
fn a_killed_import_resumes_without_duplicates_or_losses() {
    let db = TestDb::new();
    let mut server = Process::start(&db, None, ENV);
    let token = Process::token(&db, 5);

    let (rows, bad_every) = (30_000, 97);
    let csv = csv_of("Email,First", rows, |i| {
        if i % bad_every == 0 {
            format!("broken-{i},B{i}")
        } else {
            format!("k{i}@crash.example,N{i}")
        }
    });
    let bad = (0..rows).filter(|i| i % bad_every == 0).count() as i64;
    let id = post_import(&server, &token, "crash.csv", &csv);

    // Kill it once some batches are committed, well before the end.
    let until = Instant::now() + Duration::from_secs(60);
    let at_kill = loop {
        let r = server.get(&token, &format!("/crm/v3/imports/{id}"));
        if counter(&r.json, "TOTAL_ROWS") >= 1_000 {
            server.kill();
            break r.json;
        }
        assert!(Instant::now() < until, "no progress");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(at_kill["state"], "PROCESSING");
    assert!(counter(&at_kill, "TOTAL_ROWS") < rows, "killed mid-import");

    let server = Process::start(&db, Some(server.port), ENV);
    let done = wait_done(&server, &token, &id);
    assert_eq!(counter(&done, "TOTAL_ROWS"), rows);
    assert_eq!(counter(&done, "CREATED_OBJECTS"), rows - bad);
    assert_eq!(
        counter(&done, "UPDATED_OBJECTS"),
        0,
        "no row was written twice"
    );
    assert_eq!(counter(&done, "ERRORS"), bad);
    assert_eq!(
        server.count_all(&token, "/crm/v3/objects/contacts?limit=100"),
        rows - bad,
        "one record per key"
    );
    assert_eq!(
        server.count_all(&token, &format!("/crm/v3/imports/{id}/errors?limit=500")),
        bad,
        "no duplicate row errors"
    );
}

/// A seed from HUBPORT_TEST_SEED, or the clock; printed so a failure can be replayed.
fn seed() -> u64 {
    let seed = std::env::var("HUBPORT_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("HUBPORT_TEST_SEED={seed}");
    seed
}

fn next(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *state >> 33
}

/// The UPSERT request of every import here: one `Email,First` file.
fn request(name: &str) -> String {
    contacts_request(
        name,
        "UPSERT",
        &[("Email", "email"), ("First", "firstname")],
    )
}

fn post_import(p: &Process, token: &str, name: &str, csv: &str) -> String {
    p.post_import(token, &request(name), name, csv)
}

/// Waits for the import to finish after a restart; it must end DONE.
fn wait_done(p: &Process, token: &str, id: &str) -> serde_json::Value {
    let done = p.wait_finished(token, id);
    assert_eq!(done["state"], "DONE", "import {id}: {done}");
    done
}

#[test]
fn kills_at_random_points_never_duplicate_or_lose_rows() {
    let mut rng = seed();
    let db = TestDb::new();
    let mut server = Process::start(&db, None, ENV);
    let token = Process::token(&db, 6);
    let rows = 8_000;
    for round in 0..3 {
        let csv = csv_of("Email,First", rows, |i| {
            format!("r{round}-{i}@random.example,N{i}")
        });
        let id = post_import(&server, &token, &format!("round{round}.csv"), &csv);
        // Kill right after the 200, as the last batch commits (around the final state change),
        // or after a random number of committed rows.
        let at = match next(&mut rng) % 4 {
            0 => 0,
            1 => rows,
            _ => 100 + next(&mut rng) as i64 % (rows - 500),
        };
        let until = Instant::now() + Duration::from_secs(60);
        while counter(
            &server.get(&token, &format!("/crm/v3/imports/{id}")).json,
            "TOTAL_ROWS",
        ) < at
        {
            assert!(Instant::now() < until);
            std::thread::sleep(Duration::from_millis(2));
        }
        let port = server.port;
        server.kill();
        server = Process::start(&db, Some(port), ENV);
        let done = wait_done(&server, &token, &id);
        assert_eq!(
            (
                counter(&done, "TOTAL_ROWS"),
                counter(&done, "CREATED_OBJECTS"),
                counter(&done, "UPDATED_OBJECTS"),
                counter(&done, "ERRORS")
            ),
            (rows, rows, 0, 0),
            "round {round}, killed at {at} rows"
        );
    }
    assert_eq!(
        server.count_all(&token, "/crm/v3/objects/contacts?limit=100"),
        3 * rows,
        "one record per key"
    );
}

#[test]
fn two_nodes_share_the_work_and_one_dying_loses_nothing() {
    let db = TestDb::new();
    let env = [
        ("HUBPORT_BATCH_ROWS", "100"),
        // One transaction per batch: two processes on one SQLite file take turns only between
        // transactions (README, Running several nodes).
        ("HUBPORT_GROUP_COMMIT_MS", "0"),
        ("HUBPORT_LEASE_SECS", "1"),
        ("HUBPORT_WORKERS", "1"),
    ];
    let mut a = Process::start(&db, None, &env);
    let b = Process::start(&db, None, &env);
    let token = Process::token(&db, 8);
    let rows = 20_000;
    // Posted all at once, half to each node, so that both nodes find work queued together.
    let ids: Vec<String> = std::thread::scope(|scope| {
        let posts: Vec<_> = (0..4)
            .map(|n| {
                let (node, token) = (if n % 2 == 0 { &a } else { &b }, &token);
                scope.spawn(move || {
                    let csv = csv_of("Email,First", rows, |i| {
                        format!("n{n}-{i}@nodes.example,N{i}")
                    });
                    post_import(node, token, &format!("node{n}.csv"), &csv)
                })
            })
            .collect();
        posts.into_iter().map(|p| p.join().unwrap()).collect()
    });
    // Kill node A once work is under way on both: with one worker per node, two imports
    // PROCESSING at once (each well short of its end) means A dies holding an unfinished one.
    let until = Instant::now() + Duration::from_secs(60);
    while ids
        .iter()
        .filter(|id| {
            let now = b.get(&token, &format!("/crm/v3/imports/{id}")).json;
            now["state"] == "PROCESSING" && counter(&now, "TOTAL_ROWS") < rows - 1_000
        })
        .count()
        < 2
    {
        assert!(Instant::now() < until, "the nodes never shared the work");
        std::thread::sleep(Duration::from_millis(5));
    }
    a.kill();
    for id in &ids {
        let done = wait_done(&b, &token, id);
        assert_eq!(
            (
                counter(&done, "TOTAL_ROWS"),
                counter(&done, "CREATED_OBJECTS"),
                counter(&done, "UPDATED_OBJECTS")
            ),
            (rows, rows, 0),
            "import {id}"
        );
    }
    assert_eq!(
        b.count_all(&token, "/crm/v3/objects/contacts?limit=100"),
        4 * rows,
        "exactly once"
    );
}

#[test]
fn sigterm_stops_within_bounded_time_and_the_import_resumes_at_once() {
    let db = TestDb::new();
    // A long lease: only a released lease (not an expired one) lets the restart resume at once.
    let env = [("HUBPORT_BATCH_ROWS", "100"), ("HUBPORT_LEASE_SECS", "600")];
    let mut server = Process::start(&db, None, &env);
    let token = Process::token(&db, 4);
    // Enough rows that the import is far from done when the signal comes, with batches grouped
    // into transactions as by default (the signal ends the group at the next batch).
    let rows = 100_000;
    let csv = csv_of("Email,First", rows, |i| format!("t{i}@term.example,N{i}"));
    let id = post_import(&server, &token, "term.csv", &csv);
    let until = Instant::now() + Duration::from_secs(60);
    while counter(
        &server.get(&token, &format!("/crm/v3/imports/{id}")).json,
        "TOTAL_ROWS",
    ) < 500
    {
        assert!(Instant::now() < until);
        std::thread::sleep(Duration::from_millis(2));
    }
    let sent = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exited = loop {
        if let Some(code) = server.child.try_wait().unwrap() {
            break code;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(20),
            "still running 20 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        exited.success(),
        "a clean exit: {exited:?}\n{}",
        server.logs()
    );
    // It stopped mid-import (read straight from the database while no server runs).
    let config = hubport::config::Config::with_database(db.url.clone(), db.data_dir.path());
    let store = hubport::open_database(&config).unwrap();
    let view =
        hubport::app::imports::get(&store, hubport::crm::PortalId(4), id.parse().unwrap()).unwrap();
    assert_eq!(view.row.state, "PROCESSING");
    let partial: serde_json::Value = serde_json::from_str(&view.row.counters).unwrap();
    assert!(
        partial["TOTAL_ROWS"].as_i64().unwrap_or(0) < rows,
        "stopped before the end: {partial}"
    );
    let port = server.port;
    let server = Process::start(&db, Some(port), &env);
    let done = wait_done(&server, &token, &id);
    assert_eq!(
        (
            counter(&done, "TOTAL_ROWS"),
            counter(&done, "CREATED_OBJECTS"),
            counter(&done, "UPDATED_OBJECTS")
        ),
        (rows, rows, 0)
    );
}

/// Hands out a body slowly, counting what has been read, so the server can be killed while
/// the upload is still streaming.
struct SlowBody {
    data: Vec<u8>,
    at: usize,
    sent: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl std::io::Read for SlowBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(64 * 1024).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        self.sent.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(2));
        Ok(n)
    }
}

#[test]
fn a_kill_during_the_upload_leaves_no_import_and_the_retry_imports_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let db = TestDb::new();
    let mut server = Process::start(&db, None, ENV);
    let token = Process::token(&db, 7);
    let rows = 60_000;
    let csv = csv_of("Email,First", rows, |i| {
        format!("u{i}@upload-kill.example,N{i}")
    });
    let (ct, body) = multipart(&[
        Part::text("importRequest", &request("upload.csv")),
        Part::file("files", "upload.csv", "text/csv", csv.as_bytes()),
    ]);
    let sent = Arc::new(AtomicUsize::new(0));
    let len = body.len();
    let slow = SlowBody {
        data: body,
        at: 0,
        sent: sent.clone(),
    };
    let url = format!("{}/crm/v3/imports", server.base);
    let auth = format!("Bearer {token}");
    let upload = std::thread::spawn(move || {
        ureq::post(&url)
            .set("Authorization", &auth)
            .set("Content-Type", &ct)
            .set("Content-Length", &len.to_string())
            .send(slow)
            .map(|r| r.status())
            .map_err(|e| e.to_string())
    });
    // Killed with the upload half sent: some chunks are stored, the import is not registered.
    let until = Instant::now() + Duration::from_secs(60);
    while sent.load(Ordering::SeqCst) < len / 2 {
        assert!(Instant::now() < until, "the upload did not start");
        std::thread::sleep(Duration::from_millis(1));
    }
    let port = server.port;
    server.kill();
    assert!(
        upload.join().unwrap().is_err(),
        "the client saw the server die"
    );

    let server = Process::start(&db, Some(port), ENV);
    let list = server.get(&token, "/crm/v3/imports");
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(
        list.json["results"],
        serde_json::json!([]),
        "no half-registered import"
    );

    // The client retries (the very same request); the import happens exactly once.
    let id = post_import(&server, &token, "upload.csv", &csv);
    let done = wait_done(&server, &token, &id);
    assert_eq!(counter(&done, "CREATED_OBJECTS"), rows);
    assert_eq!(
        server.count_all(&token, "/crm/v3/objects/contacts?limit=100"),
        rows
    );
}
