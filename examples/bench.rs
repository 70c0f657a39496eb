//! End-to-end import benchmark: a real `hubport serve` process, a generated contacts CSV uploaded
//! over HTTP exactly as a client would, and the database's own bulk loader as the reference.
//!
//! ```text
//! cargo build --release && cargo run --release --example bench -- \
//!     [--backend sqlite|postgres] [--rows N] [--dup-ratio F] [--bad-ratio F] [--seed S] \
//!     [--reimport] [--keep] [--loader-runs N] [--postgres-url URL]
//! ```
//!
//! Steps: generate a seeded CSV in a temp dir → start `target/release/hubport serve` on a fresh
//! database (a SQLite file, or a fresh `bench_<random>` schema in PostgreSQL) → mint a token with
//! `hubport token create` → POST the multipart import with the file streamed from disk → poll the
//! import every ~100 ms, timing `GET /crm/v3/imports/{id}` and `GET /crm/v3/objects/contacts` →
//! with `--reimport`, once the first import is DONE, upload the same file again with the same
//! request and poll it the same way (every row with a valid email now updates an existing contact)
//! → read the server's CPU time → stop the server → check the counters of each import against
//! what was generated → time `sqlite3 .import` or `psql \copy` on the same file, three times
//! (`--loader-runs`), each into a fresh table → print the result block, with ratios against the
//! loader's median run (and a second block for the re-import). Each import and each loader run
//! starts after a `CHECKPOINT` (PostgreSQL) and a `sync` (`settle`), untimed. Exits 1 on any
//! failure or mismatch.
//!
//! Contacts have no writable `number` property in hubport's catalogue, so the numeric-looking
//! column is `zip` (a string property).

use clap::{Parser, ValueEnum};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, String>;

const JWT_SECRET: &str = "hubport-bench-secret-not-for-production-0123456789";
const FILE_NAME: &str = "bench-contacts.csv";
const BOUNDARY: &str = "------------------------hubportbenchboundary9QxT2c";
const POLL_EVERY: Duration = Duration::from_millis(100);
/// The import fails the bench when its counters stop moving for this long.
const STALL_LIMIT: Duration = Duration::from_secs(300);
const COLUMNS: [&str; 9] = [
    "email",
    "firstname",
    "lastname",
    "phone",
    "company",
    "city",
    "lifecyclestage",
    "date_of_birth",
    "zip",
];

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Parser)]
#[command(about = "Benchmark a hubport contacts import end to end")]
struct Args {
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: Backend,
    /// Data rows in the generated CSV (the default is about 120 MB).
    #[arg(long, default_value_t = 1 << 20)]
    rows: u64,
    /// Share of rows that repeat an earlier valid email (UPSERT updates).
    #[arg(long, default_value_t = 0.0)]
    dup_ratio: f64,
    /// Share of rows with an invalid email (row errors).
    #[arg(long, default_value_t = 0.0)]
    bad_ratio: f64,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Times to run the database's bulk loader; the ratios use the median. The loader alone
    /// varied by a quarter between runs on the same machine.
    #[arg(long, default_value_t = 3)]
    loader_runs: usize,
    /// After the first import, upload the same file again (every valid row then updates) and
    /// report that second import too.
    #[arg(long)]
    reimport: bool,
    /// Keep the temp dir (CSV, databases, server log) and the PostgreSQL schemas.
    #[arg(long)]
    keep: bool,
    /// PostgreSQL to use with --backend postgres (trust auth expected), by hubport and the loader
    /// alike. The default connects without TLS, as a database on the same host should be.
    #[arg(
        long,
        default_value = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
    )]
    postgres_url: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Returns whether the counters matched. Every guard (server, schemas, temp dir) is dropped on
/// the way out, so the server is stopped and the schemas dropped on errors too.
fn run(args: &Args) -> Result<bool> {
    validate(args)?;
    let binary = server_binary()?;
    let load_start = load_average();
    let mut dir = tempfile::Builder::new()
        .prefix("hubport-bench-")
        .tempdir()
        .map_err(|e| format!("cannot create a temp dir: {e}"))?;
    dir.disable_cleanup(args.keep);
    let dir_path = dir.path().to_path_buf();

    eprintln!("generating {} rows into {}", args.rows, dir_path.display());
    let data = generate_csv(&dir_path.join(FILE_NAME), args)?;

    let suffix = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let (database_url, schema) = match args.backend {
        Backend::Sqlite => (
            format!("sqlite://{}", dir_path.join("bench.db").display()),
            None,
        ),
        Backend::Postgres => {
            let schema =
                PgSchema::create(&args.postgres_url, &format!("bench_{suffix}"), args.keep)?;
            (
                postgres_url_with_schema(&args.postgres_url, &schema.name),
                Some(schema),
            )
        }
    };
    let env = ServerEnv {
        binary,
        database_url,
        data_dir: dir_path.clone(),
        max_file_rows: args.rows.max(1 << 20),
    };
    let token = env.mint_token()?;
    // Declared after `schema`, so dropped (stopped) before the schema is.
    let mut server = env.start(&dir_path.join("server.log"))?;
    let steal_start = CpuTicks::read();
    let measured = measure(&server, &token, &data, args).map_err(|e| {
        format!(
            "{e}\nlast server log lines:\n{}",
            log_tail(&server.log_path, 20)
        )
    })?;
    let steal_hubport = CpuTicks::stolen_since(steal_start);
    let db_size = database_size(args, &dir_path, schema.as_ref());
    let cpu = CpuTime::read(server.pid());
    server.stop();
    let log = LogSummary::read(&server.log_path);

    let counters = check_counters(&measured.first.polled.import, &data.expect_first());
    let reimport_counters = measured
        .reimport
        .as_ref()
        .map(|pass| check_counters(&pass.polled.import, &data.expect_reimport()));
    let steal_start = CpuTicks::read();
    let loader = run_loader(args, &data, &dir_path, &suffix);
    let steal = (steal_hubport, CpuTicks::stolen_since(steal_start));
    print_report(&Report {
        args,
        load: (load_start, load_average()),
        steal,
        data: &data,
        measured: &measured,
        cpu,
        db_size,
        loader: &loader,
        counters: &counters,
        reimport_counters: reimport_counters.as_ref(),
        log: &log,
    });
    if args.keep {
        eprintln!("kept {}", dir_path.display());
    }
    // A re-import that was asked for but skipped (the first import did not finish DONE) is
    // already a failure of the first import's counters.
    Ok(counters.is_ok() && reimport_counters.as_ref().is_none_or(CounterCheck::is_ok))
}

