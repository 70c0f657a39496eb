//! The `hubport` binary: serve (the default), migrate, and token management.

use clap::{Args, Parser, Subcommand};
use hubport::config::Config;
use hubport::crm::PortalId;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

/// The import pipeline hands every row from the parsing thread to the writing thread; glibc's
/// malloc frees such cross-thread allocations under an arena lock, which profiled at a quarter of
/// the writer's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "hubport",
    version,
    about = "HubSpot-compatible CRM imports API server"
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
    /// sqlite://<path> or postgres://… (default: sqlite://<data dir>/hubport.db)
    #[arg(long, env = "DATABASE_URL", global = true)]
    database_url: Option<String>,
    /// Where the default SQLite database lives.
    #[arg(
        long,
        env = "HUBPORT_DATA_DIR",
        default_value = "./hubport-data",
        global = true
    )]
    data_dir: PathBuf,
    /// Secret that signs API tokens (default: generated once and kept in the database).
    #[arg(
        long,
        env = "HUBPORT_JWT_SECRET",
        hide_env_values = true,
        global = true
    )]
    jwt_secret: Option<String>,
    /// Log format: pretty or json.
    #[arg(
        long,
        env = "HUBPORT_LOG_FORMAT",
        default_value = "pretty",
        global = true
    )]
    log_format: String,
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HUBPORT_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    /// Serve the API only; run `hubport serve` with a worker elsewhere.
    #[arg(long)]
    no_worker: bool,
    /// Rows the import worker plans and checkpoints together (twice as many on PostgreSQL while
    /// an import's batches only create records).
    #[arg(long, env = "HUBPORT_BATCH_ROWS", default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    batch_rows: u32,
    /// Milliseconds batches keep joining one transaction (0: one transaction per batch).
    #[arg(long, env = "HUBPORT_GROUP_COMMIT_MS", default_value_t = 200, value_parser = clap::value_parser!(u64).range(0..=5000))]
    group_commit_ms: u64,
    /// Seconds a worker may go without checkpointing before another may take its import over.
    #[arg(long, env = "HUBPORT_LEASE_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    lease_secs: u64,
    /// How often (ms) an idle worker polls for imports created by other nodes.
    #[arg(long, env = "HUBPORT_POLL_MS", default_value_t = 500, value_parser = clap::value_parser!(u64).range(10..))]
    poll_ms: u64,
    /// Requests per key per rolling 10 s (a key's --per-10s overrides it).
    #[arg(long, env = "HUBPORT_RATE_LIMIT_PER_10S", default_value_t = 190, value_parser = clap::value_parser!(u32).range(1..))]
    rate_limit_per_10s: u32,
    /// Requests per key per UTC day, counted over every node (a key's --per-day overrides it).
    #[arg(long, env = "HUBPORT_RATE_LIMIT_PER_DAY", default_value_t = 625_000, value_parser = clap::value_parser!(u32).range(1..))]
    rate_limit_per_day: u32,
    /// How often (ms) this node adds its daily request counts to the database and reads back
    /// every node's totals.
    #[arg(long, env = "HUBPORT_RATE_LIMIT_SYNC_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..))]
    rate_limit_sync_ms: u64,
    /// Largest file an import may upload, in bytes (the upload is cut off there).
    #[arg(long, env = "HUBPORT_MAX_FILE_BYTES", default_value_t = 512 * 1024 * 1024)]
    max_file_bytes: u64,
    /// Most data rows one file may hold.
    #[arg(long, env = "HUBPORT_MAX_FILE_ROWS", default_value_t = 1_048_576)]
    max_file_rows: u64,
    /// Most rows a portal may import in a rolling 24 hours.
    #[arg(long, env = "HUBPORT_MAX_ROWS_PER_DAY", default_value_t = 80_000_000)]
    max_rows_per_day: u64,
    /// Imports of one portal processing at once; later ones wait DEFERRED, in order.
    #[arg(long, env = "HUBPORT_MAX_CONCURRENT_IMPORTS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    max_concurrent_imports: u32,
    /// Failed authentications per client address per 10 s before the address is refused.
    #[arg(long, env = "HUBPORT_AUTH_FAILURES_PER_10S", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    auth_failures_per_10s: u32,
    /// Days an ended import's uploaded bytes are kept (0: removed at the next sweep).
    #[arg(long, env = "HUBPORT_UPLOAD_RETENTION_DAYS", default_value_t = 7)]
    upload_retention_days: u64,
    /// Import worker threads in this process.
    #[arg(long, env = "HUBPORT_WORKERS", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    workers: u64,
    /// Database connections per process.
    #[arg(long, env = "HUBPORT_DB_POOL_SIZE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(2..=200))]
    pool_size: u32,
    /// Milliseconds a request waits for a database connection before answering 503.
    #[arg(long, env = "HUBPORT_DB_TIMEOUT_MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(100..))]
    db_timeout_ms: u64,
}

