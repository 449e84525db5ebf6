//! Which databases the benchmark runs on, and a fresh database on each for the bench data.
//!
//! Environment:
//! - `RETORT_BENCH_BACKENDS`: comma-separated subset of `sqlite,postgres,mysql` (default `sqlite`).
//! - `RETORT_POSTGRES_URL` (default `postgresql://postgres@127.0.0.1:5432/test`) and
//!   `RETORT_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`): a server to connect to; the
//!   bench drops and creates its own database there, named by `RETORT_BENCH_DATABASE`
//!   (default `retort_bench`), and never touches the database in the URL.
//! - `RETORT_BENCH_SQLITE_PATH`: the SQLite file (default `retort_bench.sqlite3` in the temporary
//!   directory), deleted and created anew.

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

/// A database kind the workloads run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite through a file in WAL mode.
    Sqlite,
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
            Backend::Postgres => "postgres",
            Backend::Mysql => "mysql",
        }
    }

    /// The raw driver measured as this backend's floor.
    pub fn raw_driver(self) -> &'static str {
        match self {
            Backend::Sqlite => "rusqlite",
            Backend::Postgres => "postgres",
            Backend::Mysql => "mysql",
        }
    }

    /// Parses a name as [`Backend::name`] spells it (`mariadb` and `postgresql` are accepted).
    pub fn parse(name: &str) -> BenchResult<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            "mysql" | "mariadb" => Ok(Backend::Mysql),
            other => Err(format!(
                "unknown backend `{other}` in RETORT_BENCH_BACKENDS (use sqlite, postgres, mysql)"
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
    /// For SQLite the file path; for the servers the URL of the bench database.
    pub url: String,
}

impl Target {
    /// Reads the environment and prepares a fresh, empty database (with the schema) for each
    /// requested backend.
    pub fn from_env() -> BenchResult<Vec<Target>> {
        let requested = env::var("RETORT_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite".to_owned());
        let database =
            env::var("RETORT_BENCH_DATABASE").unwrap_or_else(|_| DEFAULT_DATABASE.to_owned());
        let mut targets = Vec::new();
        for name in requested.split(',').filter(|s| !s.trim().is_empty()) {
            let backend = Backend::parse(name)?;
            if targets.iter().any(|t: &Target| t.backend == backend) {
                continue;
            }
            let url = match backend {
                Backend::Sqlite => fresh_sqlite_file()?,
                Backend::Postgres => {
                    let server = env::var("RETORT_POSTGRES_URL")
                        .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
                    admin::recreate_postgres_database(&server, &database)?;
                    with_database(&server, &database)?
                }
                Backend::Mysql => {
                    let server = env::var("RETORT_MYSQL_URL")
                        .unwrap_or_else(|_| DEFAULT_MYSQL_URL.to_owned());
                    admin::recreate_mysql_database(&server, &database)?;
                    with_database(&server, &database)?
                }
            };
            let target = Target { backend, url };
            target.admin()?.create_schema()?;
            targets.push(target);
        }
        Ok(targets)
    }

    /// A raw-driver connection that seeds, clears and reads back the bench tables.
    pub fn admin(&self) -> BenchResult<Box<dyn Admin>> {
        admin::connect(self)
    }
}

/// Deletes the SQLite file (and its WAL companions) so the run starts from nothing.
fn fresh_sqlite_file() -> BenchResult<String> {
    let path = env::var_os("RETORT_BENCH_SQLITE_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| env::temp_dir().join("retort_bench.sqlite3"));
    let path = path
        .to_str()
        .ok_or("RETORT_BENCH_SQLITE_PATH must be valid UTF-8")?
        .to_owned();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        match std::fs::remove_file(format!("{path}{suffix}")) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove old bench database {path}: {e}").into()),
        }
    }
    Ok(path)
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
    fn backends_parse_by_their_usual_names() {
        assert_eq!(Backend::parse(" MariaDB").unwrap(), Backend::Mysql);
        assert_eq!(Backend::parse("postgresql").unwrap(), Backend::Postgres);
        assert!(Backend::parse("oracle").is_err());
    }
}