/// One import of the file: the upload, then polling it to the end.
struct Pass {
    upload: Upload,
    polled: Polled,
}

/// What the server did with the upload(s), measured from outside.
struct Measured {
    first: Pass,
    /// With `--reimport` and a first import that finished DONE.
    reimport: Option<Pass>,
    /// Memory over the whole server run, both imports included.
    hwm_kib: Option<u64>,
    rss_max_kib: u64,
}

/// Upload, poll to the end (twice with `reimport`), and read the server's memory while it is
/// still running.
fn measure(server: &Server, token: &str, data: &Dataset, args: &Args) -> Result<Measured> {
    let rss = RssSampler::start(server.pid());
    let api = Api::new(&server.base, token);
    let passes = (|| -> Result<(Pass, Option<Pass>)> {
        settle(args)?;
        let first = import_pass(&api, data, "import")?;
        let state = first.polled.import["state"].as_str().unwrap_or("?");
        let second = match (args.reimport, state) {
            (false, _) => None,
            (true, "DONE") => {
                settle(args)?;
                Some(import_pass(&api, data, "re-import")?)
            }
            (true, state) => {
                eprintln!("the first import ended {state}: skipping the re-import");
                None
            }
        };
        Ok((first, second))
    })();
    let rss_max_kib = rss.stop();
    let (first, reimport) = passes?;
    Ok(Measured {
        first,
        reimport,
        hwm_kib: proc_status_kib(server.pid(), "VmHWM"),
        rss_max_kib,
    })
}

/// Lets every timed phase (each import, each loader run) start from the same state: the
/// database's dirty pages written out (`CHECKPOINT`, which also recycles its WAL segments) and
/// the kernel's too (`sync`), so that no phase pays for writing out the one before it. Without
/// it a re-import's upload right after a fresh PostgreSQL import took 2–3 s instead of 0.9 s in
/// a third of the runs, and whichever ran after the other paid for its predecessor's writes.
fn settle(args: &Args) -> Result<()> {
    if args.backend == Backend::Postgres {
        psql(&args.postgres_url, "CHECKPOINT")?;
    }
    let status = Command::new("sync")
        .status()
        .map_err(|e| format!("cannot run sync: {e}"))?;
    match status.success() {
        true => Ok(()),
        false => Err(format!("sync failed: {status}")),
    }
}

/// Upload the file (UPSERT by email) and poll that import until it finishes.
fn import_pass(api: &Api, data: &Dataset, what: &str) -> Result<Pass> {
    let upload = upload_import(api, data)?;
    eprintln!(
        "uploaded in {:.2} s; {what} {} processing",
        upload.elapsed.as_secs_f64(),
        upload.import_id
    );
    let polled = poll_until_finished(api, &upload.import_id, data.rows)?;
    Ok(Pass { upload, polled })
}

fn validate(args: &Args) -> Result<()> {
    let share = |v: f64, name: &str| {
        if (0.0..=1.0).contains(&v) {
            Ok(())
        } else {
            Err(format!("{name} must be between 0 and 1, not {v}"))
        }
    };
    share(args.dup_ratio, "--dup-ratio")?;
    share(args.bad_ratio, "--bad-ratio")?;
    if args.dup_ratio + args.bad_ratio > 1.0 {
        return Err("--dup-ratio plus --bad-ratio must not exceed 1".into());
    }
    if args.rows == 0 {
        return Err("--rows must be at least 1".into());
    }
    Ok(())
}

/// `target/release/hubport`, next to this example (`target/release/examples/bench`).
fn server_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot locate the bench: {e}"))?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot locate the target directory")?;
    let binary = profile_dir.join(format!("hubport{}", std::env::consts::EXE_SUFFIX));
    if !binary.is_file() {
        return Err(format!(
            "{} is missing: run `cargo build --release` first",
            binary.display()
        ));
    }
    Ok(binary)
}

