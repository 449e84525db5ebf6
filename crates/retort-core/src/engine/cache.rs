//! The compiled-statement cache: SQL text compiled once per statement shape (SQLAlchemy's
//! compiled cache).
//!
//! Each [`Engine`](crate::Engine) keeps one, shared by its connections and sized by
//! [`EngineOptions::query_cache_size`](crate::engine::EngineOptions::query_cache_size)
//! (500 entries by default; 0 turns it off). A statement built anew for every call, with
//! other values each time, compiles its SQL text once; later executions only collect its
//! parameters.
//!
//! **The key.** [`Connection::execute`](crate::Connection::execute) runs the statement
//! compiler in shape mode ([`SqlCompiler::run_shape`]): the same pass as a full compile,
//! which writes a *shape key* instead of SQL text and collects the parameters as it goes. The
//! key records every piece of text, every name and every placeholder the compile would write,
//! so equal keys on one dialect mean equal SQL, and wherever a value decides the SQL (a
//! `NULL` compared with `=` rendered `IS NULL`, a LIMIT written as a number, a cast that
//! PostgreSQL adds for a value's type, an empty IN list) the key differs as the SQL does.
//! Keys are compared byte for byte (a hash only finds the bucket), and the dialect is part of
//! the key (MySQL and MariaDB compile differently).
//!
//! **The parameters** of a hit are the ones the shape-mode pass collected: the compiler's own
//! walk decides their order, as it does for a full compile.
//!
//! **Left out**, compiled every time: textual SQL ([`text()`](crate::sql::text())), statement
//! types of other crates that do not implement [`Executable::compile_into`], and shapes whose
//! key is over [`MAX_KEY_BYTES`] (a huge IN list, a bulk INSERT of thousands of rows).
//!
//! **Eviction** is least recently used: a full cache drops the entry whose last use is
//! oldest before adding a new one (found by a scan of the entries, on a miss only; a hit only
//! stamps its entry).
//!
//! In debug builds every hit is checked against a full compile, and a difference panics with
//! both, so that every test that executes statements also checks the cache.
//! [`Engine::query_cache_stats`](crate::Engine::query_cache_stats) tells hits and misses.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::dialect::{Dialect, DialectRef};
use crate::error::{Error, Result};
use crate::sql::compiler::{fill_binds, BindSlot, Compiled, Executable, Shape, SqlCompiler};
use crate::value::Value;

/// The longest shape key that is cached, in bytes. A key is about as long as the SQL it
/// stands for; longer statements are compiled every time rather than holding that much
/// memory per entry.
pub const MAX_KEY_BYTES: usize = 64 * 1024;

/// What the compiled-statement cache has done, from [`Engine::query_cache_stats`].
///
/// [`Engine::query_cache_stats`]: crate::Engine::query_cache_stats
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct QueryCacheStats {
    /// Executions whose SQL text came from the cache.
    pub hits: u64,
    /// Executions of a cacheable statement not found in the cache: compiled, and stored when
    /// that succeeded.
    pub misses: u64,
    /// Executions compiled without the cache: textual SQL, statements too large to cache,
    /// statements refused already by the shape-mode pass, and every execution when the cache
    /// is off.
    pub uncached: u64,
    /// Entries dropped to make room.
    pub evictions: u64,
    /// Entries held now.
    pub entries: usize,
    /// The most entries held ([`EngineOptions::query_cache_size`]).
    ///
    /// [`EngineOptions::query_cache_size`]: crate::engine::EngineOptions::query_cache_size
    pub capacity: usize,
}

/// A statement's SQL text, from the cache or compiled for this execution, and its parameters.
pub(crate) struct CompiledStatement {
    sql: SqlText,
    /// The parameters, in placeholder order.
    pub(crate) params: Vec<Value>,
    /// The places of its named parameters in `params`, whose values the caller gives.
    pub(crate) binds: Vec<BindSlot>,
}

enum SqlText {
    Shared(Arc<str>),
    Owned(String),
}

impl CompiledStatement {
    /// The statement kept to run again on connections with `dialect`.
    pub(crate) fn prepared(self, dialect: DialectRef) -> PreparedStatement {
        PreparedStatement {
            sql: match self.sql {
                SqlText::Shared(sql) => sql,
                SqlText::Owned(sql) => sql.into(),
            },
            params: self.params,
            binds: self.binds,
            dialect,
        }
    }

    /// The statement as it runs: `given` fills its named parameters, and one without a value
    /// (or a value without a parameter) is an error.
    pub(crate) fn bind(mut self, given: &[(&str, Value)]) -> Result<CompiledStatement> {
        fill_binds(&mut self.params, &self.binds, given)?;
        Ok(self)
    }

