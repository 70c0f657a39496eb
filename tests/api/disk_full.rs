//! The database refusing writes while an upload streams in (a full disk): the client gets
//! HubSpot's error body with 507, and nothing of the upload stays behind — no import, no file,
//! no chunk, no job. The failures are real, not stubs: a trigger in the test's database raises
//! the database's own "disk full" error after a few chunks (both backends), and SQLite on a
//! small tmpfs really runs out of space (SQLITE_FULL; mounting it needs root).

use crate::support::*;

const TABLES: [&str; 4] = ["imports", "import_files", "file_chunks", "jobs"];

/// A CSV of about `mib` MiB: few rows (a quick import), each with a long name of random letters,
/// so that it takes about as much space stored (compressed) as received.
fn big_csv(mib: usize) -> Vec<u8> {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut csv = String::from("Email,First\n");
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut i = 0;
    while csv.len() < mib << 20 {
        let padding: String = (0..2000)
            .map(|_| {
                // xorshift64: reproducible, and nothing for LZ4 to find.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                LETTERS[(state % LETTERS.len() as u64) as usize] as char
            })
            .collect();
        csv.push_str(&format!("person{i}@full.example,{padding}{i}\n"));
        i += 1;
    }
    csv.into_bytes()
}

/// Makes inserting the `n`-th upload chunk (and any after it) fail as a full disk does: SQLite's
/// SQLITE_FULL text, PostgreSQL's disk_full SQLSTATE and ENOSPC text. With `deletes_too`,
/// removing chunks fails the same way (a full SQLite disk refuses every write).
fn fill_disk_after(url: &str, n: usize, deletes_too: bool) {
    if backend() == "postgres" {
        let ops = if deletes_too {
            "INSERT OR DELETE"
        } else {
            "INSERT"
        };
        sql(
            url,
            &format!(
                "CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                   IF TG_OP = 'DELETE' OR (SELECT count(*) FROM file_chunks) >= {n} THEN \
                     RAISE EXCEPTION 'could not extend file \"base/1/2\": No space left on device' \
                       USING ERRCODE = 'disk_full', HINT = 'Check free disk space.'; \
                   END IF; RETURN NEW; END $$; \
                 CREATE TRIGGER disk_full BEFORE {ops} ON file_chunks \
                   FOR EACH ROW EXECUTE FUNCTION disk_full();"
            ),
        );
    } else {
        sql(
            url,
            &format!(
                "CREATE TRIGGER disk_full BEFORE INSERT ON file_chunks \
                 WHEN (SELECT count(*) FROM file_chunks) >= {n} \
                 BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;"
            ),
        );
        if deletes_too {
            sql(
                url,
                "CREATE TRIGGER disk_full_delete BEFORE DELETE ON file_chunks \
                 BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
            );
        }
    }
}

fn free_disk(url: &str) {
    if backend() == "postgres" {
        sql(
            url,
            "DROP TRIGGER disk_full ON file_chunks; DROP FUNCTION disk_full();",
        );
    } else {
        sql(
            url,
            "DROP TRIGGER disk_full; DROP TRIGGER IF EXISTS disk_full_delete;",
        );
    }
}

fn rows_in(url: &str, table: &str) -> i64 {
    sql_count(url, &format!("SELECT COUNT(*) AS n FROM {table}"))
}

/// Uploads `csv` to the full database; the client sees HubSpot's 507 and no import, ever.
fn refused_and_no_import(s: &TestServer, t: &str, csv: &[u8], url: &str) {
    let r = s.create_import(t, &request(), &[("full.csv", csv)]);
    let body = r.assert_error(507, "INSUFFICIENT_STORAGE");
    assert_eq!(
        body["message"],
        "The server has no storage space left; nothing of this request was kept. Please retry later."
    );
    let list = s.get(t, "/crm/v3/imports");
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.json["results"], serde_json::json!([]), "no import");
    for table in ["imports", "jobs"] {
        assert_eq!(rows_in(url, table), 0, "{table}");
    }
}

/// Waits until the partial upload's file and chunks are gone.
fn upload_removed(url: &str) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while TABLES.iter().any(|t| rows_in(url, t) > 0) {
        assert!(
            std::time::Instant::now() < until,
            "the partial upload was never removed"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The very same upload, once there is space again, goes through and imports every row.
fn imports_after_all(s: &TestServer, t: &str, request: &str, csv: &[u8]) {
    let done = s.import(t, request, &[("full.csv", csv)]);
    assert_eq!(done["state"], "DONE");
    let rows = csv.iter().filter(|b| **b == b'\n').count() as i64 - 1;
    assert_eq!(counter(&done, "CREATED_OBJECTS"), rows);
}

fn request() -> String {
    contacts_request(
        "full.csv",
        "CREATE",
        &[("Email", "email"), ("First", "firstname")],
    )
}

#[test]
fn a_full_disk_during_an_upload_answers_507_and_keeps_nothing() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let csv = big_csv(5);
    fill_disk_after(&s.db.url, 2, false);

    refused_and_no_import(&s, &t, &csv, &s.db.url);
    for table in TABLES {
        assert_eq!(rows_in(&s.db.url, table), 0, "{table} is empty at once");
    }

    free_disk(&s.db.url);
    imports_after_all(&s, &t, &request(), &csv);
}

#[test]
fn a_partial_upload_the_full_database_cannot_delete_goes_once_it_can() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let csv = big_csv(5);
    fill_disk_after(&s.db.url, 2, true);

    refused_and_no_import(&s, &t, &csv, &s.db.url);
    assert!(
        rows_in(&s.db.url, "file_chunks") > 0,
        "the delete was refused"
    );

    // The server retries the removal in the background; it goes once writes work again.
    free_disk(&s.db.url);
    upload_removed(&s.db.url);
    imports_after_all(&s, &t, &request(), &csv);
}

/// A small tmpfs mounted for one test, unmounted when dropped. Mounting needs root (or
/// CAP_SYS_ADMIN); without it the test fails, it does not skip.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "mounting a tmpfs needs root: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.0.path())
            .status();
    }
}

/// Fills the file system at `dir` but for `leave` bytes; removing the file frees the space.
fn ballast(dir: &std::path::Path, leave: u64) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join("ballast");
    let mut f = std::fs::File::create(&path).unwrap();
    let block = vec![0u8; 1 << 16];
    let mut written = 0u64;
    while f.write_all(&block).is_ok() {
        written += block.len() as u64;
    }
    f.set_len(written.saturating_sub(leave)).unwrap();
    path
}

#[test]
fn sqlite_on_a_really_full_disk_answers_507_and_recovers_once_space_is_freed() {
    // SQLite on a 48 MiB tmpfs in both runs (the backend is the test's own choice).
    let fs = Tmpfs::mount("48m");
    let url = format!("sqlite://{}", fs.0.path().join("hubport.db").display());
    let s = TestServer::start_on(TestDb::at(url.clone()), |_| {});
    let t = s.token(1, &[]);
    let csv = big_csv(6);
    let ballast = ballast(fs.0.path(), 3 << 20);

    refused_and_no_import(&s, &t, &csv, &url);

    // The operator frees space. (A full SQLite disk may refuse even the delete of the partial
    // upload; the server then retries it in the background.)
    std::fs::remove_file(ballast).unwrap();
    upload_removed(&url);
    imports_after_all(&s, &t, &request(), &csv);
}
