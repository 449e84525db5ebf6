//! Which databases the benchmark runs on, and a fresh database on each for the bench data.
//!
//! Environment:
//! - `RETORT_BENCH_BACKENDS`: comma-separated subset of `sqlite,sqlite-memory,postgres,mysql`
//!   (default `sqlite`; `run.sh` defaults to both SQLite targets).
//! - `RETORT_POSTGRES_URL` (default `postgresql://postgres@127.0.0.1:5432/test`) and
//!   `RETORT_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`): a server to connect to; the
//!   bench drops and creates its own database there, named by `RETORT_BENCH_DATABASE`
//!   (default `retort_bench`), and never touches the database in the URL.
//! - `RETORT_BENCH_SQLITE_PATH`: the SQLite file (default `retort_bench.sqlite3` in the temporary
//!   directory), deleted and created anew.
//!
//! Every client reaches the servers the same way, over TCP without TLS: PostgreSQL URLs get
//! `sslmode=disable` (unless the URL sets `sslmode` itself, which then holds for every client),
//! and each MariaDB client is told not to switch to the Unix socket (see [`Target::mysql_opts`]).
//! The in-memory SQLite target is one database shared by every connection of the process,
//! through SQLite's `memdb` VFS (`file:/<name>?vfs=memdb`), so the admin connection seeds what
//! the implementations read.

use std::env;
use std::fmt;
use std::path::PathBuf;

use crate::admin::{self, Admin};
use crate::BenchResult;

/// Default server for PostgreSQL runs.
pub const DEFAULT_POSTGRES_URL: &str = "postgresql://postgres@127.0.0.1:5432/test";
/// Default server for MariaDB / MySQL runs.
pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";
/// Default name of the database the bench creates on a server.
pub const DEFAULT_DATABASE: &str = "retort_bench";

/// SQLite pragmas every SQLite connection of every implementation runs first, so they all work
/// under the same durability and foreign-key settings (sqlx turns foreign keys on by default,
/// rusqlite and Diesel leave SQLite's default, off).
pub const SQLITE_CONNECTION_PRAGMAS: &str =
    "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;";

/// The in-memory target's pragmas: [`SQLITE_CONNECTION_PRAGMAS`] plus the journal in memory
/// (the `memdb` VFS would put a rollback journal on disk, and it cannot hold a WAL).
pub const SQLITE_MEMORY_PRAGMAS: &str =
    "PRAGMA journal_mode = MEMORY; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;";

/// A database kind the workloads run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite through a file in WAL mode.
    Sqlite,
    /// SQLite in memory, one database shared by the process's connections.
    SqliteMemory,
    /// PostgreSQL.
    Postgres,
    /// MariaDB or MySQL.
    Mysql,
}

impl Backend {
    /// The name used in criterion group ids (`<workload>/<backend>`).
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::SqliteMemory => "sqlite-memory",
            Backend::Postgres => "postgres",
            Backend::Mysql => "mysql",
        }
    }

    /// The raw driver measured as this backend's floor.
    pub fn raw_driver(self) -> &'static str {
        match self {
            Backend::Sqlite | Backend::SqliteMemory => "rusqlite",
            Backend::Postgres => "postgres",
            Backend::Mysql => "mysql",
        }
    }

    /// The SQLite pragmas every connection to this target runs first (none for the servers).
    pub fn sqlite_pragmas(self) -> Option<&'static str> {
        match self {
            Backend::Sqlite => Some(SQLITE_CONNECTION_PRAGMAS),
            Backend::SqliteMemory => Some(SQLITE_MEMORY_PRAGMAS),
            Backend::Postgres | Backend::Mysql => None,
        }
    }

    /// Parses a name as [`Backend::name`] spells it (`mariadb` and `postgresql` are accepted).
    pub fn parse(name: &str) -> BenchResult<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "sqlite" => Ok(Backend::Sqlite),
            "sqlite-memory" | "sqlite_memory" | "memory" => Ok(Backend::SqliteMemory),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            "mysql" | "mariadb" => Ok(Backend::Mysql),
            other => Err(format!(
                "unknown backend `{other}` in RETORT_BENCH_BACKENDS \
                 (use sqlite, sqlite-memory, postgres, mysql)"
            )
            .into()),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A backend and where its fresh bench database is.
#[derive(Debug, Clone)]
pub struct Target {
    /// The database kind.
    pub backend: Backend,
    /// For SQLite the file path (for the in-memory target the `file:` URI); for the servers
    /// the URL of the bench database.
    pub url: String,
}

impl Target {
    /// Reads the environment: each requested backend's bench database, not yet created (see
    /// [`Target::fresh`]).
    pub fn from_env() -> BenchResult<Vec<Target>> {
        Self::requested_backends()?
            .into_iter()
            .map(Target::locate)
            .collect()
    }

    /// The backends of `RETORT_BENCH_BACKENDS`, in order, each once.
    pub fn requested_backends() -> BenchResult<Vec<Backend>> {
        let requested = env::var("RETORT_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite".to_owned());
        let mut backends = Vec::new();
        for name in requested.split(',').filter(|s| !s.trim().is_empty()) {
            let backend = Backend::parse(name)?;
            if !backends.contains(&backend) {
                backends.push(backend);
            }
        }
        Ok(backends)
    }

