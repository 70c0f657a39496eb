//! The `hubport` binary: tokens minted on the command line work against a running server.

use crate::support::*;
use std::process::Command;

fn hubport(db: &TestDb, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hubport"))
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env_remove("HUBPORT_JWT_SECRET")
        .output()
        .expect("run hubport")
}

#[test]
fn token_create_list_revoke_against_a_running_server() {
    let s = TestServer::start();
    let out = hubport(
        &s.db,
        &["token", "create", "--portal", "42", "--name", "ci-bot"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().count(),
        1,
        "only the token on stdout: {stdout:?}"
    );
    let token = stdout.trim();
    assert_eq!(token.split('.').count(), 3, "a JWT");
    let r = s.get(token, "/crm/v3/imports");
    assert_eq!(r.status, 200, "{}", r.text);
    let done = s.import(token, GUIDE_REQUEST, &[("Nov-event-leads.csv", GUIDE_CSV)]);
    assert_eq!(done["state"], "DONE");
    assert_eq!(done["startedBy"]["keyName"], "ci-bot");

    let list = hubport(&s.db, &["token", "list"]);
    let text = String::from_utf8(list.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("ci-bot"))
        .expect("key listed");
    assert!(line.contains("42") && line.contains("active"), "{line}");
    let id = line.split_whitespace().next().unwrap();

    let scoped = hubport(
        &s.db,
        &[
            "token",
            "create",
            "--portal",
            "42",
            "--scopes",
            "crm.objects.contacts.read",
        ],
    );
    let scoped = String::from_utf8(scoped.stdout).unwrap();
    s.get(scoped.trim(), "/crm/v3/imports")
        .assert_error(403, "MISSING_SCOPES");
    assert!(!hubport(
        &s.db,
        &["token", "create", "--portal", "1", "--scopes", "crm.imprt"]
    )
    .status
    .success());

    assert!(hubport(&s.db, &["token", "revoke", id]).status.success());
    s.get(token, "/crm/v3/imports")
        .assert_error(401, "INVALID_AUTHENTICATION");
    assert!(
        !hubport(&s.db, &["token", "revoke", id]).status.success(),
        "revoking twice is an error"
    );
}

#[test]
fn migrate_runs_and_is_idempotent() {
    let db = TestDb::new();
    for _ in 0..2 {
        let out = hubport(&db, &["migrate"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn import_subcommand_streams_a_file_and_reports_the_outcome() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let out = Command::new(env!("CARGO_BIN_EXE_hubport"))
        .args([
            "import",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/Nov-event-leads.csv"
            ),
            "--object",
            "contacts",
            "--operation",
            "CREATE",
        ])
        .args(["--url", &s.base, "--token", &t])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(": DONE"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["CREATED_OBJECTS", "4"]),
        "{stdout}"
    );
    assert!(
        stdout.contains("INVALID_EMAIL"),
        "first errors are listed: {stdout}"
    );
    let jane = s.get(
        &t,
        "/crm/v3/objects/contacts/grace.hopper@navy.example?idProperty=email&properties=firstname",
    );
    assert_eq!(jane.json["properties"]["firstname"], "Grace");

    let bad = Command::new(env!("CARGO_BIN_EXE_hubport"))
        .args([
            "import",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/Nov-event-leads.csv"
            ),
            "--map",
            "Nope=x",
        ])
        .args(["--url", &s.base, "--token", &t])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("Nope"));
}