    /// The SQL text.
    pub(crate) fn sql(&self) -> &str {
        match &self.sql {
            SqlText::Shared(s) => s,
            SqlText::Owned(s) => s,
        }
    }
}

/// A statement compiled once for the dialect of one engine's connections, by
/// [`Connection::prepare`](crate::Connection::prepare), to run many times: each run sends its
/// SQL as it is, with the statement's own values and those given for its
/// [`bindparam`](crate::sql::bindparam)s, skipping the shape pass that finds a statement in
/// the cache. The drivers keep each SQL text prepared on their side too.
///
/// It runs on connections of the engine that prepared it (and the engine's clones); on
/// another engine's it is an [`Error::InvalidRequest`]. Its runs are not counted in
/// [`QueryCacheStats`].
///
/// ```
/// use retort_core::create_engine;
/// use retort_core::sql::{bindparam, select, table};
///
/// let engine = create_engine("sqlite://")?;
/// let mut conn = engine.connect()?;
/// conn.exec_driver_sql("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)", &[])?;
/// conn.exec_driver_sql("INSERT INTO users (name) VALUES ('Alice'), ('Bob')", &[])?;
///
/// let users = table("users");
/// let by_id = conn.prepare(&select(users.c("name")).where_(users.c("id").eq(bindparam("id"))))?;
/// let mut names = Vec::new();
/// for id in [2, 1] {
///     let found: Vec<String> = conn.query_map_with(&by_id, &[("id", id.into())], |r| r.get(0))?;
///     names.extend(found);
/// }
/// assert_eq!(names, ["Bob", "Alice"]);
/// # Ok::<(), retort_core::Error>(())
/// ```
#[derive(Clone)]
pub struct PreparedStatement {
    sql: Arc<str>,
    params: Vec<Value>,
    binds: Vec<BindSlot>,
    dialect: DialectRef,
}

impl std::fmt::Debug for PreparedStatement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedStatement")
            .field("sql", &self.sql)
            .field("params", &self.params)
            .field("binds", &self.binds)
            .field("dialect", &self.dialect.name())
            .finish()
    }
}

impl PreparedStatement {
    /// The SQL text it sends.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The names of its bind parameters, in placeholder order (a name used twice is listed
    /// twice).
    pub fn bind_names(&self) -> impl Iterator<Item = &str> {
        self.binds.iter().map(|b| &*b.name)
    }

    /// Fails unless `dialect` is the one it was compiled for (the same engine's).
    fn check_dialect(&self, dialect: &dyn Dialect) -> Result<()> {
        if std::ptr::addr_eq(dialect, Arc::as_ptr(&self.dialect)) {
            return Ok(());
        }
        Err(Error::InvalidRequest(format!(
            "this statement was prepared on a connection of another engine ({}); prepare it \
             again on this one ({})",
            self.dialect.name(),
            dialect.name()
        )))
    }

    /// The statement as it runs on a connection whose dialect is `dialect`, with `given`
    /// for its bind parameters (their places filled, so the result has none left).
    pub(crate) fn bound(
        &self,
        dialect: &dyn Dialect,
        given: &[(&str, Value)],
    ) -> Result<CompiledStatement> {
        self.check_dialect(dialect)?;
        let mut params = self.params.clone();
        fill_binds(&mut params, &self.binds, given)?;
        Ok(CompiledStatement {
            sql: SqlText::Shared(Arc::clone(&self.sql)),
            params,
            binds: Vec::new(),
        })
    }
}

impl Executable for PreparedStatement {
    fn compile(&self, dialect: &dyn Dialect) -> Result<Compiled> {
        self.check_dialect(dialect)?;
        Ok(Compiled {
            sql: self.sql.to_string(),
            params: self.params.clone(),
            binds: self.binds.clone(),
        })
    }

    fn prepared(&self) -> Option<&PreparedStatement> {
        Some(self)
    }
}

/// An engine's compiled-statement cache; see the [module](self) documentation.
pub(crate) struct QueryCache {
    capacity: usize,
    state: Mutex<State>,
    /// Outside the lock: a cache of size 0 takes none.
    uncached: AtomicU64,
}

#[derive(Default)]
struct State {
    /// The dialects keys were made for; a key ends with its dialect's index here. Held so
    /// that a dialect's identity (its address) cannot be reused while its entries live.
    dialects: Vec<DialectRef>,
    entries: HashMap<Vec<u8>, Entry, BuildHasherDefault<KeyHasher>>,
    /// Counts uses, to order entries by their last.
    clock: u64,
    stats: QueryCacheStats,
}