    /// Where `backend`'s bench database is, from the environment, without touching it.
    pub fn locate(backend: Backend) -> BenchResult<Target> {
        let database =
            env::var("RETORT_BENCH_DATABASE").unwrap_or_else(|_| DEFAULT_DATABASE.to_owned());
        let url = match backend {
            Backend::Sqlite => sqlite_path()?,
            Backend::SqliteMemory => {
                format!(
                    "file:/{}?vfs=memdb",
                    admin::checked_database_name(&database)?
                )
            }
            Backend::Postgres => {
                let server = postgres_server_url();
                with_database(&server, &database)?
            }
            Backend::Mysql => with_database(&mysql_server_url(), &database)?,
        };
        Ok(Target { backend, url })
    }

    /// Drops and creates the bench database and its schema, and returns the admin connection.
    /// The in-memory database lives as long as a connection to it is open: keep this one open
    /// while the implementations run.
    pub fn fresh(&self) -> BenchResult<Box<dyn Admin>> {
        let database =
            env::var("RETORT_BENCH_DATABASE").unwrap_or_else(|_| DEFAULT_DATABASE.to_owned());
        match self.backend {
            Backend::Sqlite => remove_sqlite_file(&self.url)?,
            // A memdb database goes with the last connection to it; none is open yet.
            Backend::SqliteMemory => {}
            Backend::Postgres => {
                admin::recreate_postgres_database(&postgres_server_url(), &database)?
            }
            Backend::Mysql => admin::recreate_mysql_database(&mysql_server_url(), &database)?,
        }
        let mut admin = self.admin()?;
        admin.create_schema()?;
        Ok(admin)
    }

    /// A raw-driver connection that seeds, clears and reads back the bench tables.
    pub fn admin(&self) -> BenchResult<Box<dyn Admin>> {
        admin::connect(self)
    }

    /// The MariaDB connection options every Rust client built on the `mysql` crate uses: over
    /// TCP, as the other clients are (the crate would otherwise switch a connection to
    /// 127.0.0.1 to the server's Unix socket). The crate is built without TLS.
    pub fn mysql_opts(&self) -> BenchResult<mysql::Opts> {
        mysql_opts(&self.url)
    }
}

/// `url` as `mysql::Opts`, over TCP (see [`Target::mysql_opts`]).
pub fn mysql_opts(url: &str) -> BenchResult<mysql::Opts> {
    let opts = mysql::Opts::from_url(url)?;
    Ok(mysql::OptsBuilder::from_opts(opts)
        .prefer_socket(false)
        .into())
}

/// The PostgreSQL server URL, with `sslmode=disable` unless it chooses an sslmode itself.
fn postgres_server_url() -> String {
    let url = env::var("RETORT_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
    if url.contains("sslmode=") {
        url
    } else {
        with_query(&url, "sslmode=disable")
    }
}

fn mysql_server_url() -> String {
    env::var("RETORT_MYSQL_URL").unwrap_or_else(|_| DEFAULT_MYSQL_URL.to_owned())
}

/// Appends `key=value` to `url`'s query.
pub fn with_query(url: &str, pair: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{pair}")
}

fn sqlite_path() -> BenchResult<String> {
    let path = env::var_os("RETORT_BENCH_SQLITE_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| env::temp_dir().join("retort_bench.sqlite3"));
    Ok(path
        .to_str()
        .ok_or("RETORT_BENCH_SQLITE_PATH must be valid UTF-8")?
        .to_owned())
}

/// Deletes the SQLite file (and its WAL companions) so the run starts from nothing.
fn remove_sqlite_file(path: &str) -> BenchResult<()> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        match std::fs::remove_file(format!("{path}{suffix}")) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove old bench database {path}: {e}").into()),
        }
    }
    Ok(())
}

/// Replaces the database name in a `scheme://authority/database?query` URL.
pub fn with_database(url: &str, database: &str) -> BenchResult<String> {
    let authority_start = url
        .find("://")
        .map(|i| i + 3)
        .ok_or_else(|| format!("`{url}` is not a scheme://host/database URL"))?;
    let authority_end = url[authority_start..]
        .find(['/', '?'])
        .map_or(url.len(), |i| authority_start + i);
    let query = url[authority_end..]
        .find('?')
        .map_or("", |i| &url[authority_end + i..]);
    Ok(format!("{}/{database}{query}", &url[..authority_end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_path() {
        assert_eq!(
            with_database("postgresql://postgres@127.0.0.1:5432/test", "b").unwrap(),
            "postgresql://postgres@127.0.0.1:5432/b"
        );
        assert_eq!(
            with_database("mysql://root@h:3306/test?ssl-mode=disabled", "b").unwrap(),
            "mysql://root@h:3306/b?ssl-mode=disabled"
        );
        assert_eq!(
            with_database("mysql://root@h", "b").unwrap(),
            "mysql://root@h/b"
        );
        assert!(with_database("not a url", "b").is_err());
    }

    #[test]
    fn queries_are_appended() {
        assert_eq!(with_query("pg://h/db", "a=1"), "pg://h/db?a=1");
        assert_eq!(with_query("pg://h/db?x=2", "a=1"), "pg://h/db?x=2&a=1");
    }

    #[test]
    fn mysql_clients_never_switch_to_the_socket() {
        let opts = mysql_opts("mysql://root@127.0.0.1:3306/test").unwrap();
        assert!(!opts.get_prefer_socket());
    }

    #[test]
    fn backends_parse_by_their_usual_names() {
        assert_eq!(Backend::parse(" MariaDB").unwrap(), Backend::Mysql);
        assert_eq!(Backend::parse("postgresql").unwrap(), Backend::Postgres);
        assert_eq!(
            Backend::parse("sqlite_memory").unwrap(),
            Backend::SqliteMemory
        );
        assert!(Backend::parse("oracle").is_err());
    }
}
