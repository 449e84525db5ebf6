//! Running schema DDL on an engine: `metadata.create_all(&engine)` and friends.

use crate::dialect::DialectRef;
use crate::engine::{Connection, Engine};
use crate::error::Result;
use crate::schema::{self, DdlExecutor, MetaData, Table};
use crate::sql::compiler::Compiled;

impl DdlExecutor for Connection {
    fn dialect(&self) -> DialectRef {
        self.dialect_ref()
    }

    fn exists(&mut self, query: &Compiled) -> Result<bool> {
        Ok(!self
            .exec_driver_sql(&query.sql, &query.params)?
            .rows()
            .is_empty())
    }

    fn execute(&mut self, sql: &str) -> Result<()> {
        self.exec_driver_sql(sql, &[]).map(|_| ())
    }
}

/// Runs `f` with a connection, inside a transaction where DDL is transactional, so a failure
/// leaves nothing half-created there.
fn run_ddl(engine: &Engine, f: impl FnOnce(&mut Connection) -> Result<()>) -> Result<()> {
    let mut conn = engine.connect()?;
    if engine.dialect().capabilities().transactional_ddl {
        conn.transaction(|tx| f(tx))
    } else {
        f(&mut conn)
    }
}

impl MetaData {
    /// Creates every table that does not exist yet, in foreign-key order, with its indexes:
    /// SQLAlchemy's `metadata.create_all(engine)`.
    ///
    /// ```
    /// use retort_core::schema::{Column, MetaData, Table};
    /// use retort_core::types::SqlType;
    ///
    /// let engine = retort_core::create_engine("sqlite://")?;
    /// let metadata = MetaData::new();
    /// Table::new("users", &metadata)
    ///     .column(Column::new("id", SqlType::Integer).primary_key())
    ///     .build()?;
    /// metadata.create_all(&engine)?;
    /// metadata.create_all(&engine)?; // existing tables are skipped
    /// # Ok::<(), retort_core::Error>(())
    /// ```
    pub fn create_all(&self, engine: &Engine) -> Result<()> {
        run_ddl(engine, |conn| schema::create_all(self, conn))
    }

    /// Drops every table that exists, referring tables first: `metadata.drop_all(engine)`.
    pub fn drop_all(&self, engine: &Engine) -> Result<()> {
        run_ddl(engine, |conn| schema::drop_all(self, conn))
    }
}

impl Table {
    /// Creates this table (and its indexes) unless it exists: `table.create(engine)`.
    pub fn create(&self, engine: &Engine) -> Result<()> {
        run_ddl(engine, |conn| {
            schema::create_tables(std::slice::from_ref(self), conn, true)
        })
    }

    /// Drops this table if it exists: `table.drop(engine)`.
    pub fn drop(&self, engine: &Engine) -> Result<()> {
        run_ddl(engine, |conn| {
            schema::drop_tables(std::slice::from_ref(self), conn, true)
        })
    }
}
