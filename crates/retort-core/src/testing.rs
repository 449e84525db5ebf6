//! Fresh databases for tests: one per test, on SQLite, PostgreSQL or MySQL/MariaDB, removed when
//! the test is done. This is what `#[retort::test]` runs on; it uses only the [`Engine`] API.
//!
//! A [`TestDatabase`] is
//!
//! - on SQLite, a new file in the temporary directory, deleted afterwards;
//! - on PostgreSQL, a new schema on the server, made the connections' `search_path` (through
//!   the URL's `options=-csearch_path=...`) and dropped with `CASCADE` afterwards;
//! - on MySQL/MariaDB, a new database (`utf8mb4`), dropped afterwards.
//!
//! Each gets a name no other test uses, even in other processes ([`unique_name`]), so tests can
//! run in parallel. The servers come from the environment:
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `RETORT_POSTGRES_URL` | the PostgreSQL server test schemas are made on | `postgresql://postgres@127.0.0.1:5432/test` |
//! | `RETORT_MYSQL_URL` | the MySQL/MariaDB server test databases are made on | `mysql://root@127.0.0.1:3306/test` |
//! | `RETORT_REQUIRE_ALL_BACKENDS` | `1`: a backend that cannot be reached fails the test | unset: it is skipped |
//!
//! A backend whose server cannot be reached is skipped by [`TestDatabase::create_or_skip`]
//! and [`run`]: they write a line to the test binary's stderr, past the test harness's output
//! capture, so the skip shows in a plain `cargo test`. A CI that has the servers sets
//! `RETORT_REQUIRE_ALL_BACKENDS=1` so that a missing server fails instead. A backend retort
//! was built without (its cargo feature is off) always fails: no server can cure that.
//!
//! ```
//! use retort_core::schema::{Column, MetaData, Table};
//! use retort_core::testing::{Backend, TestDatabase};
//! use retort_core::types::SqlType;
//!
//! let metadata = MetaData::new();
//! Table::new("notes", &metadata)
//!     .column(Column::new("id", SqlType::Integer).primary_key())
//!     .build()?;
//!
//! let db = TestDatabase::create(Backend::Sqlite)?.with_tables(&metadata)?;
//! let mut conn = db.engine().connect()?;
//! assert!(conn.inspect().has_table("notes", None)?);
//!
//! let file = std::path::PathBuf::from(db.database_name());
//! assert!(file.exists());
//! drop(conn);
//! drop(db);
//! assert!(!file.exists());
//! # Ok::<(), retort_core::Error>(())
//! ```

use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::engine::{create_engine, Engine, EngineBuilder};
use crate::error::{Error, Result};
use crate::schema::MetaData;
use crate::Url;

/// The environment variable naming the PostgreSQL server to make test schemas on.
pub const POSTGRES_URL_VAR: &str = "RETORT_POSTGRES_URL";
/// The environment variable naming the MySQL/MariaDB server to make test databases on.
pub const MYSQL_URL_VAR: &str = "RETORT_MYSQL_URL";
/// The environment variable that, set to `1`, makes a backend that cannot be reached a test
/// failure instead of a skip.
pub const REQUIRE_ALL_VAR: &str = "RETORT_REQUIRE_ALL_BACKENDS";

const DEFAULT_POSTGRES_URL: &str = "postgresql://postgres@127.0.0.1:5432/test";
const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// A database retort can test on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite, built in: a temporary file per test.
    Sqlite,
    /// PostgreSQL: a schema per test on the server named by `RETORT_POSTGRES_URL`.
    Postgres,
    /// MySQL or MariaDB: a database per test on the server named by `RETORT_MYSQL_URL`.
    MySql,
}

