//! Test helpers for retort: a fresh, isolated database on each backend, for tests that run in
//! parallel.
//!
//! [`backends`] gives one [`TestDb`] per reachable backend:
//!
//! - SQLite: a new temporary file, removed afterwards;
//! - PostgreSQL: a new schema `retort_<pid>_<n>_<nanos>`, selected through the URL's
//!   `options=-csearch_path=...` and dropped (CASCADE) afterwards;
//! - MySQL/MariaDB: a new database of that name (utf8mb4), dropped afterwards.
//!
//! The servers come from `RETORT_POSTGRES_URL` and `RETORT_MYSQL_URL`, defaulting to
//! `postgresql://postgres@127.0.0.1:5432/test` and `mysql://root@127.0.0.1:3306/test`. A server
//! that cannot be reached is skipped with a loud message on stderr — or, with
//! `RETORT_REQUIRE_ALL_BACKENDS=1`, fails the test. Reachability is checked once per process.
//!
//! [`proxy::FaultProxy`] sits between retort and a server to cut connections at chosen
//! moments; [`TestDb::fault_proxy`] puts one in front of a test database.
//!
//! ```no_run
//! retort_testkit::for_each_backend(|db| {
//!     let mut conn = db.engine().connect().unwrap();
//!     conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY)", &[]).unwrap();
//! });
//! ```

#![warn(missing_docs)]

pub mod proxy;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use retort_core::{Connection, Engine, EngineBuilder, Url};

/// The environment variable naming the PostgreSQL server to test against.
pub const POSTGRES_URL_VAR: &str = "RETORT_POSTGRES_URL";
/// The environment variable naming the MySQL/MariaDB server to test against.
pub const MYSQL_URL_VAR: &str = "RETORT_MYSQL_URL";
/// Set to `1` to make an unreachable backend a test failure instead of a skip.
pub const REQUIRE_ALL_VAR: &str = "RETORT_REQUIRE_ALL_BACKENDS";

const DEFAULT_POSTGRES_URL: &str = "postgresql://postgres@127.0.0.1:5432/test";
const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// A name no other test in any process uses: `retort_<pid>_<counter>_<nanos>`.
pub fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("retort_{}_{n}_{nanos}", std::process::id())
}

/// Whether unreachable backends fail rather than skip.
pub fn require_all_backends() -> bool {
    std::env::var(REQUIRE_ALL_VAR).is_ok_and(|v| v == "1")
}

/// One backend's fresh database, removed when dropped.
pub struct TestDb {
    name: &'static str,
    url: Url,
    engine: Engine,
    cleanup: Cleanup,
}

enum Cleanup {
    File(PathBuf),
    Schema(String),
    Database(String),
}

impl TestDb {
    /// An engine on the test database (default options).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The backend: `"sqlite"`, `"postgresql"` or `"mysql"`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The URL of the test database.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// A builder for another engine on the same database, to set pool options.
    pub fn builder(&self) -> EngineBuilder {
        Engine::builder(&self.url)
    }

    /// A [`FaultProxy`](proxy::FaultProxy) in front of this database's server; its
    /// [`url`](proxy::FaultProxy::url) reaches this database through it. `None` on SQLite.
    ///
    /// # Panics
    ///
    /// When the proxy cannot listen on a local port.
    pub fn fault_proxy(&self) -> Option<proxy::FaultProxy> {
        proxy::Wire::for_url(&self.url)?;
        Some(
            proxy::FaultProxy::for_url(&self.url)
                .unwrap_or_else(|e| panic!("starting the fault proxy: {e}")),
        )
    }

    /// The server's id for the session behind `conn` (`pg_backend_pid()`, `CONNECTION_ID()`);
    /// `None` on SQLite, which has no server.
    pub fn backend_pid(&self, conn: &mut Connection) -> Option<i64> {
        let sql = match self.name {
            "postgresql" => "SELECT pg_backend_pid()",
            "mysql" => "SELECT CONNECTION_ID()",
            _ => return None,
        };
        let pid = conn
            .exec_driver_sql(sql, &[])
            .and_then(|r| r.scalar())
            .unwrap_or_else(|e| panic!("reading the backend pid: {e}"));
        Some(pid)
    }

