//! Engine, URL parsing, connection pool, connections, transactions and results.
//!
//! [`create_engine`] turns a URL into an [`Engine`]: a dialect and a pool of connections.
//! [`Engine::connect`] checks a [`Connection`] out of the pool; it goes back when dropped
//! (rolled back first if a transaction was left open).
//!
//! ```
//! use retort_core::{create_engine, Value};
//!
//! let engine = create_engine("sqlite://")?;
//! let mut conn = engine.connect()?;
//! conn.exec_driver_sql("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)", &[])?;
//! conn.transaction(|tx| {
//!     tx.exec_driver_sql("INSERT INTO users (name) VALUES (?)", &[Value::from("Alice")])?;
//!     Ok(())
//! })?;
//! let n: i64 = conn.exec_driver_sql("SELECT count(*) FROM users", &[])?.scalar()?;
//! assert_eq!(n, 1);
//! # Ok::<(), retort_core::Error>(())
//! ```
//!
//! Outside a transaction each statement commits on its own (the database's autocommit);
//! [`Connection::begin`] opens one explicitly.
//!
//! A COMMIT that fails because the connection was lost while it was in flight is reported as
//! [`ErrorKind::CommitOutcomeUnknown`](crate::ErrorKind::CommitOutcomeUnknown): the server may
//! have committed, so check before retrying. A disconnect on one connection also discards
//! every pooled connection opened before it, so that after a server restart at most the
//! caller who found it out sees an error; [`Engine::dispose`] closes the pool's connections on
//! demand.
//!
//! SQLite files are opened in WAL mode, so that a transaction that has read does not block
//! writers (who still take turns, each waiting up to the busy timeout, `?timeout=<seconds>`,
//! 5 s by default). `?journal_mode=delete` (or `truncate`, `persist`) in the URL keeps
//! SQLite's rollback journal instead, where a transaction that has read holds up every
//! writer's COMMIT until it ends. The mode is stored in the file: leaving WAL needs every
//! other connection to it closed. In-memory databases are unchanged.

pub mod cache;
pub mod connection;
pub mod driver;
mod events;
mod pool;
mod reflect;
pub mod result;
mod schema_ops;
pub mod url;

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub use cache::{PreparedStatement, QueryCacheStats};
pub use connection::{Connection, RowStream, Savepoint, StatementRunner, Transaction};
pub use driver::IsolationLevel;
pub use events::StatementListener;
pub use reflect::Inspector;
pub use result::{CursorResult, Row, RowIndex, RowReader};
pub use url::{IntoUrl, Url};

use crate::dialect::mysql::MySqlDialect;
use crate::dialect::postgres::PostgresDialect;
use crate::dialect::sqlite::SqliteDialect;
use crate::dialect::{Dialect, DialectRef};
use crate::error::{Error, Result};
use crate::value::Value;
use cache::QueryCache;
use connection::InsertIdColumns;
use driver::ConnectOptions;
use events::Events;
use pool::{Pool, PoolConfig};

/// The engine's settings; [`EngineBuilder`] sets them one by one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EngineOptions {
    /// The most connections the pool opens (default 10). Ignored for in-memory SQLite, which
    /// always has exactly one connection so that every checkout sees the same database (as
    /// SQLAlchemy's `StaticPool`): a second checkout waits until the first is returned.
    pub pool_size: u32,
    /// How long a checkout waits for a free connection before [`Error::PoolTimeout`]
    /// (default 30 s).
    pub pool_timeout: Duration,
    /// Test each connection with a ping when it is checked out, replacing it if it fails
    /// (default off).
    pub pool_pre_ping: bool,
    /// Replace connections older than this at checkout (default: never).
    pub pool_recycle: Option<Duration>,
    /// Log every statement and its parameters through `tracing` at INFO, target
    /// `retort::engine` (default off).
    pub echo: bool,
    /// Keep statement parameters out of error messages and echo logs (SQLAlchemy's
    /// `hide_parameters`; default off). A [`DatabaseError`](crate::DatabaseError) then carries
    /// the SQL but no parameters. Statement listeners still receive them.
    pub hide_parameters: bool,
    /// The isolation level set on every connection (default: the database's own).
    ///
    /// SQLite is always serializable: `ReadUncommitted` sets `PRAGMA read_uncommitted = 1`,
    /// which only matters for connections sharing a cache, and the other levels are served
    /// by SQLite's serializable transactions (a stricter level is a valid substitute).
    pub isolation_level: Option<IsolationLevel>,
    /// How many compiled statements the engine keeps (SQLAlchemy's `query_cache_size`,
    /// default 500; 0 turns the cache off). Statements of one shape (the same structure with
    /// other values) compile their SQL text once and reuse it; the least recently used entry
    /// makes room for a new one. See [`cache`] for what is cached and
    /// [`Engine::query_cache_stats`] for its counters.
    pub query_cache_size: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            pool_size: 10,
            pool_timeout: Duration::from_secs(30),
            pool_pre_ping: false,
            pool_recycle: None,
            echo: false,
            hide_parameters: false,
            isolation_level: None,
            query_cache_size: 500,
        }
    }
}

