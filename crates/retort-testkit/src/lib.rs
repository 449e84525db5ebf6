//! Test helpers for retort's own tests: [`for_each_backend`] runs a test on a fresh, isolated
//! database on every reachable backend, and [`TestDb`] adds fault-injection extras to the
//! public fixture it wraps, [`retort_core::testing::TestDatabase`] (which says how each backend
//! makes a database, which servers it uses, and when an unreachable one is skipped).
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

use std::ops::Deref;
use std::time::{Duration, Instant};

use retort_core::testing::{Backend, TestDatabase};
use retort_core::Connection;

pub use retort_core::testing::unique_name;

/// One backend's fresh database, removed when dropped: a [`TestDatabase`] (which it derefs
/// to) with extras for fault-injection tests.
#[derive(Debug)]
pub struct TestDb {
    db: TestDatabase,
}

impl Deref for TestDb {
    type Target = TestDatabase;

    fn deref(&self) -> &TestDatabase {
        &self.db
    }
}

impl TestDb {
    /// A [`FaultProxy`](proxy::FaultProxy) in front of this database's server; its
    /// [`url`](proxy::FaultProxy::url) reaches this database through it. `None` on SQLite.
    ///
    /// # Panics
    ///
    /// When the proxy cannot listen on a local port.
    pub fn fault_proxy(&self) -> Option<proxy::FaultProxy> {
        proxy::Wire::for_url(self.url())?;
        Some(
            proxy::FaultProxy::for_url(self.url())
                .unwrap_or_else(|e| panic!("starting the fault proxy: {e}")),
        )
    }

    /// The server's id for the session behind `conn` (`pg_backend_pid()`, `CONNECTION_ID()`);
    /// `None` on SQLite, which has no server.
    pub fn backend_pid(&self, conn: &mut Connection) -> Option<i64> {
        let sql = match self.backend() {
            Backend::Postgres => "SELECT pg_backend_pid()",
            Backend::MySql => "SELECT CONNECTION_ID()",
            Backend::Sqlite => return None,
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
        let (kill, alive) = match self.backend() {
            Backend::Postgres => (
                format!("SELECT pg_terminate_backend({pid})"),
                format!("SELECT count(*) FROM pg_stat_activity WHERE pid = {pid}"),
            ),
            Backend::MySql => (
                format!("KILL {pid}"),
                format!("SELECT count(*) FROM information_schema.PROCESSLIST WHERE ID = {pid}"),
            ),
            Backend::Sqlite => panic!("sqlite has no server sessions to kill"),
        };
        let run = |sql: &str| -> retort_core::Result<i64> {
            let result = self.engine().connect()?.exec_driver_sql(sql, &[])?;
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
        let dialect = self.engine().dialect();
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

/// A fresh database on `backend`, `None` when it is skipped.
///
/// # Panics
///
/// When the backend is required but unreachable, or the database cannot be made.
fn create(backend: Backend) -> Option<TestDb> {
    TestDatabase::create_or_skip(backend)
        .unwrap_or_else(|e| panic!("making the {backend} test database: {e}"))
        .map(|db| TestDb { db })
}

/// A fresh SQLite database in a temporary file.
///
/// # Panics
///
/// When SQLite cannot be opened.
pub fn sqlite() -> TestDb {
    TestDatabase::create(Backend::Sqlite)
        .map(|db| TestDb { db })
        .unwrap_or_else(|e| panic!("making the sqlite test database: {e}"))
}

/// A fresh PostgreSQL schema, or `None` when the server is unreachable.
pub fn postgresql() -> Option<TestDb> {
    create(Backend::Postgres)
}

/// A fresh MySQL/MariaDB database, or `None` when the server is unreachable.
pub fn mysql() -> Option<TestDb> {
    create(Backend::MySql)
}

/// A fresh database on every reachable backend: SQLite, PostgreSQL and MySQL/MariaDB.
pub fn backends() -> Vec<TestDb> {
    Backend::ALL.into_iter().filter_map(create).collect()
}

/// Runs `f` once per reachable backend on a fresh database, naming the backend on stderr
/// first (so a failure's output says which one failed).
pub fn for_each_backend(mut f: impl FnMut(&TestDb)) {
    for db in backends() {
        eprintln!("--- backend: {}", db.name());
        f(&db);
    }
}
