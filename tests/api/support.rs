//! Test harness: a real hubport server on 127.0.0.1:0 per test, on a fresh SQLite file or, when
//! `HUBPORT_TEST_BACKEND=postgres`, a fresh schema in the PostgreSQL at `HUBPORT_TEST_POSTGRES_URL`
//! (default postgres://postgres@127.0.0.1:5432/test). PostgreSQL being unreachable fails the
//! test: a PostgreSQL run never silently falls back.

#![allow(dead_code)] // each test module uses a different part of the harness

use diesel::connection::SimpleConnection;
use diesel::Connection;
use hubport::config::Config;
use serde_json::Value;
use std::net::TcpListener;
use std::time::{Duration, Instant};

pub fn backend() -> &'static str {
    match std::env::var("HUBPORT_TEST_BACKEND").as_deref() {
        Ok("postgres") => "postgres",
        Ok("sqlite") | Err(_) => "sqlite",
        Ok(other) => panic!("HUBPORT_TEST_BACKEND must be sqlite or postgres, not {other}"),
    }
}

fn postgres_base() -> String {
    std::env::var("HUBPORT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A database of its own for one test, removed when dropped.
pub struct TestDb {
    pub url: String,
    pub data_dir: tempfile::TempDir,
    schema: Option<String>,
}

impl TestDb {
    pub fn new() -> TestDb {
        let data_dir = tempfile::tempdir().expect("temp dir");
        if backend() == "postgres" {
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            let mut c = diesel::PgConnection::establish(&postgres_base()).unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL test run but {} is unreachable: {e}",
                    postgres_base()
                )
            });
            c.batch_execute(&format!("CREATE SCHEMA {schema}"))
                .expect("create schema");
            let sep = if postgres_base().contains('?') {
                '&'
            } else {
                '?'
            };
            let url = format!("{}{sep}options=-csearch_path%3D{schema}", postgres_base());
            TestDb {
                url,
                data_dir,
                schema: Some(schema),
            }
        } else {
            let url = format!("sqlite://{}", data_dir.path().join("hubport.db").display());
            TestDb {
                url,
                data_dir,
                schema: None,
            }
        }
    }
}

impl TestDb {
    /// A test database at `url` that something else owns (e.g. a `PgCluster`).
    pub fn at(url: String) -> TestDb {
        TestDb {
            url,
            data_dir: tempfile::tempdir().expect("temp dir"),
            schema: None,
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn raw_db(url: &str) -> hubport::db::Db {
    hubport::db::Db::connect(url, 1, Duration::from_secs(10)).expect("test database")
}

/// Runs statements straight on a test database (no server involved), e.g. to install a trigger.
pub fn sql(url: &str, statements: &str) {
    raw_db(url)
        .conn()
        .unwrap()
        .batch_execute(statements)
        .unwrap_or_else(|e| panic!("{statements}: {e}"));
}

/// The single BIGINT column `n` of `query`, read straight from a test database.
pub fn sql_count(url: &str, query: &str) -> i64 {
    let rows: Vec<Count> =
        hubport::db::sql::load(&mut raw_db(url).conn().unwrap(), query, vec![]).unwrap();
    rows[0].n
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(schema) = &self.schema {
            if let Ok(mut c) = diesel::PgConnection::establish(&postgres_base()) {
                let _ = c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
            }
        }
    }
}

pub struct TestServer {
    pub base: String,
    pub config: Config,
    handle: Option<actix_web::dev::ServerHandle>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub db: TestDb,
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::start_with(|_| {})
    }

    pub fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_on(TestDb::new(), tweak)
    }