/// Builds an [`Engine`] with options.
///
/// ```
/// use std::time::Duration;
/// use retort_core::Engine;
///
/// let engine = Engine::builder("sqlite://")
///     .pool_timeout(Duration::from_secs(5))
///     .echo(true)
///     .build()?;
/// assert_eq!(engine.dialect().name(), "sqlite");
/// # Ok::<(), retort_core::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "call build() to create the engine"]
pub struct EngineBuilder {
    url: Result<Url>,
    options: EngineOptions,
}

impl EngineBuilder {
    /// The most connections the pool opens.
    pub fn pool_size(mut self, size: u32) -> Self {
        self.options.pool_size = size;
        self
    }

    /// How long a checkout waits for a free connection.
    pub fn pool_timeout(mut self, timeout: Duration) -> Self {
        self.options.pool_timeout = timeout;
        self
    }

    /// Whether to ping each connection at checkout.
    pub fn pool_pre_ping(mut self, pre_ping: bool) -> Self {
        self.options.pool_pre_ping = pre_ping;
        self
    }

    /// Replace connections older than `age`.
    pub fn pool_recycle(mut self, age: Duration) -> Self {
        self.options.pool_recycle = Some(age);
        self
    }

    /// Log statements and parameters through `tracing`.
    pub fn echo(mut self, echo: bool) -> Self {
        self.options.echo = echo;
        self
    }

    /// Keep parameters out of error messages and echo logs.
    pub fn hide_parameters(mut self, hide: bool) -> Self {
        self.options.hide_parameters = hide;
        self
    }

    /// The isolation level for every connection.
    pub fn isolation_level(mut self, level: IsolationLevel) -> Self {
        self.options.isolation_level = Some(level);
        self
    }

    /// How many compiled statements to keep; 0 turns the cache off. See
    /// [`EngineOptions::query_cache_size`].
    pub fn query_cache_size(mut self, size: usize) -> Self {
        self.options.query_cache_size = size;
        self
    }

    /// All options at once.
    pub fn options(mut self, options: EngineOptions) -> Self {
        self.options = options;
        self
    }

    /// Creates the engine. No connection is opened until the first checkout.
    pub fn build(self) -> Result<Engine> {
        Engine::new(self.url?, self.options)
    }
}

/// A database: its dialect and a pool of connections. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    url: Url,
    /// The dialect the URL named.
    dialect: DialectRef,
    /// The dialect as refined on the first connection (MySQL or MariaDB).
    initialized: Arc<OnceLock<DialectRef>>,
    pool: Pool,
    options: EngineOptions,
    events: Arc<Events>,
    cache: Arc<QueryCache>,
    insert_ids: Arc<InsertIdColumns>,
}

/// Creates an [`Engine`] for `url` with default options.
///
/// The dialect follows the scheme: `sqlite`, `postgresql` / `postgres`, `mysql` / `mariadb`.
/// For `mysql://` whether the server is MariaDB is found on the first connection (as
/// SQLAlchemy's dialect initialization does); until then [`Engine::dialect`] describes MySQL.
/// `mariadb://` says it up front. No connection is opened here, but a URL whose backend this
/// build leaves out (its cargo feature is off) is refused at once with
/// [`Error::BackendNotCompiled`].
pub fn create_engine(url: impl IntoUrl) -> Result<Engine> {
    Engine::builder(url).build()
}

/// Creates an [`Engine`] for `url` with `options`.
pub fn create_engine_with(url: impl IntoUrl, options: EngineOptions) -> Result<Engine> {
    Engine::new(url.into_url()?, options)
}

/// The dialect a URL's scheme names.
fn dialect_for(url: &Url) -> Result<DialectRef> {
    Ok(match url.drivername() {
        "sqlite" => Arc::new(SqliteDialect),
        "postgresql" | "postgres" => Arc::new(PostgresDialect),
        "mysql" => Arc::new(MySqlDialect { mariadb: false }),
        "mariadb" => Arc::new(MySqlDialect { mariadb: true }),
        other => {
            return Err(Error::Url(format!(
            "unknown database '{other}' (expected sqlite, postgresql, postgres, mysql or mariadb)"
        )))
        }
    })
}

impl Engine {
    /// A builder for an engine on `url`.
    pub fn builder(url: impl IntoUrl) -> EngineBuilder {
        EngineBuilder {
            url: url.into_url(),
            options: EngineOptions::default(),
        }
    }