impl Backend {
    /// Every backend, SQLite first.
    pub const ALL: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::MySql];

    /// The backend's dialect name: `"sqlite"`, `"postgresql"` or `"mysql"`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
            Backend::MySql => "mysql",
        }
    }

    /// The environment variable naming the backend's server; `None` for SQLite.
    pub fn url_var(self) -> Option<&'static str> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres => Some(POSTGRES_URL_VAR),
            Backend::MySql => Some(MYSQL_URL_VAR),
        }
    }

    /// The URL of the server test databases are made on: the [`url_var`](Self::url_var)
    /// variable, or its default. `None` for SQLite, which has no server.
    pub fn server_url(self) -> Option<String> {
        let default = match self {
            Backend::Sqlite => return None,
            Backend::Postgres => DEFAULT_POSTGRES_URL,
            Backend::MySql => DEFAULT_MYSQL_URL,
        };
        let var = self.url_var()?;
        Some(std::env::var(var).unwrap_or_else(|_| default.to_owned()))
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether `RETORT_REQUIRE_ALL_BACKENDS=1`: a backend that cannot be reached fails the test
/// rather than skipping it.
pub fn require_all_backends() -> bool {
    std::env::var(REQUIRE_ALL_VAR).is_ok_and(|v| v == "1")
}

/// A name no other test in any process uses: `retort_<pid>_<counter>_<nanos>`. Short enough for
/// every database's identifiers.
pub fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("retort_{}_{n}_{nanos}", std::process::id())
}

/// A fresh database on one backend, for one test; removed when dropped.
///
/// Removal errors (a server gone meanwhile, a file still locked) do not panic: they are written
/// to stderr, naming what was left behind.
pub struct TestDatabase {
    backend: Backend,
    url: Url,
    // Declared before `place`, so the pool's connections close before the database goes.
    engine: Engine,
    place: Place,
}

impl fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TestDatabase({}, {})", self.backend, self.url)
    }
}

impl TestDatabase {
    /// A fresh, empty database on `backend`. Fails when the backend cannot be reached or the
    /// database cannot be made; see [`create_or_skip`](Self::create_or_skip) for the skip
    /// policy tests follow.
    pub fn create(backend: Backend) -> Result<TestDatabase> {
        let admin = reach(backend)?;
        TestDatabase::create_on(backend, admin)
    }

    /// A fresh, empty database on `backend`, or `None` when the backend cannot be reached and
    /// `RETORT_REQUIRE_ALL_BACKENDS` is not `1` — after writing a line to stderr that names the
    /// test (the current thread's name), the backend and the reason. With the variable set, an
    /// unreachable backend is the error. A database that cannot be made on a reachable server
    /// is always an error.
    pub fn create_or_skip(backend: Backend) -> Result<Option<TestDatabase>> {
        match reach(backend) {
            Ok(admin) => TestDatabase::create_on(backend, admin).map(Some),
            Err(e) if must_fail(&e) => Err(e),
            Err(e) => {
                report_skip(backend, &e);
                Ok(None)
            }
        }
    }

    fn create_on(backend: Backend, admin: Option<Engine>) -> Result<TestDatabase> {
        let name = unique_name();
        let (url, place) = match admin {
            None => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                let url = Url::parse("sqlite://")?.with_database(Some(&path.to_string_lossy()));
                (url, Place::File(path))
            }
            Some(admin) => {
                let quoted = quoted(&admin, &name);
                let url = if backend == Backend::Postgres {
                    admin
                        .connect()?
                        .exec_driver_sql(&format!("CREATE SCHEMA {quoted}"), &[])?;
                    let options = match admin.url().query_value("options") {
                        Some(existing) => format!("{existing} -csearch_path={name}"),
                        None => format!("-csearch_path={name}"),
                    };
                    admin.url().clone().with_query_value("options", &options)
                } else {
                    let sql = format!(
                        "CREATE DATABASE {quoted} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                    );
                    admin.connect()?.exec_driver_sql(&sql, &[])?;
                    admin.url().clone().with_database(Some(&name))
                };
                if backend == Backend::Postgres {
                    (url, Place::Schema { admin, name })
                } else {
                    (url, Place::Database { admin, name })
                }
            }
        };
        // Made before the engine: should the engine fail, dropping `place` removes the database.
        let engine = create_engine(&url)?;
        Ok(TestDatabase {
            backend,
            url,
            engine,
            place,
        })
    }

    /// This database with `metadata`'s tables created in it (`create_all`). Pass
    /// `&Base::metadata()?` for every model of the program.
    pub fn with_tables(self, metadata: &MetaData) -> Result<TestDatabase> {
        metadata.create_all(&self.engine)?;
        Ok(self)
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The backend's name: `"sqlite"`, `"postgresql"` or `"mysql"`.
    pub fn name(&self) -> &'static str {
        self.backend.name()
    }

    /// The URL of this database; `url().render_as_string(false)` gives it as a string, password
    /// included.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// An engine on this database, with default options.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A builder for another engine on this database, to set pool or echo options.
    pub fn builder(&self) -> EngineBuilder {
        Engine::builder(&self.url)
    }

