//! Reflection on a connection: the [`Inspector`] (SQLAlchemy's `inspect(conn)`), and
//! [`MetaData::reflect`] to load a database's tables as Core [`Table`]s.

use crate::dialect::Dialect;
use crate::engine::{Connection, Engine};
use crate::error::{Error, Result};
use crate::schema::{
    MetaData, ReflectedCheck, ReflectedColumn, ReflectedForeignKey, ReflectedIndex,
    ReflectedPrimaryKey, ReflectedTable, ReflectedUnique, Table,
};

/// Reads what tables, columns, keys, indexes and constraints a database holds, through a
/// connection the caller keeps (so it can look inside a transaction it has open).
///
/// Every method takes the schema to look in; `None` is the connection's current one
/// (PostgreSQL's `current_schema()`, MySQL's `DATABASE()`, SQLite's `main`). The methods about
/// one table fail with [`Error::InvalidRequest`] naming it when it does not exist. What each
/// database reports, and how its types map to [`SqlType`](crate::types::SqlType)s, is
/// described in [`schema::reflect`](crate::schema::reflect).
///
/// ```
/// use retort_core::schema::{Column, MetaData, Table};
/// use retort_core::types::SqlType;
///
/// let engine = retort_core::create_engine("sqlite://")?;
/// let metadata = MetaData::new();
/// Table::new("users", &metadata)
///     .column(Column::new("id", SqlType::Integer).primary_key())
///     .column(Column::new("name", SqlType::string(50)).not_null())
///     .build()?;
/// metadata.create_all(&engine)?;
///
/// let mut conn = engine.connect()?;
/// let mut inspector = conn.inspect();
/// assert_eq!(inspector.table_names(None)?, ["users"]);
/// let users = inspector.table("users", None)?;
/// assert_eq!(users.columns[1].sql_type, SqlType::string(50));
/// assert!(users.columns[0].autoincrement);
/// # Ok::<(), retort_core::Error>(())
/// ```
#[derive(Debug)]
pub struct Inspector<'c> {
    conn: &'c mut Connection,
    default_schema: Option<String>,
}

impl Connection {
    /// An [`Inspector`] over this connection.
    pub fn inspect(&mut self) -> Inspector<'_> {
        Inspector::new(self)
    }
}

impl<'c> Inspector<'c> {
    /// An inspector over `conn`.
    pub fn new(conn: &'c mut Connection) -> Self {
        Inspector {
            conn,
            default_schema: None,
        }
    }

    /// The schema unqualified names refer to, as the database names it (`None` where there is
    /// none, as on a MySQL connection without a database).
    pub fn default_schema(&mut self) -> Result<Option<String>> {
        self.hook(|d, conn| d.default_schema_name(conn))
    }

    /// The names of the schema's base tables (no views, no SQLite internal tables), sorted.
    pub fn table_names(&mut self, schema: Option<&str>) -> Result<Vec<String>> {
        let schema = self.resolve(schema)?;
        let mut names = self.hook(|d, conn| d.table_names(conn, &schema))?;
        names.sort();
        Ok(names)
    }

    /// Whether the table exists.
    pub fn has_table(&mut self, name: &str, schema: Option<&str>) -> Result<bool> {
        let schema = self.resolve(schema)?;
        self.exists(&schema, name)
    }

    /// The table's columns, in table order.
    pub fn columns(&mut self, name: &str, schema: Option<&str>) -> Result<Vec<ReflectedColumn>> {
        let schema = self.existing(name, schema)?;
        self.hook(|d, conn| d.columns(conn, &schema, name))
    }

    /// The table's primary key, if it has one.
    pub fn primary_key(
        &mut self,
        name: &str,
        schema: Option<&str>,
    ) -> Result<Option<ReflectedPrimaryKey>> {
        let schema = self.existing(name, schema)?;
        self.hook(|d, conn| d.primary_key(conn, &schema, name))
    }

    /// The table's foreign keys, by name (unnamed ones first).
    pub fn foreign_keys(
        &mut self,
        name: &str,
        schema: Option<&str>,
    ) -> Result<Vec<ReflectedForeignKey>> {
        let schema = self.existing(name, schema)?;
        self.foreign_keys_in(&schema, name)
    }

    /// The table's indexes, by name, except those that back its constraints.
    pub fn indexes(&mut self, name: &str, schema: Option<&str>) -> Result<Vec<ReflectedIndex>> {
        let schema = self.existing(name, schema)?;
        self.indexes_in(&schema, name)
    }

    /// The table's unique constraints, by name (unnamed ones first).
    pub fn unique_constraints(
        &mut self,
        name: &str,
        schema: Option<&str>,
    ) -> Result<Vec<ReflectedUnique>> {
        let schema = self.existing(name, schema)?;
        self.unique_constraints_in(&schema, name)
    }

    /// The table's check constraints, by name (unnamed ones first).
    pub fn check_constraints(
        &mut self,
        name: &str,
        schema: Option<&str>,
    ) -> Result<Vec<ReflectedCheck>> {
        let schema = self.existing(name, schema)?;
        self.check_constraints_in(&schema, name)
    }

    /// The table's comment.
    pub fn table_comment(&mut self, name: &str, schema: Option<&str>) -> Result<Option<String>> {
        let schema = self.existing(name, schema)?;
        self.hook(|d, conn| d.table_comment(conn, &schema, name))
    }

    /// Everything about the table. Its `schema` is the one asked for (`None` for the default).
    pub fn table(&mut self, name: &str, schema: Option<&str>) -> Result<ReflectedTable> {
        let resolved = self.existing(name, schema)?;
        self.table_in(&resolved, name, schema)
    }