    /// Kills server session `pid` from another connection (`pg_terminate_backend`, `KILL`)
    /// and waits until the server has let it go.
    pub fn kill_backend(&self, pid: i64) {
        let (kill, alive) = match self.name {
            "postgresql" => (
                format!("SELECT pg_terminate_backend({pid})"),
                format!("SELECT count(*) FROM pg_stat_activity WHERE pid = {pid}"),
            ),
            "mysql" => (
                format!("KILL {pid}"),
                format!("SELECT count(*) FROM information_schema.PROCESSLIST WHERE ID = {pid}"),
            ),
            other => panic!("{other} has no server sessions to kill"),
        };
        let run = |sql: &str| -> retort_core::Result<i64> {
            let result = self.engine.connect()?.exec_driver_sql(sql, &[])?;
            if result.returns_rows() {
                result.scalar()
            } else {
                Ok(0)
            }
        };
        run(&kill).unwrap_or_else(|e| panic!("killing session {pid}: {e}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while run(&alive).unwrap_or_else(|e| panic!("watching session {pid}: {e}")) > 0 {
            assert!(Instant::now() < deadline, "session {pid} did not end");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `sql` with each `?` outside quotes replaced by the dialect's placeholder (`$1`, `$2`,
    /// ... on PostgreSQL), for writing raw SQL once for every backend.
    pub fn sql(&self, sql: &str) -> String {
        let dialect = self.engine.dialect();
        let mut out = String::with_capacity(sql.len());
        let mut index = 0;
        let mut quote: Option<char> = None;
        for c in sql.chars() {
            match (quote, c) {
                (None, '?') => {
                    index += 1;
                    dialect.placeholder(index, &mut out);
                }
                (None, '\'' | '"' | '`') => {
                    quote = Some(c);
                    out.push(c);
                }
                (Some(q), c) if c == q => {
                    quote = None;
                    out.push(c);
                }
                _ => out.push(c),
            }
        }
        out
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let result = match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-journal", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
                Ok(())
            }
            Cleanup::Schema(schema) => admin(Backend::Postgres).map_or(Ok(()), |admin| {
                let mut conn = admin.connect()?;
                conn.exec_driver_sql("SET lock_timeout = '10s'", &[])?;
                let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", quoted(admin, schema));
                conn.exec_driver_sql(&sql, &[]).map(drop)
            }),
            Cleanup::Database(db) => admin(Backend::MySql).map_or(Ok(()), |admin| {
                let sql = format!("DROP DATABASE IF EXISTS {}", quoted(admin, db));
                admin.connect()?.exec_driver_sql(&sql, &[]).map(drop)
            }),
        };
        if let Err(e) = result {
            eprintln!(
                "retort-testkit: could not remove the {} test database: {e}",
                self.name
            );
        }
    }
}

fn quoted(engine: &Engine, ident: &str) -> String {
    let mut out = String::new();
    engine.dialect().quote_identifier(ident, &mut out);
    out
}

#[derive(Clone, Copy)]
enum Backend {
    Postgres,
    MySql,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgresql",
            Backend::MySql => "mysql",
        }
    }

    fn base_url(self) -> String {
        let (var, default) = match self {
            Backend::Postgres => (POSTGRES_URL_VAR, DEFAULT_POSTGRES_URL),
            Backend::MySql => (MYSQL_URL_VAR, DEFAULT_MYSQL_URL),
        };
        std::env::var(var).unwrap_or_else(|_| default.to_owned())
    }
}

