//! kill -9 of a real hubport process mid-import, then a restart: the import resumes from its
//! last checkpoint and ends with exactly the records, counters and row errors of a clean run.

use crate::support::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn spawn(db: &TestDb, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_hubport"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", &db.url)
        .env("HUBPORT_JWT_SECRET", "crash-test-secret")
        .env("HUBPORT_BATCH_ROWS", "100")
        .env("HUBPORT_LEASE_SECS", "1")
        .env("HUBPORT_POLL_MS", "50")
        .env("HUBPORT_RATE_LIMIT_PER_10S", "100000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn hubport")
}

fn wait_healthy(base: &str) {
    let until = Instant::now() + Duration::from_secs(60);
    while ureq::get(&format!("{base}/health")).call().is_err() {
        assert!(Instant::now() < until, "server did not come up");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Minimal client over a base URL (the harness's `TestServer` runs in-process; this one does not).
fn get(base: &str, token: &str, path: &str) -> Resp {
    Resp::from(
        ureq::get(&format!("{base}{path}"))
            .set("Authorization", &format!("Bearer {token}"))
            .call(),
    )
}

#[test]
fn a_killed_import_resumes_without_duplicates_or_losses() {
    let db = TestDb::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = spawn(&db, port);
    wait_healthy(&base);
    let out = Command::new(env!("CARGO_BIN_EXE_hubport"))
        .args(["token", "create", "--portal", "5"])
        .env("DATABASE_URL", &db.url)
        .env("HUBPORT_JWT_SECRET", "crash-test-secret")
        .output()
        .unwrap();
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();

    let (rows, bad_every) = (30_000, 97);
    let mut csv = String::from("Email,First\n");
    for i in 0..rows {
        if i % bad_every == 0 {
            csv.push_str(&format!("broken-{i},B{i}\n"));
        } else {
            csv.push_str(&format!("k{i}@crash.example,N{i}\n"));
        }
    }
    let bad = (0..rows).filter(|i| i % bad_every == 0).count() as i64;
    let request = contacts_request(
        "crash.csv",
        "UPSERT",
        &[("Email", "email"), ("First", "firstname")],
    );
    let (ct, body) = multipart(&[
        Part::text("importRequest", &request),
        Part::file("files", "crash.csv", "text/csv", csv.as_bytes()),
    ]);
    let created = Resp::from(
        ureq::post(&format!("{base}/crm/v3/imports"))
            .set("Authorization", &format!("Bearer {token}"))
            .set("Content-Type", &ct)
            .send_bytes(&body),
    );
    assert_eq!(created.status, 200, "{}", created.text);
    let id = created.json["id"].as_str().unwrap().to_string();

    // Kill it once some batches are committed, well before the end.
    let until = Instant::now() + Duration::from_secs(60);
    let at_kill = loop {
        let r = get(&base, &token, &format!("/crm/v3/imports/{id}"));
        if counter(&r.json, "TOTAL_ROWS") >= 1_000 {
            server.kill().unwrap();
            break r.json;
        }
        assert!(Instant::now() < until, "no progress");
        std::thread::sleep(Duration::from_millis(5));
    };
    server.wait().unwrap();
    assert_eq!(at_kill["state"], "PROCESSING");
    assert!(counter(&at_kill, "TOTAL_ROWS") < rows, "killed mid-import");

    let mut server = spawn(&db, port);
    wait_healthy(&base);
    let until = Instant::now() + Duration::from_secs(120);
    let done = loop {
        let r = get(&base, &token, &format!("/crm/v3/imports/{id}"));
        if r.json["state"] == "DONE" {
            break r.json;
        }
        assert!(
            Instant::now() < until,
            "did not finish after restart: {}",
            r.text
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(counter(&done, "TOTAL_ROWS"), rows);
    assert_eq!(counter(&done, "CREATED_OBJECTS"), rows - bad);
    assert_eq!(
        counter(&done, "UPDATED_OBJECTS"),
        0,
        "no row was written twice"
    );
    assert_eq!(counter(&done, "ERRORS"), bad);

    let mut contacts = 0;
    let mut after = String::new();
    loop {
        let r = get(
            &base,
            &token,
            &format!("/crm/v3/objects/contacts?limit=100{after}"),
        );
        contacts += r.json["results"].as_array().unwrap().len() as i64;
        match r.json["paging"]["next"]["after"].as_str() {
            Some(a) => after = format!("&after={a}"),
            None => break,
        }
    }
    assert_eq!(contacts, rows - bad, "one record per key");
    let mut errors = 0;
    let mut after = String::new();
    loop {
        let r = get(
            &base,
            &token,
            &format!("/crm/v3/imports/{id}/errors?limit=500{after}"),
        );
        errors += r.json["results"].as_array().unwrap().len() as i64;
        match r.json["paging"]["next"]["after"].as_str() {
            Some(a) => after = format!("&after={a}"),
            None => break,
        }
    }
    assert_eq!(errors, bad, "no duplicate row errors");
    server.kill().unwrap();
    server.wait().unwrap();
}