    /// Every base table of the schema, in name order.
    pub fn tables(&mut self, schema: Option<&str>) -> Result<Vec<ReflectedTable>> {
        let resolved = self.resolve(schema)?;
        let names = self.table_names(schema)?;
        names
            .iter()
            .map(|name| self.table_in(&resolved, name, schema))
            .collect()
    }

    fn table_in(
        &mut self,
        schema: &str,
        name: &str,
        asked: Option<&str>,
    ) -> Result<ReflectedTable> {
        let d = self.conn.dialect_ref();
        Ok(ReflectedTable {
            name: name.to_owned(),
            schema: asked.map(str::to_owned),
            columns: d.columns(self.conn, schema, name)?,
            primary_key: d.primary_key(self.conn, schema, name)?,
            foreign_keys: self.foreign_keys_in(schema, name)?,
            indexes: self.indexes_in(schema, name)?,
            unique_constraints: self.unique_constraints_in(schema, name)?,
            check_constraints: self.check_constraints_in(schema, name)?,
            comment: d.table_comment(self.conn, schema, name)?,
        })
    }

    // The catalogs list constraints in no dependable order; sorting by name makes two
    // reflections of the same schema compare equal.
    fn foreign_keys_in(&mut self, schema: &str, name: &str) -> Result<Vec<ReflectedForeignKey>> {
        let mut fks = self.hook(|d, conn| d.foreign_keys(conn, schema, name))?;
        fks.sort_by(|a, b| (&a.name, &a.columns).cmp(&(&b.name, &b.columns)));
        Ok(fks)
    }

    fn indexes_in(&mut self, schema: &str, name: &str) -> Result<Vec<ReflectedIndex>> {
        let mut indexes = self.hook(|d, conn| d.indexes(conn, schema, name))?;
        indexes.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(indexes)
    }

    fn unique_constraints_in(&mut self, schema: &str, name: &str) -> Result<Vec<ReflectedUnique>> {
        let mut uniques = self.hook(|d, conn| d.unique_constraints(conn, schema, name))?;
        uniques.sort_by(|a, b| (&a.name, &a.columns).cmp(&(&b.name, &b.columns)));
        Ok(uniques)
    }

    fn check_constraints_in(&mut self, schema: &str, name: &str) -> Result<Vec<ReflectedCheck>> {
        let mut checks = self.hook(|d, conn| d.check_constraints(conn, schema, name))?;
        checks.sort_by(|a, b| (&a.name, &a.sqltext).cmp(&(&b.name, &b.sqltext)));
        Ok(checks)
    }

    /// Runs one of the dialect's reflection hooks on the connection.
    fn hook<T>(
        &mut self,
        read: impl FnOnce(&dyn Dialect, &mut Connection) -> Result<T>,
    ) -> Result<T> {
        // The dialect is a shared handle of its own, so the connection can be lent to it.
        let d = self.conn.dialect_ref();
        read(&*d, self.conn)
    }

    /// `schema`, or the default one (asked once per inspector).
    fn resolve(&mut self, schema: Option<&str>) -> Result<String> {
        if let Some(schema) = schema {
            return Ok(schema.to_owned());
        }
        if let Some(schema) = &self.default_schema {
            return Ok(schema.clone());
        }
        let schema = self.default_schema()?.ok_or_else(|| {
            Error::InvalidRequest(
                "the connection has no current schema to reflect; name one".to_owned(),
            )
        })?;
        self.default_schema = Some(schema.clone());
        Ok(schema)
    }

    fn exists(&mut self, schema: &str, name: &str) -> Result<bool> {
        let d = self.conn.dialect_ref();
        let query = d.has_table_query(&*d, Some(schema), name)?;
        Ok(!self
            .conn
            .exec_driver_sql(&query.sql, &query.params)?
            .rows()
            .is_empty())
    }

    /// The resolved schema of `name`, or an error naming the table when it does not exist.
    fn existing(&mut self, name: &str, schema: Option<&str>) -> Result<String> {
        let resolved = self.resolve(schema)?;
        if self.exists(&resolved, name)? {
            Ok(resolved)
        } else {
            Err(Error::InvalidRequest(format!(
                "no table '{name}' in schema '{resolved}'"
            )))
        }
    }
}

impl MetaData {
    /// Reflects every base table of the engine's default schema into this MetaData (replacing
    /// tables of the same names) and returns them, in name order: SQLAlchemy's
    /// `metadata.reflect(engine)`.
    ///
    /// ```
    /// use retort_core::schema::MetaData;
    ///
    /// let engine = retort_core::create_engine("sqlite://")?;
    /// engine
    ///     .connect()?
    ///     .exec_driver_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)", &[])?;
    /// let metadata = MetaData::new();
    /// let tables = metadata.reflect(&engine)?;
    /// assert_eq!(tables[0].name(), "notes");
    /// assert!(metadata.table("notes").is_some());
    /// # Ok::<(), retort_core::Error>(())
    /// ```
    pub fn reflect(&self, engine: &Engine) -> Result<Vec<Table>> {
        let mut conn = engine.connect()?;
        let tables = conn.inspect().tables(None)?;
        tables.iter().map(|t| t.to_table(self)).collect()
    }

    /// Reflects the tables `names` of `schema` (`None`: the default one) into this MetaData,
    /// through a connection the caller holds, and returns them in the order asked. A missing
    /// table is an error naming it.
    pub fn reflect_only(
        &self,
        conn: &mut Connection,
        schema: Option<&str>,
        names: &[&str],
    ) -> Result<Vec<Table>> {
        let mut inspector = conn.inspect();
        names
            .iter()
            .map(|name| inspector.table(name, schema)?.to_table(self))
            .collect()
    }
}