/// An engine on the server's base database, for creating and dropping test databases; `None`
/// when the server is unreachable (checked once per process).
fn admin(backend: Backend) -> Option<&'static Engine> {
    static POSTGRES: OnceLock<Option<Engine>> = OnceLock::new();
    static MYSQL: OnceLock<Option<Engine>> = OnceLock::new();
    let cell = match backend {
        Backend::Postgres => &POSTGRES,
        Backend::MySql => &MYSQL,
    };
    cell.get_or_init(|| {
        let url = backend.base_url();
        let reach = || -> retort_core::Result<Engine> {
            let engine = Engine::builder(url.as_str())
                .pool_size(4)
                .pool_timeout(Duration::from_secs(10))
                .build()?;
            engine.connect()?.exec_driver_sql("SELECT 1", &[])?;
            Ok(engine)
        };
        match reach() {
            Ok(engine) => Some(engine),
            Err(e) => {
                let shown = Url::parse(&url).map_or_else(|_| url.clone(), |u| u.to_string());
                if require_all_backends() {
                    panic!(
                        "{} is required ({REQUIRE_ALL_VAR}=1) but cannot be reached at {shown}: {e}",
                        backend.name()
                    );
                }
                eprintln!(
                    "\n!!!!!!!!!! SKIPPING {} tests: cannot connect to {shown}: {e}; \
                     set {REQUIRE_ALL_VAR}=1 to make this a failure !!!!!!!!!!\n",
                    backend.name()
                );
                None
            }
        }
    })
    .as_ref()
}

/// A fresh SQLite database in a temporary file.
pub fn sqlite() -> TestDb {
    let path = std::env::temp_dir().join(format!("{}.db", unique_name()));
    let url = Url::parse("sqlite://")
        .map(|u| u.with_database(Some(&path.to_string_lossy())))
        .unwrap_or_else(|e| panic!("building the sqlite test URL: {e}"));
    let engine = retort_core::create_engine(&url)
        .unwrap_or_else(|e| panic!("creating the sqlite test engine: {e}"));
    TestDb {
        name: "sqlite",
        url,
        engine,
        cleanup: Cleanup::File(path),
    }
}

/// A fresh PostgreSQL schema, or `None` when the server is unreachable.
pub fn postgresql() -> Option<TestDb> {
    let admin = admin(Backend::Postgres)?;
    let schema = unique_name();
    let create = format!("CREATE SCHEMA {}", quoted(admin, &schema));
    admin
        .connect()
        .and_then(|mut c| c.exec_driver_sql(&create, &[]))
        .unwrap_or_else(|e| panic!("creating the PostgreSQL test schema: {e}"));
    let options = match admin.url().query_value("options") {
        Some(existing) => format!("{existing} -csearch_path={schema}"),
        None => format!("-csearch_path={schema}"),
    };
    let url = admin.url().clone().with_query_value("options", &options);
    let engine = retort_core::create_engine(&url)
        .unwrap_or_else(|e| panic!("creating the PostgreSQL test engine: {e}"));
    Some(TestDb {
        name: "postgresql",
        url,
        engine,
        cleanup: Cleanup::Schema(schema),
    })
}

/// A fresh MySQL/MariaDB database, or `None` when the server is unreachable.
pub fn mysql() -> Option<TestDb> {
    let admin = admin(Backend::MySql)?;
    let db = unique_name();
    let create = format!(
        "CREATE DATABASE {} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
        quoted(admin, &db)
    );
    admin
        .connect()
        .and_then(|mut c| c.exec_driver_sql(&create, &[]))
        .unwrap_or_else(|e| panic!("creating the MySQL test database: {e}"));
    let url = admin.url().clone().with_database(Some(&db));
    let engine = retort_core::create_engine(&url)
        .unwrap_or_else(|e| panic!("creating the MySQL test engine: {e}"));
    Some(TestDb {
        name: "mysql",
        url,
        engine,
        cleanup: Cleanup::Database(db),
    })
}

/// A fresh database on every reachable backend: SQLite always, then PostgreSQL and
/// MySQL/MariaDB.
pub fn backends() -> Vec<TestDb> {
    let mut dbs = vec![sqlite()];
    dbs.extend(postgresql());
    dbs.extend(mysql());
    dbs
}

/// Runs `f` once per reachable backend on a fresh database, naming the backend on stderr
/// first (so a failure's output says which one failed).
pub fn for_each_backend(mut f: impl FnMut(&TestDb)) {
    for db in backends() {
        eprintln!("--- backend: {}", db.name());
        f(&db);
    }
}