/// A fast hash of shape keys: keys are compared whole, so the hash only has to spread them
/// over buckets, and the map is too small (bounded by the capacity) for crafted collisions to
/// cost much.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        // FxHash's step, 8 bytes at a time.
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut step = |word: u64| self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            step(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        let mut word = [0; 8];
        word[..rest.len()].copy_from_slice(rest);
        step(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

struct Entry {
    sql: Arc<str>,
    last_used: u64,
}

impl State {
    /// The index of `dialect` in `dialects`, adding it if new.
    fn dialect_index(&mut self, dialect: &DialectRef) -> usize {
        match self.dialects.iter().position(|d| Arc::ptr_eq(d, dialect)) {
            Some(i) => i,
            None => {
                self.dialects.push(dialect.clone());
                self.dialects.len() - 1
            }
        }
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }
}

impl QueryCache {
    /// A cache of at most `capacity` entries; 0 caches nothing.
    pub(crate) fn new(capacity: usize) -> QueryCache {
        QueryCache {
            capacity,
            state: Mutex::new(State::default()),
            uncached: AtomicU64::new(0),
        }
    }

    /// The counters and the current size.
    pub(crate) fn stats(&self) -> QueryCacheStats {
        let state = self.lock();
        QueryCacheStats {
            entries: state.entries.len(),
            capacity: self.capacity,
            uncached: self.uncached.load(Ordering::Relaxed),
            ..state.stats
        }
    }

    /// A panic while the lock was held cannot leave the map inconsistent (each change is one
    /// map operation), so a poisoned lock is used as it is.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn uncached(
        &self,
        dialect: &dyn Dialect,
        stmt: &(impl Executable + ?Sized),
    ) -> Result<CompiledStatement> {
        self.uncached.fetch_add(1, Ordering::Relaxed);
        let compiled = stmt.compile(dialect)?;
        Ok(CompiledStatement {
            sql: SqlText::Owned(compiled.sql),
            params: compiled.params,
            binds: compiled.binds,
        })
    }

    /// `stmt`'s SQL for `dialect` and its parameters, with `given` for its bind parameters:
    /// a prepared statement's own, else the SQL from the cache when a statement of the same
    /// shape was compiled before, else compiled (and stored).
    pub(crate) fn compile_bound(
        &self,
        dialect: &DialectRef,
        stmt: &(impl Executable + ?Sized),
        given: &[(&str, Value)],
    ) -> Result<CompiledStatement> {
        match stmt.prepared() {
            Some(prepared) => prepared.bound(dialect.as_ref(), given),
            None => self.compile(dialect, stmt)?.bind(given),
        }
    }

    /// `stmt`'s SQL for `dialect` and its parameters: the SQL from the cache when a
    /// statement of the same shape was compiled before, else compiled (and stored).
    pub(crate) fn compile(
        &self,
        dialect: &DialectRef,
        stmt: &(impl Executable + ?Sized),
    ) -> Result<CompiledStatement> {
        if self.capacity == 0 {
            return self.uncached(dialect.as_ref(), stmt);
        }
        let mut cacheable = true;
        let shaped = SqlCompiler::new(dialect.as_ref()).run_shape(|c| match stmt.compile_into(c) {
            Some(result) => result,
            None => {
                cacheable = false;
                Ok(())
            }
        });
        // A statement that fails here fails the full compile too, with its own error.
        let Shape {
            mut key,
            params,
            binds,
        } = match shaped {
            Ok(shaped) if cacheable && shaped.key.len() <= MAX_KEY_BYTES => shaped,
            _ => return self.uncached(dialect.as_ref(), stmt),
        };
        let mut state = self.lock();
        let index = state.dialect_index(dialect);
        // A fixed-width suffix keeps keys of different dialects apart.
        key.extend_from_slice(&index.to_le_bytes());
        let now = state.tick();
        if let Some(entry) = state.entries.get_mut(key.as_slice()) {
            entry.last_used = now;
            let sql = entry.sql.clone();
            state.stats.hits += 1;
            drop(state);
            #[cfg(debug_assertions)]
            check_hit(dialect.as_ref(), stmt, &sql, &params, &binds);
            return Ok(CompiledStatement {
                sql: SqlText::Shared(sql),
                params,
                binds,
            });
        }
        state.stats.misses += 1;
        drop(state);
        let compiled = stmt.compile(dialect.as_ref())?;
        debug_assert!(
            (compiled.params == params
                || format!("{:?}", compiled.params) == format!("{params:?}"))
                && compiled.binds == binds,
            "shape-mode parameters {params:?} {binds:?} differ from the compiled {:?} {:?}",
            compiled.params,
            compiled.binds
        );
        let sql: Arc<str> = compiled.sql.into();
        let mut state = self.lock();
        if state.entries.len() >= self.capacity && !state.entries.contains_key(key.as_slice()) {
            let oldest = state
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                state.entries.remove(&oldest);
                state.stats.evictions += 1;
            }
        }
        state.entries.insert(
            key,
            Entry {
                sql: sql.clone(),
                last_used: now,
            },
        );
        drop(state);
        Ok(CompiledStatement {
            sql: SqlText::Shared(sql),
            params: compiled.params,
            binds: compiled.binds,
        })
    }
}