    /// What was made: the SQLite file's path, the PostgreSQL schema's name or the MySQL
    /// database's name.
    pub fn database_name(&self) -> String {
        self.place.name()
    }
}

/// Where a test database lives, removed on drop. The servers' variants keep an engine on the
/// server's own database to drop it with.
enum Place {
    File(PathBuf),
    Schema { admin: Engine, name: String },
    Database { admin: Engine, name: String },
}

impl Place {
    fn name(&self) -> String {
        match self {
            Place::File(path) => path.to_string_lossy().into_owned(),
            Place::Schema { name, .. } | Place::Database { name, .. } => name.clone(),
        }
    }

    fn remove(&self) -> std::result::Result<(), Box<dyn std::error::Error>> {
        match self {
            Place::File(path) => {
                for suffix in ["", "-journal", "-wal", "-shm"] {
                    let mut file = path.as_os_str().to_owned();
                    file.push(suffix);
                    match std::fs::remove_file(&file) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                        _ => {}
                    }
                }
                Ok(())
            }
            Place::Schema { admin, name } => {
                let mut conn = admin.connect()?;
                // A session still holding a lock in the schema would otherwise stall the drop.
                conn.exec_driver_sql("SET lock_timeout = '10s'", &[])?;
                let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", quoted(admin, name));
                conn.exec_driver_sql(&sql, &[])?;
                Ok(())
            }
            Place::Database { admin, name } => {
                let sql = format!("DROP DATABASE IF EXISTS {}", quoted(admin, name));
                admin.connect()?.exec_driver_sql(&sql, &[])?;
                Ok(())
            }
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        if let Err(e) = self.remove() {
            let what = match self {
                Place::File(_) => "file",
                Place::Schema { .. } => "schema",
                Place::Database { .. } => "database",
            };
            report(&format!(
                "retort: could not remove the test {what} {}: {e}",
                self.name()
            ));
        }
    }
}

fn quoted(engine: &Engine, ident: &str) -> String {
    let mut out = String::new();
    engine.dialect().quote_identifier(ident, &mut out);
    out
}

/// Writes `message` to the process's stderr directly: the test harness captures `eprintln!`,
/// and would hide a skip or a leaked database in a passing test.
fn report(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{message}");
}

/// The loud line for a test skipped because `backend` cannot be reached, naming the test (the
/// harness names each test's thread after it).
fn report_skip(backend: Backend, error: &Error) {
    let test = std::thread::current()
        .name()
        .filter(|name| *name != "main")
        .map_or_else(String::new, |name| format!(" {name}"));
    report(&format!(
        "\n!!!!!!!!!! retort: SKIPPED{test} on {backend}: {}: {error}; set {REQUIRE_ALL_VAR}=1 \
         to make this a failure !!!!!!!!!!\n",
        unreachable(backend)
    ));
}

/// "cannot connect to <url>" for a server backend, "cannot open SQLite" for SQLite.
/// Whether a backend that could not be reached fails the test rather than skipping it: when
/// the variable asks for every backend, and always when retort was built without the
/// backend's feature — a mistake in the build, which no server coming up would cure.
fn must_fail(error: &Error) -> bool {
    require_all_backends() || matches!(error, Error::BackendNotCompiled { .. })
}

fn unreachable(backend: Backend) -> String {
    match backend.server_url() {
        Some(url) => {
            let shown = Url::parse(&url).map_or(url, |u| u.to_string());
            format!("cannot connect to {shown}")
        }
        None => "cannot open SQLite".to_owned(),
    }
}

/// Checks that `backend` answers: SQLite by opening an in-memory database, a server by
/// connecting to its own database. Returns the engine on that database for a server, which
/// makes and drops the test databases; it is kept for the process once it has answered.
fn reach(backend: Backend) -> Result<Option<Engine>> {
    static POSTGRES: Mutex<Option<Engine>> = Mutex::new(None);
    static MYSQL: Mutex<Option<Engine>> = Mutex::new(None);
    let (cell, url) = match (backend, backend.server_url()) {
        (Backend::Postgres, Some(url)) => (&POSTGRES, url),
        (Backend::MySql, Some(url)) => (&MYSQL, url),
        _ => {
            create_engine("sqlite://")?
                .connect()?
                .exec_driver_sql("SELECT 1", &[])?;
            return Ok(None);
        }
    };
    let mut cached = cell.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(engine) = cached.as_ref() {
        return Ok(Some(engine.clone()));
    }
    let engine = Engine::builder(url.as_str())
        .pool_size(4)
        .pool_timeout(Duration::from_secs(10))
        .build()?;
    engine.connect()?.exec_driver_sql("SELECT 1", &[])?;
    *cached = Some(engine.clone());
    Ok(Some(engine))
}