    fn new(url: Url, options: EngineOptions) -> Result<Engine> {
        let dialect = dialect_for(&url)?;
        dialect.check_driver()?;
        let single = dialect.requires_single_connection(&url);
        let config = PoolConfig {
            max_size: if single { 1 } else { options.pool_size },
            timeout: options.pool_timeout,
            pre_ping: options.pool_pre_ping,
            // Replacing the only connection to an in-memory database would empty it.
            recycle: if single { None } else { options.pool_recycle },
            single,
        };
        let initialized = Arc::new(OnceLock::new());
        let connect_options = ConnectOptions {
            isolation_level: options.isolation_level,
        };
        let pool = Pool::new(
            url.clone(),
            dialect.clone(),
            connect_options,
            initialized.clone(),
            config,
        )?;
        Ok(Engine {
            inner: Arc::new(EngineInner {
                url,
                dialect,
                initialized,
                pool,
                events: Arc::new(Events::new(options.echo, options.hide_parameters)),
                cache: Arc::new(QueryCache::new(options.query_cache_size)),
                insert_ids: Arc::default(),
                options,
            }),
        })
    }

    /// Checks a connection out of the pool, opening one if none is idle.
    ///
    /// Fails with [`Error::PoolTimeout`] when every connection stays in use for the pool
    /// timeout, and with the driver's error (an `OperationalError`, say) when a connection
    /// cannot be opened.
    pub fn connect(&self) -> Result<Connection> {
        let conn = self.inner.pool.checkout()?;
        Ok(Connection::new(
            conn,
            self.dialect_ref(),
            self.inner.events.clone(),
            self.inner.cache.clone(),
            self.inner.insert_ids.clone(),
        ))
    }

    /// Runs `f` in a transaction on a fresh connection: committed when `f` returns `Ok`,
    /// rolled back when it returns `Err` (SQLAlchemy's `with engine.begin()`).
    pub fn transaction<T>(&self, f: impl FnOnce(&mut Transaction<'_>) -> Result<T>) -> Result<T> {
        self.connect()?.transaction(f)
    }

    /// The dialect.
    pub fn dialect(&self) -> &dyn Dialect {
        self.dialect_ref_inner().as_ref()
    }

    /// A shared handle to the dialect.
    pub fn dialect_ref(&self) -> DialectRef {
        self.dialect_ref_inner().clone()
    }

    fn dialect_ref_inner(&self) -> &DialectRef {
        self.inner.initialized.get().unwrap_or(&self.inner.dialect)
    }

    /// The URL the engine connects to.
    pub fn url(&self) -> &Url {
        &self.inner.url
    }

    /// The options the engine was created with.
    pub fn options(&self) -> &EngineOptions {
        &self.inner.options
    }

    /// Calls `listener` with the SQL and parameters of every statement this engine's
    /// connections send, before it runs (SQLAlchemy's `before_cursor_execute` event).
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use retort_core::create_engine;
    ///
    /// let engine = create_engine("sqlite://")?;
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = seen.clone();
    /// engine.on_execute(move |sql, _params| log.lock().unwrap().push(sql.to_owned()));
    /// engine.connect()?.exec_driver_sql("SELECT 1", &[])?;
    /// assert_eq!(seen.lock().unwrap().as_slice(), ["SELECT 1"]);
    /// # Ok::<(), retort_core::Error>(())
    /// ```
    pub fn on_execute(&self, listener: impl Fn(&str, &[Value]) + Send + Sync + 'static) {
        self.inner.events.listen(Arc::new(listener));
    }

    /// Closes the pool's connections: the idle ones now, the checked-out ones when they are
    /// returned (they keep working until then). Later checkouts open new connections.
    ///
    /// For a server known to have restarted or failed over, or before handing the engine to
    /// a forked process. The engine does the same by itself, for connections opened before
    /// the time, when a connection reports a disconnect. On an in-memory SQLite database the
    /// one connection *is* the database, so disposing of it empties the database.
    pub fn dispose(&self) {
        self.inner.pool.dispose();
    }

    /// What the compiled-statement cache has done: hits, misses, evictions and its size
    /// (see [`EngineOptions::query_cache_size`]).
    ///
    /// ```
    /// use retort_core::create_engine;
    /// use retort_core::sql::{select, table};
    ///
    /// let engine = create_engine("sqlite://")?;
    /// let mut conn = engine.connect()?;
    /// conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY)", &[])?;
    /// let t = table("t");
    /// for id in 0..3 {
    ///     conn.execute(&select(t.c("id")).where_(t.c("id").eq(id)))?;
    /// }
    /// let stats = engine.query_cache_stats();
    /// assert_eq!((stats.misses, stats.hits, stats.entries), (1, 2, 1));
    /// # Ok::<(), retort_core::Error>(())
    /// ```
    pub fn query_cache_stats(&self) -> QueryCacheStats {
        self.inner.cache.stats()
    }

    /// The number of connections the pool holds open, and how many of those are idle.
    pub fn pool_status(&self) -> (u32, u32) {
        self.inner.pool.state()
    }
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Engine({})", self.inner.url)
    }
}