impl ServeArgs {
    fn apply(self, config: &mut Config) {
        config.bind = self.bind;
        config.run_worker = !self.no_worker;
        config.batch_rows = self.batch_rows as usize;
        config.group_commit = std::time::Duration::from_millis(self.group_commit_ms);
        config.lease = std::time::Duration::from_secs(self.lease_secs);
        config.poll_interval = std::time::Duration::from_millis(self.poll_ms);
        config.pool_size = self.pool_size;
        config.db_timeout = std::time::Duration::from_millis(self.db_timeout_ms);
        config.rate_limit_per_10s = self.rate_limit_per_10s;
        config.rate_limit_per_day = self.rate_limit_per_day;
        config.rate_limit_sync = std::time::Duration::from_millis(self.rate_limit_sync_ms);
        config.max_file_bytes = self.max_file_bytes;
        config.max_file_rows = self.max_file_rows;
        config.max_rows_per_day = self.max_rows_per_day;
        config.max_concurrent_imports = self.max_concurrent_imports;
        config.workers = self.workers as usize;
        config.auth_failures_per_10s = self.auth_failures_per_10s;
        config.upload_retention =
            std::time::Duration::from_secs(self.upload_retention_days * 24 * 3600);
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API and the import worker (the default).
    Serve(ServeArgs),
    /// Run only the import worker (no HTTP API); scale it apart from `serve --no-worker`.
    Worker(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print the OpenAPI document (as committed in openapi/hubport.json).
    Openapi,
    /// Import a CSV file into a running hubport, following it with a progress bar.
    Import {
        file: PathBuf,
        /// contacts, companies or deals.
        #[arg(long, default_value = "contacts")]
        object: String,
        /// "Column=property" (repeatable); by default a column maps to its name lower-cased
        /// without spaces ("First Name" → firstname). "Column=" leaves a column out.
        #[arg(long = "map")]
        maps: Vec<String>,
        /// CREATE, UPDATE or UPSERT.
        #[arg(long, default_value = "UPSERT")]
        operation: String,
        /// MONTH_DAY_YEAR, DAY_MONTH_YEAR or YEAR_MONTH_DAY.
        #[arg(long, default_value = "MONTH_DAY_YEAR")]
        date_format: String,
        #[arg(long, env = "HUBPORT_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, env = "HUBPORT_TOKEN", hide_env_values = true)]
        token: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API key and print its Bearer token (and nothing else) on stdout.
    Create {
        #[arg(long)]
        portal: u64,
        /// Comma-separated scopes (default: every scope hubport knows).
        #[arg(long)]
        scopes: Option<String>,
        #[arg(long, default_value = "cli")]
        name: String,
        /// This key's requests per 10 s (default: the server's setting).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        per_10s: Option<u32>,
        /// This key's requests per day (default: the server's setting).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        per_day: Option<u32>,
    },
    /// List API keys.
    List,
    /// Revoke an API key: its tokens stop working at once.
    Revoke { id: i64 },
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,actix_server=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log_format);
    let database_url = cli
        .database_url
        .clone()
        .unwrap_or_else(|| Config::default_database_url(&cli.data_dir));
    let mut config = Config::with_database(database_url, cli.data_dir.clone());
    config.jwt_secret = cli.jwt_secret.clone();
    match run(cli.command.unwrap_or(Command::Serve(cli.serve)), config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hubport: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command, mut config: Config) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        Command::Serve(args) => {
            args.apply(&mut config);
            tracing::info!(?config, "starting");
            let listener = TcpListener::bind(&config.bind)
                .map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
            hubport::run(config, listener, |_| {})?;
        }
        Command::Openapi => print!("{}", hubport::http::openapi::document_json()),
        Command::Import {
            file,
            object,
            maps,
            operation,
            date_format,
            url,
            token,
        } => {
            let object = hubport::crm::ObjectType::parse(&object)
                .ok_or("--object must be contacts, companies or deals")?;
            let args = hubport::client::ImportArgs {
                file: &file,
                object,
                maps: &maps,
                operation: &operation,
                date_format: &date_format,
                url: url.trim_end_matches('/'),
                token: &token,
            };
            let state = hubport::client::run_import(&args)?;
            if state != "DONE" {
                return Err(format!("the import ended {state}").into());
            }
        }
        Command::Worker(args) => {
            args.apply(&mut config);
            tracing::info!(?config, "starting the worker");
            hubport::run_worker(config)?;
        }
        Command::Migrate => {
            hubport::open_database(&config)?;
            eprintln!("migrations applied");
        }
        Command::Token(t) => {
            let db = hubport::open_database(&config)?;
            match t {
                TokenCommand::Create {
                    portal,
                    scopes,
                    name,
                    per_10s,
                    per_day,
                } => {
                    let portal = i64::try_from(portal).map_err(|_| "--portal is too large")?;
                    let scopes = hubport::auth::parse_scopes(scopes.as_deref())?;
                    let key = db.write(|c| {
                        hubport::db::keys::create(
                            c,
                            PortalId(portal),
                            &name,
                            &scopes,
                            hubport::db::keys::RateOverrides { per_10s, per_day },
                        )
                    })?;
                    let tokens = hubport::auth::Tokens::load(&db, &config)?;
                    println!("{}", tokens.mint(&key));
                    eprintln!("created key {} for portal {portal}", key.id);
                }
                TokenCommand::List => {
                    println!(
                        "{:<6} {:<12} {:<20} {:<24} {:<10} scopes",
                        "id", "portal", "name", "created", "state"
                    );
                    for k in hubport::db::keys::list(&mut *db.conn()?)? {
                        let state = if k.revoked_at.is_some() {
                            "revoked"
                        } else {
                            "active"
                        };
                        println!(
                            "{:<6} {:<12} {:<20} {:<24} {:<10} {}",
                            k.id,
                            k.portal_id,
                            k.name,
                            k.created_at.format("%Y-%m-%d %H:%M:%S"),
                            state,
                            k.scopes
                        );
                    }
                }
                TokenCommand::Revoke { id } => {
                    if !db.write(|c| hubport::db::keys::revoke(c, id))? {
                        return Err(format!("no active key with id {id}").into());
                    }
                    eprintln!("key {id} revoked");
                }
            }
        }
    }
    Ok(())
}