// ---- data generation -------------------------------------------------------------------------

/// xorshift64* seeded through splitmix64: reproducible without the rand crate.
struct Rng(u64);

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(splitmix64(seed).max(1))
    }
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        (self.next_u64() >> 11) % n
    }
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const FIRST: [&str; 12] = [
    "Ada",
    "Grace",
    "Alan",
    "Barbara",
    "Edsger",
    "Frances",
    "John",
    "Katherine",
    "Linus",
    "Margaret",
    "Niklaus",
    "Radia",
];
const LAST: [&str; 12] = [
    "Lovelace", "Hopper", "Turing", "Liskov", "Dijkstra", "Allen", "Backus", "Johnson", "Torvalds",
    "Hamilton", "Wirth", "Perlman",
];
// One quoted value with a comma keeps the CSV honest for every parser involved.
const COMPANY: [&str; 8] = [
    "Acme Corp",
    "Globex",
    "\"Initech, LLC\"",
    "Umbrella",
    "Hooli",
    "Stark Industries",
    "Wayne Enterprises",
    "Cyberdyne Systems",
];
const CITY: [&str; 8] = [
    "Boston",
    "Dublin",
    "Berlin",
    "Paris",
    "Lisbon",
    "Toronto",
    "Sydney",
    "Singapore",
];
const STAGES: [&str; 6] = [
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
];

/// The generated file and what importing it must produce.
struct Dataset {
    path: PathBuf,
    bytes: u64,
    rows: u64,
    /// Rows with a new valid email: CREATED_OBJECTS.
    unique: u64,
    /// Rows repeating an earlier valid email: UPDATED_OBJECTS.
    dups: u64,
    /// Rows with an invalid email: ERRORS.
    bad: u64,
}

/// The counters a finished import must show: (name, value).
type Expected = [(&'static str, u64); 4];

impl Dataset {
    /// Into an empty database: each new email creates, each repeat updates, bad emails fail.
    fn expect_first(&self) -> Expected {
        [
            ("TOTAL_ROWS", self.rows),
            ("CREATED_OBJECTS", self.unique),
            ("UPDATED_OBJECTS", self.dups),
            ("ERRORS", self.bad),
        ]
    }

    /// The same file again: every email already exists, so each row with a valid email (new or
    /// repeated in the file) updates and nothing is created; bad emails fail as before.
    fn expect_reimport(&self) -> Expected {
        [
            ("TOTAL_ROWS", self.rows),
            ("CREATED_OBJECTS", 0),
            ("UPDATED_OBJECTS", self.unique + self.dups),
            ("ERRORS", self.bad),
        ]
    }
}

fn generate_csv(path: &Path, args: &Args) -> Result<Dataset> {
    let io = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let mut rng = Rng::new(args.seed);
    let tag = format!(
        "{:08x}",
        splitmix64(args.seed ^ 0xB3AC_4C4E_D1E5_0C11) as u32
    );
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).map_err(io)?);
    writeln!(out, "{}", COLUMNS.join(",")).map_err(io)?;
    let (mut unique, mut dups, mut bad) = (0u64, 0u64, 0u64);
    for i in 0..args.rows {
        let roll = rng.unit();
        let email = if roll < args.bad_ratio {
            bad += 1;
            format!("user{i}.{tag}.at.bench.example")
        } else if roll < args.bad_ratio + args.dup_ratio && unique > 0 {
            dups += 1;
            format!("user{}.{tag}@bench.example", rng.below(unique))
        } else {
            unique += 1;
            format!("user{}.{tag}@bench.example", unique - 1)
        };
        writeln!(
            out,
            "{email},{},{},+1 555 01{:02} {:03},{},{},{},{:02}/{:02}/{},{:05}",
            rng.pick(&FIRST),
            rng.pick(&LAST),
            rng.below(100),
            rng.below(1000),
            rng.pick(&COMPANY),
            rng.pick(&CITY),
            rng.pick(&STAGES),
            1 + rng.below(12),
            1 + rng.below(28),
            1950 + rng.below(56),
            rng.below(100_000),
        )
        .map_err(io)?;
    }
    out.flush().map_err(io)?;
    drop(out);
    let bytes = std::fs::metadata(path).map_err(io)?.len();
    Ok(Dataset {
        path: path.to_path_buf(),
        bytes,
        rows: args.rows,
        unique,
        dups,
        bad,
    })
}

// ---- the server process ----------------------------------------------------------------------

struct ServerEnv {
    binary: PathBuf,
    database_url: String,
    data_dir: PathBuf,
    /// Raises the per-file row cap (HubSpot's 1,048,576) for the "memory stays flat" run at 2×.
    max_file_rows: u64,
}

impl ServerEnv {
    fn command(&self) -> Command {
        let mut c = Command::new(&self.binary);
        c.env("DATABASE_URL", &self.database_url)
            .env("HUBPORT_JWT_SECRET", JWT_SECRET)
            .env("HUBPORT_DATA_DIR", &self.data_dir)
            .env("HUBPORT_LOG_FORMAT", "json")
            .env("HUBPORT_MAX_FILE_ROWS", self.max_file_rows.to_string())
            .env_remove("HUBPORT_BIND");
        c
    }

