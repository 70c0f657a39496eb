//! kill -9 of a real hubport process mid-import, then a restart: the import resumes from its
//! last checkpoint and ends with exactly the records, counters and row errors of a clean run.

use crate::support::*;
use std::time::{Duration, Instant};

const ENV: &[(&str, &str)] = &[("HUBPORT_BATCH_ROWS", "100"), ("HUBPORT_LEASE_SECS", "1")];

fn count_all(p: &Process, token: &str, path: &str) -> i64 {
    let mut n = 0;
    let mut after = String::new();
    loop {
        let r = p.get(token, &format!("{path}{after}"));
        assert_eq!(r.status, 200, "{}", r.text);
        n += r.json["results"].as_array().unwrap().len() as i64;
        match r.json["paging"]["next"]["after"].as_str() {
            Some(a) => after = format!("&after={a}"),
            None => return n,
        }
    }
}

#[test]
fn a_killed_import_resumes_without_duplicates_or_losses() {
    let db = TestDb::new();
    let mut server = Process::start(&db, None, ENV);
    let token = Process::token(&db, 5);

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
        ureq::post(&format!("{}/crm/v3/imports", server.base))
            .set("Authorization", &format!("Bearer {token}"))
            .set("Content-Type", &ct)
            .send_bytes(&body),
    );
    assert_eq!(created.status, 200, "{}", created.text);
    let id = created.json["id"].as_str().unwrap().to_string();

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
    let until = Instant::now() + Duration::from_secs(120);
    let done = loop {
        let r = server.get(&token, &format!("/crm/v3/imports/{id}"));
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
    assert_eq!(
        count_all(&server, &token, "/crm/v3/objects/contacts?limit=100"),
        rows - bad,
        "one record per key"
    );
    assert_eq!(
        count_all(
            &server,
            &token,
            &format!("/crm/v3/imports/{id}/errors?limit=500")
        ),
        bad,
        "no duplicate row errors"
    );
}