/// What a test function returns: `()`, or `Result<(), E>` whose error is shown with
/// `Display`.
#[diagnostic::on_unimplemented(
    message = "a #[retort::test] function must return `()` or `Result<(), E>` where `E: Display`, not `{Self}`",
    label = "returns `{Self}`"
)]
pub trait TestOutcome {
    /// The error's message, if the test failed.
    fn failure(self) -> Option<String>;
}

impl TestOutcome for () {
    fn failure(self) -> Option<String> {
        None
    }
}

impl<E: fmt::Display> TestOutcome for std::result::Result<(), E> {
    fn failure(self) -> Option<String> {
        self.err().map(|e| e.to_string())
    }
}

/// Why a test run by [`run`] failed. Its `Debug` is the plain message, which is what the test
/// harness prints for a test that returns `Err`.
pub struct TestFailure(String);

impl fmt::Debug for TestFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for TestFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TestFailure {}

/// Runs `test` on a fresh database on `backend` with `metadata`'s tables (none for `None`):
/// what each `#[test]` that `#[retort::test]` writes does.
///
/// A backend that cannot be reached is skipped as [`TestDatabase::create_or_skip`] says
/// (`Ok(())` after the line on stderr). A database that cannot be made, tables that cannot be
/// created and a test that returns `Err` are a [`TestFailure`] naming the backend. A test that
/// panics panics; its database is removed as the panic unwinds.
///
/// ```
/// use retort_core::testing::{run, Backend};
///
/// let outcome = run(Backend::Sqlite, None, |db| {
///     db.engine().connect()?.exec_driver_sql("SELECT * FROM missing", &[])?;
///     Ok::<(), retort_core::Error>(())
/// });
/// let failure = outcome.unwrap_err().to_string();
/// assert!(failure.starts_with("the test failed on sqlite: "), "{failure}");
/// ```
pub fn run<R: TestOutcome>(
    backend: Backend,
    metadata: Option<fn() -> Result<MetaData>>,
    test: impl FnOnce(TestDatabase) -> R,
) -> std::result::Result<(), TestFailure> {
    let fail = |what: &str, e: &dyn fmt::Display| TestFailure(format!("{what} on {backend}: {e}"));
    let admin = match reach(backend) {
        Ok(admin) => admin,
        Err(e @ Error::BackendNotCompiled { .. }) => {
            return Err(fail("the backend is not compiled in", &e));
        }
        Err(e) if require_all_backends() => {
            return Err(TestFailure(format!(
                "{backend} is required ({REQUIRE_ALL_VAR}=1) and retort {}: {e}",
                unreachable(backend)
            )));
        }
        Err(e) => {
            report_skip(backend, &e);
            return Ok(());
        }
    };
    let db = TestDatabase::create_on(backend, admin)
        .map_err(|e| fail("could not make the test database", &e))?;
    let db = match metadata {
        Some(metadata) => metadata()
            .and_then(|metadata| db.with_tables(&metadata))
            .map_err(|e| fail("could not create the tables", &e))?,
        None => db,
    };
    match test(db).failure() {
        Some(message) => Err(fail("the test failed", &message)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    /// Runs in CI's `cargo test -p retort-core --no-default-features --features sqlite --lib`:
    /// a test asking for a backend the build left out fails, whatever the environment says.
    #[cfg(not(feature = "postgres"))]
    #[test]
    fn a_backend_left_out_of_the_build_fails_its_tests() {
        use super::{run, Backend, TestDatabase};

        let failure = run(Backend::Postgres, None, |_| ()).map_err(|f| f.to_string());
        let message = failure.expect_err("a test on a left-out backend must fail");
        assert!(
            message.starts_with("the backend is not compiled in on postgresql: NoSuchModuleError"),
            "{message}"
        );
        assert!(matches!(
            TestDatabase::create_or_skip(Backend::Postgres),
            Err(crate::Error::BackendNotCompiled {
                feature: "postgres"
            })
        ));
    }
}