    /// Starts a server on an existing database (e.g. to test a restart).
    pub fn start_on(db: TestDb, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = Config::with_database(db.url.clone(), db.data_dir.path());
        config.poll_interval = Duration::from_millis(50);
        config.pool_size = 4;
        // Many servers share the machine while the suite runs, and a busy virtual machine has
        // taken over 2 s (the default) to hand out a PostgreSQL connection: that failed tests
        // that have nothing to do with timeouts. The timeout's own tests run their own servers.
        config.db_timeout = Duration::from_secs(20);
        // Tests poll fast; only the rate-limit tests set real limits.
        config.rate_limit_per_10s = 100_000;
        config.rate_limit_per_day = 100_000_000;
        tweak(&mut config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        let cfg = config.clone();
        let thread = std::thread::spawn(move || {
            hubport::run(cfg, listener, move |h| tx.send(h).unwrap()).expect("server runs");
        });
        let handle = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server started");
        TestServer {
            base,
            config,
            handle: Some(handle),
            thread: Some(thread),
            db,
        }
    }

    /// Stops the server and hands back its database.
    pub fn stop(mut self) -> TestDb {
        self.shutdown();
        std::mem::replace(
            &mut self.db,
            TestDb {
                url: String::new(),
                data_dir: tempfile::tempdir().unwrap(),
                schema: None,
            },
        )
    }

    fn shutdown(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = std::thread::spawn(move || actix_web::rt::System::new().block_on(h.stop(true)))
                .join();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// A token for `portal` with `scopes` (every scope when empty), minted as the CLI does.
    pub fn token(&self, portal: i64, scopes: &[&str]) -> String {
        let db = hubport::open_database(&self.config).unwrap();
        let list = if scopes.is_empty() {
            None
        } else {
            Some(scopes.join(","))
        };
        let scopes = hubport::auth::parse_scopes(list.as_deref()).unwrap();
        let key = hubport::db::keys::create(
            &mut db.conn().unwrap(),
            hubport::crm::PortalId(portal),
            "test",
            &scopes,
            Default::default(),
        )
        .unwrap();
        hubport::auth::Tokens::load(&db, &self.config)
            .unwrap()
            .mint(&key)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, token: &str, path: &str) -> Resp {
        Resp::from(
            ureq::get(&self.url(path))
                .set("Authorization", &format!("Bearer {token}"))
                .call(),
        )
    }

    pub fn post(&self, token: &str, path: &str) -> Resp {
        Resp::from(
            ureq::post(&self.url(path))
                .set("Authorization", &format!("Bearer {token}"))
                .call(),
        )
    }

    /// POSTs a raw body with a content type.
    pub fn post_raw(&self, token: &str, path: &str, content_type: &str, body: &[u8]) -> Resp {
        Resp::from(
            ureq::post(&self.url(path))
                .set("Authorization", &format!("Bearer {token}"))
                .set("Content-Type", content_type)
                .send_bytes(body),
        )
    }

    /// POSTs a JSON body.
    pub fn post_json(&self, token: &str, path: &str, body: Value) -> Resp {
        Resp::from(
            ureq::post(&self.url(path))
                .set("Authorization", &format!("Bearer {token}"))
                .send_json(body),
        )
    }

    /// The multipart request HubSpot's guide sends: importRequest as a text field, files as files.
    pub fn create_import(&self, token: &str, request: &str, files: &[(&str, &[u8])]) -> Resp {
        let mut parts = vec![Part::text("importRequest", request)];
        parts.extend(
            files
                .iter()
                .map(|(n, d)| Part::file("files", n, "text/csv", d)),
        );
        let (ct, body) = multipart(&parts);
        self.post_raw(token, "/crm/v3/imports", &ct, &body)
    }

    /// Creates an import and returns its id (asserting the 200), without waiting for it.
    pub fn post_import(&self, token: &str, request: &str, files: &[(&str, &[u8])]) -> String {
        let r = self.create_import(token, request, files);
        assert_eq!(r.status, 200, "{}", r.text);
        r.json["id"].as_str().unwrap().to_string()
    }

    /// Creates an import, asserts the 200 and waits for it to finish; returns the final import.
    pub fn import(&self, token: &str, request: &str, files: &[(&str, &[u8])]) -> Value {
        let id = self.post_import(token, request, files);
        self.wait_finished(token, &id)
    }

    /// Imports `csv` as one contacts file with `columns` and `operation`, through to its end.
    pub fn import_contacts(
        &self,
        token: &str,
        operation: &str,
        columns: &[(&str, &str)],
        csv: &str,
    ) -> Value {
        self.import(
            token,
            &contacts_request("f.csv", operation, columns),
            &[("f.csv", csv.as_bytes())],
        )
    }

    /// Imports `n` new contacts by email alone (a0@x.example, a1@…), asserting they were created.
    pub fn import_new_contacts(&self, token: &str, n: usize) -> Value {
        let csv: String = (0..n).map(|i| format!("a{i}@x.example\n")).collect();
        let done = self.import_contacts(
            token,
            "UPSERT",
            &[("Email", "email")],
            &format!("Email\n{csv}"),
        );
        assert_eq!(outcome(&done), [n as i64, 0, 0]);
        done
    }

    pub fn wait_finished(&self, token: &str, id: &str) -> Value {
        wait_finished(|path| self.get(token, path), id, Duration::from_millis(25))
    }

    /// Every record of a type, following paging.
    pub fn all_records(&self, token: &str, object: &str, properties: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut after = String::new();
        loop {
            let r = self.get(
                token,
                &format!("/crm/v3/objects/{object}?limit=100&properties={properties}{after}"),
            );
            assert_eq!(r.status, 200, "{}", r.text);
            out.extend(r.json["results"].as_array().unwrap().iter().cloned());
            match r.json["paging"]["next"]["after"].as_str() {
                Some(a) => after = format!("&after={a}"),
                None => return out,
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

pub struct Resp {
    pub status: u16,
    pub text: String,
    pub json: Value,
    pub content_type: String,
    pub correlation_id: Option<String>,
    /// Every header, names in lower case.
    pub headers: Vec<(String, String)>,
}

impl From<Result<ureq::Response, ureq::Error>> for Resp {
    fn from(r: Result<ureq::Response, ureq::Error>) -> Resp {
        let resp = match r {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("transport error: {e}"),
        };
        let status = resp.status();
        let content_type = resp.header("content-type").unwrap_or_default().to_string();
        let correlation_id = resp.header("x-hubspot-correlation-id").map(str::to_string);
        let headers = resp
            .headers_names()
            .into_iter()
            .filter_map(|n| {
                let v = resp.header(&n)?.to_string();
                Some((n.to_ascii_lowercase(), v))
            })
            .collect();
        let text = resp.into_string().unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            text,
            json,
            content_type,
            correlation_id,
            headers,
        }
    }
}

impl Resp {
    /// The value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts HubSpot's error body and returns it.
    pub fn assert_error(&self, status: u16, category: &str) -> &Value {
        assert_eq!(self.status, status, "{}", self.text);
        assert!(
            self.content_type.starts_with("application/json"),
            "content-type {}",
            self.content_type
        );
        assert_eq!(self.json["status"], "error", "{}", self.text);
        assert_eq!(self.json["category"], category, "{}", self.text);
        assert!(!self.json["message"].as_str().unwrap_or_default().is_empty());
        let id = self.json["correlationId"].as_str().expect("correlationId");
        assert!(uuid::Uuid::parse_str(id).is_ok(), "correlationId {id}");
        assert_eq!(
            self.correlation_id.as_deref(),
            Some(id),
            "header matches body"
        );
        &self.json
    }
}

pub struct Part<'a> {
    pub name: &'a str,
    pub filename: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub data: &'a [u8],
}

impl<'a> Part<'a> {
    pub fn text(name: &'a str, value: &'a str) -> Part<'a> {
        Part {
            name,
            filename: None,
            content_type: None,
            data: value.as_bytes(),
        }
    }
    pub fn file(
        name: &'a str,
        filename: &'a str,
        content_type: &'a str,
        data: &'a [u8],
    ) -> Part<'a> {
        Part {
            name,
            filename: Some(filename),
            content_type: Some(content_type),
            data,
        }
    }
}

/// A `multipart/form-data` body, byte for byte as curl writes one.
pub fn multipart(parts: &[Part]) -> (String, Vec<u8>) {
    let boundary = "------------------------hubporttestboundary7MA4YWxk";
    let mut body = Vec::new();
    for p in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disp = format!("Content-Disposition: form-data; name=\"{}\"", p.name);
        if let Some(f) = p.filename {
            disp.push_str(&format!("; filename=\"{f}\""));
        }
        body.extend_from_slice(disp.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(ct) = p.content_type {
            body.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(p.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub const GUIDE_REQUEST: &str = include_str!("../fixtures/Nov-event-leads.importRequest.json");
pub const GUIDE_CSV: &[u8] = include_bytes!("../fixtures/Nov-event-leads.csv");
pub const DEALS_REQUEST: &str =
    include_str!("../fixtures/deals-with-contacts-and-companies.importRequest.json");
pub const DEALS_CSV: &[u8] = include_bytes!("../fixtures/deals-with-contacts-and-companies.csv");

/// A one-file contacts request over `columns` (header, property) with `operation`.
pub fn contacts_request(file: &str, operation: &str, columns: &[(&str, &str)]) -> String {
    let mappings: Vec<Value> = columns
        .iter()
        .map(|(c, p)| serde_json::json!({"columnObjectTypeId": "0-1", "columnName": c, "propertyName": p}))
        .collect();
    serde_json::json!({
        "name": format!("{operation} {file}"),
        "importOperations": {"0-1": operation},
        "files": [{"fileName": file, "fileFormat": "CSV", "fileImportPage": {"hasHeader": true, "columnMappings": mappings}}]
    })
    .to_string()
}

/// Polls GET /crm/v3/imports/{id} (asserting each 200) until the import is DONE, FAILED or
/// CANCELED, for at most two minutes; returns the final import.
fn wait_finished(get: impl Fn(&str) -> Resp, id: &str, every: Duration) -> Value {
    let until = Instant::now() + Duration::from_secs(120);
    loop {
        let r = get(&format!("/crm/v3/imports/{id}"));
        assert_eq!(r.status, 200, "{}", r.text);
        let state = r.json["state"].as_str().unwrap().to_string();
        if ["DONE", "FAILED", "CANCELED"].contains(&state.as_str()) {
            return r.json;
        }
        assert!(Instant::now() < until, "import {id} still {state}");
        std::thread::sleep(every);
    }
}

/// A CSV: `header`, then `line(i)` for each row `i` in `0..rows` (each line ends with `\n`).
pub fn csv_of(header: &str, rows: i64, line: impl Fn(i64) -> String) -> String {
    let mut csv = format!("{header}\n");
    for i in 0..rows {
        csv.push_str(&line(i));
        csv.push('\n');
    }
    csv
}

/// The `results` of GET /crm/v3/imports/{id}/errors with `query` (e.g. `includeRowData=true`,
/// or empty), asserting the 200.
pub fn import_errors(s: &TestServer, t: &str, import: &Value, query: &str) -> Vec<Value> {
    let mut path = format!("/crm/v3/imports/{}/errors", import["id"].as_str().unwrap());
    if !query.is_empty() {
        path = format!("{path}?{query}");
    }
    let r = s.get(t, &path);
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["results"].as_array().unwrap().clone()
}

/// Asserts that no uploaded file is left unattached to an import (e.g. by a refused upload): a
/// sweep of every unattached file, whatever its age, finds none.
pub fn assert_no_stored_uploads(s: &TestServer) {
    let db = hubport::open_database(&s.config).unwrap();
    let n = hubport::db::files::delete_stale_unattached(
        &mut db.conn().unwrap(),
        hubport::db::now() + chrono::Duration::days(2),
    )
    .unwrap();
    assert_eq!(n, 0, "a refused upload leaves no stored file");
}

/// An import's row errors as `(errorType, lineNumber)`, in order (first 500).
pub fn row_errors(s: &TestServer, t: &str, import: &Value) -> Vec<(String, i64)> {
    import_errors(s, t, import, "limit=500")
        .iter()
        .map(|e| {
            (
                e["errorType"].as_str().unwrap().to_string(),
                e["sourceData"]["lineNumber"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Just the error types of `row_errors`.
pub fn error_types(s: &TestServer, t: &str, import: &Value) -> Vec<String> {
    row_errors(s, t, import)
        .into_iter()
        .map(|(e, _)| e)
        .collect()
}

pub fn counter(import: &Value, name: &str) -> i64 {
    import["metadata"]["counters"][name].as_i64().unwrap_or(0)
}

/// An import's [CREATED_OBJECTS, UPDATED_OBJECTS, ERRORS] counters.
pub fn outcome(import: &Value) -> [i64; 3] {
    ["CREATED_OBJECTS", "UPDATED_OBJECTS", "ERRORS"].map(|c| counter(import, c))
}

/// The real `hubport` binary as a child process, for tests that kill it or read its logs.
pub struct Process {
    pub child: std::process::Child,
    pub base: String,
    pub port: u16,
    pub stderr_path: std::path::PathBuf,
}

pub const PROCESS_SECRET: &str = "process-test-secret";

impl Process {
    /// Starts `hubport serve` on `db` with extra environment; waits until /health answers.
    pub fn start(db: &TestDb, port: Option<u16>, env: &[(&str, &str)]) -> Process {
        Self::launch(db, port, &[], env)
    }

    /// `hubport serve` with extra arguments (e.g. `--no-worker`).
    pub fn start_args(db: &TestDb, args: &[&str], env: &[(&str, &str)]) -> Process {
        Self::launch(db, None, args, env)
    }

    fn launch(db: &TestDb, port: Option<u16>, args: &[&str], env: &[(&str, &str)]) -> Process {
        let port = port.unwrap_or_else(|| {
            TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        });
        let bind = format!("127.0.0.1:{port}");
        let serve: Vec<&str> = ["serve", "--bind", bind.as_str()]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        let mut env = env.to_vec();
        env.insert(0, ("HUBPORT_RATE_LIMIT_PER_10S", "100000"));
        let (child, stderr_path) = Self::spawn(db, "server", &serve, &env);
        let base = format!("http://{bind}");
        let until = Instant::now() + Duration::from_secs(60);
        while ureq::get(&format!("{base}/health")).call().is_err() {
            assert!(Instant::now() < until, "server did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
        Process {
            child,
            base,
            port,
            stderr_path,
        }
    }

    /// Starts `hubport worker` (no HTTP) on `db`.
    pub fn start_worker(db: &TestDb, env: &[(&str, &str)]) -> Process {
        let (child, stderr_path) = Self::spawn(db, "worker", &["worker"], env);
        Process {
            child,
            base: String::new(),
            port: 0,
            stderr_path,
        }
    }

    /// Runs `hubport <args>` on `db` with extra environment, its stderr in a `<log>-*.log` file
    /// of the database's data dir.
    fn spawn(
        db: &TestDb,
        log: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> (std::process::Child, std::path::PathBuf) {
        let stderr_path = db
            .data_dir
            .path()
            .join(format!("{log}-{}.log", uuid::Uuid::new_v4().simple()));
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hubport"));
        cmd.args(args)
            .env("DATABASE_URL", &db.url)
            .env("HUBPORT_JWT_SECRET", PROCESS_SECRET)
            .env("HUBPORT_POLL_MS", "50")
            // As for in-process servers (`start_on`): a busy machine, not a test's subject.
            .env("HUBPORT_DB_TIMEOUT_MS", "20000")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&stderr_path).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn hubport {args:?}: {e}"));
        (child, stderr_path)
    }

    /// A token minted with the CLI against the same database.
    pub fn token(db: &TestDb, portal: u64) -> String {
        Self::token_with(db, portal, &[])
    }

    /// `token create` with extra arguments (e.g. `--per-day 20`).
    pub fn token_with(db: &TestDb, portal: u64, args: &[&str]) -> String {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hubport"))
            .args(["token", "create", "--portal", &portal.to_string()])
            .args(args)
            .env("DATABASE_URL", &db.url)
            .env("HUBPORT_JWT_SECRET", PROCESS_SECRET)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    pub fn get(&self, token: &str, path: &str) -> Resp {
        Resp::from(
            ureq::get(&format!("{}{path}", self.base))
                .set("Authorization", &format!("Bearer {token}"))
                .call(),
        )
    }

    /// POSTs an import of one CSV file and returns its id (asserting the 200).
    pub fn post_import(
        &self,
        token: &str,
        request: &str,
        file: &str,
        csv: impl AsRef<[u8]>,
    ) -> String {
        let (ct, body) = multipart(&[
            Part::text("importRequest", request),
            Part::file("files", file, "text/csv", csv.as_ref()),
        ]);
        let r = Resp::from(
            ureq::post(&format!("{}/crm/v3/imports", self.base))
                .set("Authorization", &format!("Bearer {token}"))
                .set("Content-Type", &ct)
                .send_bytes(&body),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        r.json["id"].as_str().unwrap().to_string()
    }

    /// Polls the import until it is DONE, FAILED or CANCELED (as `TestServer::wait_finished`).
    pub fn wait_finished(&self, token: &str, id: &str) -> Value {
        wait_finished(|path| self.get(token, path), id, Duration::from_millis(50))
    }

    /// How many results a paged list (`path` with `?limit=…`) holds over all its pages.
    pub fn count_all(&self, token: &str, path: &str) -> i64 {
        let mut n = 0;
        let mut after = String::new();
        loop {
            let r = self.get(token, &format!("{path}{after}"));
            assert_eq!(r.status, 200, "{}", r.text);
            n += r.json["results"].as_array().unwrap().len() as i64;
            match r.json["paging"]["next"]["after"].as_str() {
                Some(a) => after = format!("&after={a}"),
                None => return n,
            }
        }
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A PostgreSQL server of the test's own (initdb into a temp dir, a free port), for tests that
/// stop and restart the database: the shared server on 5432 is never touched. Needs the
/// PostgreSQL binaries (`HUBPORT_TEST_PG_BIN`, default /usr/lib/postgresql/15/bin); without them
/// the test fails, it does not skip. As root the server runs as the `postgres` OS user.
pub struct PgCluster {
    dir: tempfile::TempDir,
    pub port: u16,
}

impl PgCluster {
    pub fn start() -> PgCluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = PgCluster { dir, port };
        if is_root() {
            let chown = std::process::Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(cluster.dir.path())
                .status()
                .expect("chown");
            assert!(
                chown.success(),
                "chown of the cluster dir to postgres failed"
            );
        }
        cluster.pg(
            "initdb",
            &[
                "-D",
                &cluster.data(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        cluster.resume();
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the (stopped) server again on the same port and data.
    pub fn resume(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        self.pg(
            "pg_ctl",
            &["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "start"],
        );
    }

    /// `pg_ctl stop -m <mode>` (smart, fast or immediate), waiting until it is down.
    pub fn stop(&self, mode: &str) {
        self.pg("pg_ctl", &["-D", &self.data(), "-m", mode, "-w", "stop"]);
    }

    fn pg(&self, tool: &str, args: &[&str]) {
        let out = pg_tool(tool)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {tool} (set HUBPORT_TEST_PG_BIN): {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A PostgreSQL tool, run as the `postgres` OS user when we are root (initdb refuses root).
fn pg_tool(tool: &str) -> std::process::Command {
    let bin = std::env::var("HUBPORT_TEST_PG_BIN")
        .unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into());
    let exe = format!("{bin}/{tool}");
    if is_root() {
        let mut c = std::process::Command::new("runuser");
        c.args(["-u", "postgres", "--", &exe]);
        c
    } else {
        std::process::Command::new(exe)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // Immediate: the data goes with the temp dir anyway.
        let _ = pg_tool("pg_ctl")
            .args(["-D", &self.data(), "-m", "immediate", "-w", "stop"])
            .output();
    }
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}