/// Panics unless a full compile of `stmt` gives the SQL and parameters a cache hit gave.
#[cfg(debug_assertions)]
fn check_hit(
    dialect: &dyn Dialect,
    stmt: &(impl Executable + ?Sized),
    sql: &str,
    params: &[Value],
    binds: &[BindSlot],
) {
    let full = stmt.compile(dialect);
    let same = match &full {
        // Compared as shown too: a NaN parameter is not equal to itself.
        Ok(c) => {
            c.sql == sql
                && (c.params == params || format!("{:?}", c.params) == format!("{params:?}"))
                && c.binds == binds
        }
        Err(_) => false,
    };
    assert!(
        same,
        "compiled-statement cache mismatch on {}:\n cached: {sql}\n  params {params:?}\n \
         compiled: {full:?}",
        dialect.name()
    );
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::dialect::mysql::MySqlDialect;
    use crate::dialect::postgres::PostgresDialect;
    use crate::sql::{select, table};
    use crate::types::SqlType;

    fn dialect(d: impl Dialect + 'static) -> DialectRef {
        Arc::new(d)
    }

    #[test]
    fn mysql_and_mariadb_keep_entries_apart() {
        let cache = QueryCache::new(10);
        let t = table("t");
        // MariaDB's JSON is text: the cast differs.
        let q = |n: i64| select(t.c("a").cast(SqlType::Json)).where_(t.c("b").eq(n));
        let mysql = dialect(MySqlDialect { mariadb: false });
        let mariadb = dialect(MySqlDialect { mariadb: true });
        let a = cache.compile(&mysql, &q(1)).unwrap();
        let b = cache.compile(&mariadb, &q(2)).unwrap();
        assert!(a.sql().contains("AS JSON)"), "{}", a.sql());
        assert!(b.sql().contains("AS CHAR)"), "{}", b.sql());
        let c = cache.compile(&mariadb, &q(3)).unwrap();
        assert_eq!(
            (c.sql(), c.params.as_slice()),
            (b.sql(), &[Value::Int(3)][..])
        );
        let stats = cache.stats();
        assert_eq!((stats.misses, stats.hits, stats.entries), (2, 1, 2));
    }

    #[test]
    fn a_value_that_changes_the_sql_changes_the_key() {
        // PostgreSQL casts a parameter alone in the select list to its value's type, and an
        // integer past 32 bits is a BIGINT.
        let cache = QueryCache::new(10);
        let pg = dialect(PostgresDialect);
        let q = |v: Value| select(crate::sql::expr::literal(v));
        let small = cache.compile(&pg, &q(Value::Int(1))).unwrap();
        let big = cache.compile(&pg, &q(Value::Int(1 << 40))).unwrap();
        let text = cache.compile(&pg, &q(Value::Text("x".into()))).unwrap();
        assert_eq!(small.sql(), "SELECT $1::INTEGER");
        assert_eq!(big.sql(), "SELECT $1::BIGINT");
        assert_eq!(text.sql(), "SELECT $1");
        assert_eq!(cache.stats().misses, 3);
        let again = cache.compile(&pg, &q(Value::Int(7))).unwrap();
        assert_eq!(
            (again.sql(), again.params.as_slice()),
            ("SELECT $1::INTEGER", &[Value::Int(7)][..])
        );
        assert_eq!(cache.stats().hits, 1);
    }

    /// A statement whose full compile changes from one call to the next, as a bug in the key
    /// would look from the cache.
    struct Drifting {
        calls: Cell<u32>,
    }

    impl Executable for Drifting {
        fn compile(&self, dialect: &dyn Dialect) -> Result<Compiled> {
            self.calls.set(self.calls.get() + 1);
            let t = table(if self.calls.get() == 1 { "a" } else { "b" });
            select(t.c("x")).compile(dialect)
        }

        fn compile_into(&self, c: &mut SqlCompiler<'_>) -> Option<Result<()>> {
            Some(c.select(select(table("a").c("x")).core()))
        }
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "compiled-statement cache mismatch")]
    fn a_hit_that_differs_from_a_full_compile_panics_in_debug_builds() {
        let cache = QueryCache::new(10);
        let pg = dialect(PostgresDialect);
        let stmt = Drifting {
            calls: Cell::new(0),
        };
        cache.compile(&pg, &stmt).unwrap();
        let _ = cache.compile(&pg, &stmt);
    }
}