    /// `hubport token create --portal 1`: the token is the only thing on stdout.
    fn mint_token(&self) -> Result<String> {
        let out = self
            .command()
            .args(["token", "create", "--portal", "1", "--name", "bench"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.binary.display()))?;
        let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !out.status.success() || token.is_empty() {
            return Err(format!(
                "`hubport token create` failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(token)
    }

    fn start(&self, log_path: &Path) -> Result<Server> {
        let port = free_port()?;
        let log = File::create(log_path).map_err(|e| format!("cannot create the log: {e}"))?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        let child = self
            .command()
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.binary.display()))?;
        let mut server = Server {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            log_path: log_path.to_path_buf(),
        };
        server.wait_healthy(Duration::from_secs(60))?;
        Ok(server)
    }
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot find a free port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// A running `hubport serve`; stopped (SIGTERM, then SIGKILL after 15 s) when dropped.
struct Server {
    child: Option<Child>,
    base: String,
    log_path: PathBuf,
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    fn wait_healthy(&mut self, limit: Duration) -> Result<()> {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(2))
            .build();
        let until = Instant::now() + limit;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(format!(
                        "the server exited at start ({status}); log:\n{}",
                        log_tail(&self.log_path, 20)
                    ));
                }
            }
            if agent.get(&format!("{}/health", self.base)).call().is_ok() {
                return Ok(());
            }
            if Instant::now() > until {
                return Err(format!(
                    "the server did not answer /health within {limit:?}; log:\n{}",
                    log_tail(&self.log_path, 20)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let until = Instant::now() + Duration::from_secs(15);
        while Instant::now() < until {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("bench: the server ignored SIGTERM for 15 s; killing it");
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Warnings and errors the server logged (JSON lines).
struct LogSummary {
    warnings: usize,
    errors: usize,
    first: Vec<String>,
}

impl LogSummary {
    fn read(path: &Path) -> LogSummary {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let mut s = LogSummary {
            warnings: 0,
            errors: 0,
            first: Vec::new(),
        };
        for line in text.lines() {
            let level = serde_json::from_str::<Value>(line)
                .ok()
                .and_then(|v| v["level"].as_str().map(str::to_string));
            match level.as_deref() {
                Some("WARN") => s.warnings += 1,
                Some("ERROR") => s.errors += 1,
                // Anything that is not a JSON log line (a panic message, say) counts as an error.
                None if !line.trim().is_empty() => s.errors += 1,
                _ => continue,
            }
            if s.first.len() < 5 {
                s.first.push(line.chars().take(300).collect());
            }
        }
        s
    }
}

// ---- PostgreSQL schemas ----------------------------------------------------------------------

fn psql(url: &str, sql: &str) -> Result<String> {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            sql,
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "psql failed on `{sql}`: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A schema created for the run and dropped (CASCADE) when this is dropped, unless kept.
struct PgSchema {
    url: String,
    name: String,
    keep: bool,
}

impl PgSchema {
    fn create(url: &str, name: &str, keep: bool) -> Result<PgSchema> {
        psql(url, &format!("CREATE SCHEMA {name}"))?;
        Ok(PgSchema {
            url: url.to_string(),
            name: name.to_string(),
            keep,
        })
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("kept PostgreSQL schema {}", self.name);
        } else if let Err(e) = psql(&self.url, &format!("DROP SCHEMA {} CASCADE", self.name)) {
            eprintln!("bench: could not drop schema {}: {e}", self.name);
        }
    }
}

fn postgres_url_with_schema(base: &str, schema: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-csearch_path%3D{schema}")
}

// ---- HTTP ------------------------------------------------------------------------------------

struct Api {
    agent: ureq::Agent,
    base: String,
    auth: String,
}

impl Api {
    fn new(base: &str, token: &str) -> Api {
        Api {
            agent: ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(10))
                .timeout_read(Duration::from_secs(600))
                .timeout_write(Duration::from_secs(600))
                .build(),
            base: base.to_string(),
            auth: format!("Bearer {token}"),
        }
    }

    /// A timed GET that must answer 200 with JSON.
    fn get_json(&self, path: &str) -> Result<(Duration, Value)> {
        let start = Instant::now();
        let resp = self
            .agent
            .get(&format!("{}{path}", self.base))
            .set("Authorization", &self.auth)
            .call();
        let body = read_response(resp, &format!("GET {path}"))?;
        Ok((start.elapsed(), body))
    }
}

fn read_response(
    resp: std::result::Result<ureq::Response, ureq::Error>,
    what: &str,
) -> Result<Value> {
    match resp {
        Ok(r) => r
            .into_json::<Value>()
            .map_err(|e| format!("{what}: unreadable JSON: {e}")),
        Err(ureq::Error::Status(code, r)) => Err(format!(
            "{what}: HTTP {code}: {}",
            r.into_string().unwrap_or_default()
        )),
        Err(e) => Err(format!("{what}: {e}")),
    }
}

fn import_request(rows: u64) -> String {
    let mappings: Vec<Value> = COLUMNS
        .iter()
        .map(|&c| {
            let mut m = json!({"columnObjectTypeId": "0-1", "columnName": c, "propertyName": c});
            if c == "email" {
                m["columnType"] = json!("HUBSPOT_ALTERNATE_ID");
            }
            m
        })
        .collect();
    json!({
        "name": format!("bench {rows} contacts"),
        "importOperations": {"0-1": "UPSERT"},
        "dateFormat": "MONTH_DAY_YEAR",
        "files": [{
            "fileName": FILE_NAME,
            "fileFormat": "CSV",
            "fileImportPage": {"hasHeader": true, "columnMappings": mappings}
        }]
    })
    .to_string()
}

/// The multipart body around the file: (prefix, suffix). The file itself is streamed between.
fn multipart_frame(request: &str) -> (Vec<u8>, Vec<u8>) {
    let mut prefix = String::new();
    let _ = write!(
        prefix,
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"importRequest\"\r\n\r\n{request}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{FILE_NAME}\"\r\n\
         Content-Type: text/csv\r\n\r\n"
    );
    let suffix = format!("\r\n--{BOUNDARY}--\r\n");
    (prefix.into_bytes(), suffix.into_bytes())
}

struct Upload {
    import_id: String,
    elapsed: Duration,
}

fn upload_import(api: &Api, data: &Dataset) -> Result<Upload> {
    let (prefix, suffix) = multipart_frame(&import_request(data.rows));
    let file = File::open(&data.path).map_err(|e| format!("cannot open the CSV: {e}"))?;
    let length = prefix.len() as u64 + data.bytes + suffix.len() as u64;
    let body = (&prefix[..]).chain(file).chain(&suffix[..]);
    let start = Instant::now();
    let resp = api
        .agent
        .post(&format!("{}/crm/v3/imports", api.base))
        .set("Authorization", &api.auth)
        .set(
            "Content-Type",
            &format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .set("Content-Length", &length.to_string())
        .send(body);
    let json = read_response(resp, "POST /crm/v3/imports")?;
    let elapsed = start.elapsed();
    let import_id = json["id"]
        .as_str()
        .ok_or_else(|| format!("POST /crm/v3/imports answered without an id: {json}"))?
        .to_string();
    Ok(Upload { import_id, elapsed })
}

// ---- polling ---------------------------------------------------------------------------------

struct Polled {
    import: Value,
    elapsed: Duration,
    import_latency: Vec<Duration>,
    contacts_latency: Vec<Duration>,
}

fn counter(import: &Value, name: &str) -> u64 {
    import["metadata"]["counters"][name].as_u64().unwrap_or(0)
}

fn poll_until_finished(api: &Api, id: &str, rows: u64) -> Result<Polled> {
    let start = Instant::now();
    let mut polled = Polled {
        import: Value::Null,
        elapsed: Duration::ZERO,
        import_latency: Vec::new(),
        contacts_latency: Vec::new(),
    };
    let (mut last_rows, mut last_change) = (u64::MAX, Instant::now());
    let mut last_progress = Instant::now();
    loop {
        let tick = Instant::now();
        let (latency, import) = api.get_json(&format!("/crm/v3/imports/{id}"))?;
        polled.import_latency.push(latency);
        let state = import["state"].as_str().unwrap_or("?").to_string();
        if ["DONE", "FAILED", "CANCELED"].contains(&state.as_str()) {
            polled.elapsed = start.elapsed();
            polled.import = import;
            return Ok(polled);
        }
        let (latency, _) = api.get_json("/crm/v3/objects/contacts?limit=10")?;
        polled.contacts_latency.push(latency);
        let done = counter(&import, "TOTAL_ROWS");
        if done != last_rows {
            (last_rows, last_change) = (done, Instant::now());
        } else if last_change.elapsed() > STALL_LIMIT {
            return Err(format!(
                "import {id} is stuck in {state} at {done} rows for {STALL_LIMIT:?}"
            ));
        }
        if last_progress.elapsed() >= Duration::from_secs(5) {
            eprintln!(
                "  {state} {done}/{rows} rows after {:.1} s",
                start.elapsed().as_secs_f64()
            );
            last_progress = Instant::now();
        }
        std::thread::sleep(POLL_EVERY.saturating_sub(tick.elapsed()));
    }
}

/// `createdAt` → `updatedAt` of the finished import: processing time on the server's clock.
fn server_processing_secs(import: &Value) -> Option<f64> {
    let at = |k: &str| {
        chrono::DateTime::parse_from_rfc3339(import[k].as_str()?)
            .ok()
            .map(|t| t.timestamp_millis())
    };
    Some((at("updatedAt")? - at("createdAt")?) as f64 / 1000.0)
}

// ---- memory ----------------------------------------------------------------------------------

/// A `kB` line of /proc/<pid>/status (VmRSS, VmHWM), in KiB.
fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Samples the server's VmRSS every 50 ms on its own thread, upload included.
struct RssSampler {
    stop: Arc<AtomicBool>,
    max_kib: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let max_kib = Arc::new(AtomicU64::new(0));
        let (s, m) = (stop.clone(), max_kib.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Some(kib) = proc_status_kib(pid, "VmRSS") {
                    m.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        RssSampler {
            stop,
            max_kib,
            thread: Some(thread),
        }
    }

    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.max_kib.load(Ordering::Relaxed)
    }
}

/// CPU time the server process has used so far (all its threads), from /proc/<pid>/stat.
struct CpuTime {
    user: f64,
    sys: f64,
}

impl CpuTime {
    /// `utime` and `stime` are fields 14 and 15, in clock ticks. The ticks are USER_HZ, which
    /// is 100 on every current Linux architecture (`getconf CLK_TCK`); taken as such rather than
    /// asking sysconf, which would need a libc dependency.
    fn read(pid: u32) -> Option<CpuTime> {
        const CLK_TCK: f64 = 100.0;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Field 2 (comm) is parenthesised and may hold spaces: count from after its last ')',
        // where field 3 starts.
        let rest = &stat[stat.rfind(')')? + 1..];
        let mut fields = rest.split_whitespace().skip(14 - 3);
        let mut ticks = || fields.next()?.parse::<u64>().ok();
        let (utime, stime) = (ticks()?, ticks()?);
        Some(CpuTime {
            user: utime as f64 / CLK_TCK,
            sys: stime as f64 / CLK_TCK,
        })
    }
}

/// The database hubport wrote: SQLite file plus WAL, or the schema's relations.
fn database_size(args: &Args, dir: &Path, schema: Option<&PgSchema>) -> Option<u64> {
    match (args.backend, schema) {
        (Backend::Postgres, Some(s)) => psql(
            &args.postgres_url,
            &format!(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = '{}' AND c.relkind = 'r'",
                s.name
            ),
        )
        .ok()?
        .parse()
        .ok(),
        _ => {
            let size = |name: &str| std::fs::metadata(dir.join(name)).map_or(0, |m| m.len());
            Some(size("bench.db") + size("bench.db-wal"))
        }
    }
}

/// The machine's CPU time so far from `/proc/stat`: (stolen by the hypervisor, all), in ticks.
#[derive(Clone, Copy)]
struct CpuTicks(u64, u64);

impl CpuTicks {
    fn read() -> Option<CpuTicks> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let ticks: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .filter_map(|t| t.parse().ok())
            .collect();
        Some(CpuTicks(*ticks.get(7)?, ticks.iter().take(8).sum()))
    }

    /// The share of CPU time stolen since `start`: a virtual machine's other tenants slow every
    /// figure, and the loader and hubport are not always slowed alike.
    fn stolen_since(start: Option<CpuTicks>) -> Option<f64> {
        let (a, b) = (start?, CpuTicks::read()?);
        let all = b.1.checked_sub(a.1).filter(|&n| n > 0)?;
        Some(b.0.saturating_sub(a.0) as f64 / all as f64)
    }
}

/// The 1-minute load average: other work on the machine skews every figure.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

// ---- checks ----------------------------------------------------------------------------------

struct CounterCheck {
    line: String,
    mismatches: Vec<String>,
}

impl CounterCheck {
    fn is_ok(&self) -> bool {
        self.mismatches.is_empty()
    }
}

fn check_counters(import: &Value, expect: &Expected) -> CounterCheck {
    let mut mismatches = Vec::new();
    let state = import["state"].as_str().unwrap_or("?");
    if state != "DONE" {
        mismatches.push(format!(
            "state {state}, expected DONE ({})",
            import["errorMessage"].as_str().unwrap_or("no errorMessage")
        ));
    }
    let mut line = String::new();
    for &(name, want) in expect {
        let got = counter(import, name);
        let _ = write!(line, " {name}={got}");
        if got != want {
            mismatches.push(format!("{name} is {got}, expected {want}"));
        }
    }
    CounterCheck { line, mismatches }
}

// ---- the bulk-loader reference ---------------------------------------------------------------

enum Loader {
    Timed {
        label: String,
        /// The median run.
        elapsed: Duration,
        /// Every run, fastest first.
        runs: Vec<Duration>,
        note: Option<String>,
    },
    Unavailable(String),
}

fn run_loader(args: &Args, data: &Dataset, dir: &Path, suffix: &str) -> Loader {
    // With duplicate emails a unique index would make the loader reject rows (sqlite3) or abort
    // (COPY), so the loader then gets a plain index and its figure is only indicative.
    let unique = data.dups == 0;
    let note = (!unique).then(|| {
        "indicative only: the file repeats emails, so the loader used a non-unique index and \
         inserted every row"
            .to_string()
    });
    let mut runs = Vec::new();
    let mut label = String::new();
    for n in 0..args.loader_runs.max(1) {
        if let Err(e) = settle(args) {
            return Loader::Unavailable(e);
        }
        let result = match args.backend {
            Backend::Sqlite => sqlite_loader(data, dir, unique),
            Backend::Postgres => postgres_loader(args, data, &format!("{suffix}_{n}"), unique),
        };
        match result {
            Ok((l, elapsed)) => {
                label = l;
                runs.push(elapsed);
            }
            Err(e) => return Loader::Unavailable(e),
        }
    }
    runs.sort();
    Loader::Timed {
        label,
        elapsed: runs[runs.len() / 2],
        runs,
        note,
    }
}

fn column_defs() -> String {
    COLUMNS.map(|c| format!("{c} TEXT")).join(", ")
}

/// `sqlite3 .import` into a fresh file, into a table with exactly the CSV's columns and a unique
/// index on `email` alone. `.import` refuses a table with more columns than the file (and a
/// generated column counts), so there is no `portal_id`: importing through a view whose INSTEAD OF
/// trigger adds `portal_id = 1` works but makes the loader ~25% slower, which would flatter hubport.
fn sqlite_loader(data: &Dataset, dir: &Path, unique: bool) -> Result<(String, Duration)> {
    let db = dir.join("loader.db");
    let _ = std::fs::remove_file(&db);
    let script = format!(
        "PRAGMA cache_size=-65536;\n\
         CREATE TABLE contacts({cols});\n\
         CREATE {uniq}INDEX contacts_email ON contacts(email);\n\
         .mode csv\n\
         .import --skip 1 \"{file}\" contacts\n\
         SELECT count(*) FROM contacts;\n",
        cols = column_defs(),
        uniq = if unique { "UNIQUE " } else { "" },
        file = data.path.display(),
    );
    let start = Instant::now();
    let mut child = Command::new("sqlite3")
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("sqlite3 CLI: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| format!("sqlite3: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("sqlite3: {e}"))?;
    let elapsed = start.elapsed();
    let loaded = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || loaded != data.rows.to_string() || !stderr.trim().is_empty() {
        return Err(format!(
            "sqlite3 .import loaded {loaded} of {} rows: {}",
            data.rows,
            stderr.lines().take(3).collect::<Vec<_>>().join(" | ")
        ));
    }
    let _ = std::fs::remove_file(&db);
    let index = if unique { "unique index" } else { "index" };
    Ok((
        format!("sqlite3 .import, cache 64 MiB, {index} on email only"),
        elapsed,
    ))
}

/// `psql \copy` into `bench_loader_<random>.contacts` (portal_id defaulting to 1, unique index
/// on (portal_id, email) created before the load, as hubport's is).
fn postgres_loader(
    args: &Args,
    data: &Dataset,
    suffix: &str,
    unique: bool,
) -> Result<(String, Duration)> {
    let schema = PgSchema::create(
        &args.postgres_url,
        &format!("bench_loader_{suffix}"),
        args.keep,
    )?;
    let s = &schema.name;
    psql(
        &args.postgres_url,
        &format!(
            "CREATE TABLE {s}.contacts(portal_id BIGINT NOT NULL DEFAULT 1, {cols}); \
             CREATE {uniq}INDEX contacts_portal_email ON {s}.contacts(portal_id, email)",
            cols = column_defs(),
            uniq = if unique { "UNIQUE " } else { "" },
        ),
    )?;
    let path = data.path.display().to_string().replace('\'', "''");
    let start = Instant::now();
    psql(
        &args.postgres_url,
        &format!(
            "\\copy {s}.contacts({names}) FROM '{path}' WITH (FORMAT csv, HEADER true)",
            names = COLUMNS.join(", ")
        ),
    )?;
    let elapsed = start.elapsed();
    let loaded = psql(
        &args.postgres_url,
        &format!("SELECT count(*) FROM {s}.contacts"),
    )?;
    if loaded != data.rows.to_string() {
        return Err(format!("psql \\copy loaded {loaded} of {} rows", data.rows));
    }
    let index = if unique { "unique index" } else { "index" };
    Ok((
        format!("psql \\copy, {index} on (portal_id, email)"),
        elapsed,
    ))
}

// ---- report ----------------------------------------------------------------------------------

struct Report<'a> {
    args: &'a Args,
    /// 1-minute load average before generating and after the loader.
    load: (Option<f64>, Option<f64>),
    /// Share of CPU time the host gave other guests, during hubport's imports and the loader.
    steal: (Option<f64>, Option<f64>),
    data: &'a Dataset,
    measured: &'a Measured,
    /// The server's CPU time just before it was stopped (both imports with `--reimport`).
    cpu: Option<CpuTime>,
    db_size: Option<u64>,
    loader: &'a Loader,
    counters: &'a CounterCheck,
    /// With `--reimport` and a first import that finished DONE.
    reimport_counters: Option<&'a CounterCheck>,
    log: &'a LogSummary,
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let groups: Vec<&str> = digits
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|g| std::str::from_utf8(g).unwrap_or_default())
        .collect();
    groups.join(",")
}

/// "p50 1.2 ms p99 8.9 ms (n=110)" with nearest-rank percentiles.
fn percentiles(samples: &[Duration]) -> String {
    if samples.is_empty() {
        return "no samples".into();
    }
    let mut v = samples.to_vec();
    v.sort();
    let rank = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "p50 {:.1} ms p99 {:.1} ms (n={})",
        ms(rank(0.50)),
        ms(rank(0.99)),
        v.len()
    )
}

/// Prints the upload / processing / total lines of one import; returns its total and rate.
fn print_pass(pass: &Pass, rows: u64) -> Duration {
    let (upload, polled) = (&pass.upload, &pass.polled);
    let total = upload.elapsed + polled.elapsed;
    let rate = rows as f64 / total.as_secs_f64();
    println!("upload         {:6.2} s", upload.elapsed.as_secs_f64());
    let server_clock = server_processing_secs(&polled.import)
        .map(|s| format!("  (server clock createdAt→updatedAt {s:.2} s)"))
        .unwrap_or_default();
    println!(
        "processing     {:6.2} s{server_clock}",
        polled.elapsed.as_secs_f64()
    );
    println!(
        "total (upload→DONE) {:.2} s   {} rows/s",
        total.as_secs_f64(),
        thousands(rate as u64)
    );
    total
}

fn print_latency(polled: &Polled, what: &str) {
    println!(
        "API latency during {what}: GET import {}; GET contacts {}",
        percentiles(&polled.import_latency),
        percentiles(&polled.contacts_latency)
    );
}

/// "ratio <label> 1.23  (note)" against the loader's time, or nothing without a loader figure.
fn print_ratio(loader: &Loader, label: &str, total: Duration) {
    if let Loader::Timed { elapsed, note, .. } = loader {
        let note = note
            .as_deref()
            .map(|n| format!("  ({n})"))
            .unwrap_or_default();
        println!(
            "ratio {label}/loader {:.2}{note}",
            total.as_secs_f64() / elapsed.as_secs_f64()
        );
    }
}

fn print_counters(counters: &CounterCheck) {
    if counters.is_ok() {
        println!("counters OK:{}", counters.line);
    } else {
        println!("!!! COUNTERS MISMATCH:{}", counters.line);
        for m in &counters.mismatches {
            println!("!!!   {m}");
        }
    }
}

fn print_report(r: &Report) {
    let first = &r.measured.first;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    // With --reimport the server-wide figures (memory, CPU, database size) cover both imports.
    let whole_run = if r.args.reimport {
        " (whole server run: import + re-import)"
    } else {
        ""
    };
    println!();
    println!(
        "hubport bench  backend={} rows={} file={} cores={cores} seed={} dup-ratio={} bad-ratio={}{}",
        r.args.backend.name(),
        r.data.rows,
        mib(r.data.bytes),
        r.args.seed,
        r.args.dup_ratio,
        r.args.bad_ratio,
        if r.args.reimport { " reimport" } else { "" }
    );
    if r.args.backend == Backend::Postgres {
        println!("postgres (hubport and loader) {}", r.args.postgres_url);
    }
    let total = print_pass(first, r.data.rows);
    let hwm = r.measured.hwm_kib.map_or("unavailable".into(), |k| {
        format!("{} (VmHWM)", mib(k * 1024))
    });
    println!(
        "server peak RSS{whole_run} {hwm}; max sampled VmRSS {}",
        mib(r.measured.rss_max_kib * 1024)
    );
    match &r.cpu {
        Some(cpu) => println!(
            "server CPU{whole_run} {:.1} s (user {:.1} s, sys {:.1} s)",
            cpu.user + cpu.sys,
            cpu.user,
            cpu.sys
        ),
        None => println!("server CPU{whole_run} unavailable"),
    }
    print_latency(&first.polled, "import");
    if let Some(size) = r.db_size {
        let uploads = if r.measured.reimport.is_some() {
            "both stored uploads"
        } else {
            "the stored upload"
        };
        println!("database size  {} (includes {uploads})", mib(size));
    }
    match r.loader {
        Loader::Timed {
            label,
            elapsed,
            runs,
            ..
        } => {
            let all: Vec<String> = runs
                .iter()
                .map(|r| format!("{:.2}", r.as_secs_f64()))
                .collect();
            println!(
                "loader ({label}) {:.2} s  (median of {} runs: {} s)",
                elapsed.as_secs_f64(),
                runs.len(),
                all.join(", ")
            );
        }
        Loader::Unavailable(why) => println!("loader: not available ({why})"),
    }
    print_ratio(r.loader, "hubport", total);
    println!(
        "server log: {} warnings, {} errors",
        r.log.warnings, r.log.errors
    );
    for line in &r.log.first {
        println!("  {line}");
    }
    let load = |l: Option<f64>| l.map_or("?".into(), |l| format!("{l:.2}"));
    // Only the figure before the run is free of the bench's own load.
    let busy = r.load.0.is_some_and(|l| l > cores as f64 * 0.5);
    println!(
        "load average (1 min) before {} after {}{}",
        load(r.load.0),
        load(r.load.1),
        if busy {
            "  (the machine was busy before the run: timings are noisy)"
        } else {
            ""
        }
    );
    let pct = |s: Option<f64>| s.map_or("?".into(), |s| format!("{:.0} %", s * 100.0));
    println!(
        "CPU stolen by the host: {} during hubport's imports, {} during the loader",
        pct(r.steal.0),
        pct(r.steal.1)
    );
    print_counters(r.counters);

    if !r.args.reimport {
        return;
    }
    println!();
    println!("re-import (every row updates)");
    match (&r.measured.reimport, r.reimport_counters) {
        (Some(pass), Some(counters)) => {
            let total = print_pass(pass, r.data.rows);
            print_latency(&pass.polled, "re-import");
            print_ratio(r.loader, "re-import", total);
            print_counters(counters);
        }
        _ => println!("!!! skipped: the first import did not finish DONE"),
    }
}
