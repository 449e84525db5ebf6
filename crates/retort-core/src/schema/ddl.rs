//! DDL rendering: CREATE/DROP TABLE, INDEX and enum TYPE, foreign keys added by ALTER TABLE,
//! the queries that tell whether a table or type exists — and [`DdlHooks`], the pieces a
//! dialect overrides.
//!
//! Everything here is pure: it produces SQL text, it runs nothing. Identifiers are quoted with
//! [`Dialect::quote_identifier`], literal defaults rendered with [`Dialect::render_literal`]
//! (through [`DdlHooks::default_literal`]); the text of [`ServerDefault::text`] and
//! [`CheckConstraint`](super::CheckConstraint)s is written as given.
//!
//! ```
//! use retort_core::dialect::sqlite::SqliteDialect;
//! use retort_core::schema::{create_table_sql, Column, MetaData, Table};
//! use retort_core::types::SqlType;
//!
//! let metadata = MetaData::new();
//! let users = Table::new("users", &metadata)
//!     .column(Column::new("id", SqlType::Integer).primary_key())
//!     .column(Column::new("name", SqlType::String(None)))
//!     .build()?;
//! assert_eq!(
//!     create_table_sql(&users, &SqliteDialect)?,
//!     ["CREATE TABLE \"users\" (\n  \"id\" INTEGER NOT NULL PRIMARY KEY,\n  \"name\" VARCHAR\n)"]
//! );
//! # Ok::<(), retort_core::Error>(())
//! ```

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::sql::compiler::Compiled;
use crate::types::SqlType;
use crate::value::Value;

use super::column::{Column, ServerDefault};
use super::constraint::{ConstraintName, ForeignKeyConstraint, Index};
use super::naming::truncate_name;
use super::table::Table;
use super::Constraint;

/// How a database stores comments on tables and columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentStyle {
    /// It does not: comments are left out of the DDL.
    Unsupported,
    /// In the DDL itself: `col INT COMMENT '...'` and a table option.
    Inline,
    /// With separate `COMMENT ON TABLE / COLUMN ... IS '...'` statements.
    CommentOn,
}

/// Pieces of DDL rendering a dialect may override. Every method has the generic rendering as
/// its default; each dialect's overrides live in `dialect/<db>/ddl.rs`.
///
/// The methods that render take the dialect again as `d` (the same object as `self`), so that
/// the generic defaults can quote and render literals through it.
pub trait DdlHooks {
    /// The longest identifier the database accepts, as measured by
    /// [`DdlHooks::identifier_length`]; `None` for no limit. Names a naming convention made are
    /// shortened to fit; given names that do not fit are an error.
    fn max_identifier_length(&self) -> Option<usize> {
        None
    }

    /// The length of `ident` as the database counts it (bytes by default).
    fn identifier_length(&self, ident: &str) -> usize {
        ident.len()
    }

    /// Appends the DDL of a column type.
    fn column_type(&self, _d: &dyn Dialect, ty: &SqlType, out: &mut String) -> Result<()> {
        default_column_type(ty, out)
    }

    /// Appends the type of the table's autoincrementing column (by default its ordinary type).
    fn autoincrement_column_type(
        &self,
        d: &dyn Dialect,
        ty: &SqlType,
        out: &mut String,
    ) -> Result<()> {
        d.column_type(d, ty, out)
    }

    /// Appends what makes `column` autoincrement, after its `NOT NULL`. Returns true when this
    /// also declared the primary key inline, so that no table-level `PRIMARY KEY` follows.
    fn autoincrement_clause(
        &self,
        _d: &dyn Dialect,
        _table: &Table,
        _column: &Column,
        _out: &mut String,
    ) -> Result<bool> {
        Ok(false)
    }

    /// Appends a literal `DEFAULT` value (by default [`Dialect::render_literal`]).
    fn default_literal(&self, d: &dyn Dialect, value: &Value, out: &mut String) -> Result<()> {
        d.render_literal(value, out)
    }

    /// Whether an enum column needs `CHECK (col IN (...))` to hold it to its values: true
    /// where the column type does not do it itself.
    fn enum_check(&self) -> bool {
        true
    }

    /// Appends `CREATE TYPE` for a named enum type, if the database has them; returns whether
    /// it did.
    fn create_enum_type(
        &self,
        _d: &dyn Dialect,
        _name: &str,
        _variants: &[String],
        _out: &mut String,
    ) -> Result<bool> {
        Ok(false)
    }

    /// Appends `DROP TYPE` for a named enum type, if the database has them; returns whether it
    /// did.
    fn drop_enum_type(
        &self,
        _d: &dyn Dialect,
        _name: &str,
        _if_exists: bool,
        _out: &mut String,
    ) -> Result<bool> {
        Ok(false)
    }

    /// A query returning a row if and only if the enum type `name` exists, in `schema` or the
    /// schema new types go to.
    fn has_type_query(
        &self,
        d: &dyn Dialect,
        _schema: Option<&str>,
        name: &str,
    ) -> Result<Compiled> {
        Err(Error::Compile(format!(
            "{} has no named types to look for '{name}'",
            d.name()
        )))
    }

    /// How comments are stored.
    fn comment_style(&self) -> CommentStyle {
        CommentStyle::Unsupported
    }

    /// Appends what follows the closing parenthesis of CREATE TABLE.
    fn table_options(&self, _d: &dyn Dialect, _table: &Table, _out: &mut String) -> Result<()> {
        Ok(())
    }

    /// Whether constraints can be added to and dropped from an existing table with ALTER
    /// TABLE. Where not, `use_alter` foreign keys go into CREATE TABLE like the others.
    fn alter_constraints(&self) -> bool {
        true
    }

    /// Appends the statement dropping the foreign key `name` of `table`.
    fn drop_foreign_key(
        &self,
        d: &dyn Dialect,
        table: &Table,
        name: &str,
        out: &mut String,
    ) -> Result<()> {
        out.push_str("ALTER TABLE ");
        qualified_name(d, table.schema(), table.name(), out);
        out.push_str(" DROP CONSTRAINT ");
        d.quote_identifier(name, out);
        Ok(())
    }

    /// Whether CREATE INDEX and DROP INDEX take `IF [NOT] EXISTS`.
    fn index_if_not_exists(&self) -> bool {
        true
    }

    /// Whether an index's name carries the table's schema and the table is named bare
    /// (`CREATE INDEX s.ix ON t`) rather than the other way round (`CREATE INDEX ix ON s.t`).
    fn index_name_qualified(&self) -> bool {
        false
    }

    /// Appends the statement dropping index `name` of `table`.
    fn drop_index(
        &self,
        d: &dyn Dialect,
        table: &Table,
        name: &str,
        if_exists: bool,
        out: &mut String,
    ) -> Result<()> {
        out.push_str("DROP INDEX ");
        if if_exists {
            out.push_str("IF EXISTS ");
        }
        qualified_name(d, table.schema(), name, out);
        Ok(())
    }

    /// A query returning a row if and only if the table `name` exists, in `schema` or else in
    /// the schema new tables go to.
    fn has_table_query(
        &self,
        d: &dyn Dialect,
        schema: Option<&str>,
        name: &str,
    ) -> Result<Compiled> {
        let mut sql = String::from("SELECT 1 FROM information_schema.tables WHERE table_name = ");
        d.placeholder(1, &mut sql);
        let mut params = vec![Value::from(name)];
        if let Some(schema) = schema {
            sql.push_str(" AND table_schema = ");
            d.placeholder(2, &mut sql);
            params.push(Value::from(schema));
        }
        Ok(Compiled { sql, params })
    }
}

/// The generic column types: standard SQL where there is one.
pub fn default_column_type(ty: &SqlType, out: &mut String) -> Result<()> {
    match ty {
        SqlType::Integer => out.push_str("INTEGER"),
        SqlType::SmallInteger => out.push_str("SMALLINT"),
        SqlType::BigInteger => out.push_str("BIGINT"),
        SqlType::Float => out.push_str("REAL"),
        SqlType::Double => out.push_str("DOUBLE PRECISION"),
        SqlType::Numeric { precision, scale } => numeric_type("NUMERIC", *precision, *scale, out)?,
        SqlType::String(Some(n)) => out.push_str(&format!("VARCHAR({n})")),
        SqlType::String(None) => out.push_str("VARCHAR"),
        SqlType::Text => out.push_str("TEXT"),
        SqlType::Boolean => out.push_str("BOOLEAN"),
        SqlType::Date => out.push_str("DATE"),
        SqlType::Time => out.push_str("TIME"),
        SqlType::DateTime { timezone: false } => out.push_str("TIMESTAMP"),
        SqlType::DateTime { timezone: true } => out.push_str("TIMESTAMP WITH TIME ZONE"),
        SqlType::LargeBinary => out.push_str("BLOB"),
        SqlType::Json => out.push_str("JSON"),
        SqlType::Uuid => out.push_str("UUID"),
        SqlType::Enum { variants, .. } => enum_as_varchar(variants, out),
        SqlType::Custom(sql) => out.push_str(sql),
    }
    Ok(())
}

/// `NUMERIC`, `NUMERIC(p)` or `NUMERIC(p, s)` under the name `keyword`.
pub fn numeric_type(
    keyword: &str,
    precision: Option<u32>,
    scale: Option<u32>,
    out: &mut String,
) -> Result<()> {
    match (precision, scale) {
        (None, None) => out.push_str(keyword),
        (Some(p), None) => out.push_str(&format!("{keyword}({p})")),
        (Some(p), Some(s)) => out.push_str(&format!("{keyword}({p}, {s})")),
        (None, Some(s)) => {
            return Err(Error::Compile(format!(
                "a numeric type with scale {s} needs a precision too"
            )))
        }
    }
    Ok(())
}

/// `VARCHAR(n)`, `n` the length of the longest value (in characters).
pub fn enum_as_varchar(variants: &[String], out: &mut String) {
    let longest = variants
        .iter()
        .map(|v| v.chars().count())
        .max()
        .unwrap_or(0);
    out.push_str(&format!("VARCHAR({})", longest.max(1)));
}

/// Appends `name`, or `schema.name`, each part quoted.
pub fn qualified_name(d: &dyn Dialect, schema: Option<&str>, name: &str, out: &mut String) {
    if let Some(schema) = schema {
        d.quote_identifier(schema, out);
        out.push('.');
    }
    d.quote_identifier(name, out);
}

/// What a DDL statement does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DdlKind {
    /// `CREATE TABLE`.
    CreateTable,
    /// `DROP TABLE`.
    DropTable,
    /// `CREATE INDEX`.
    CreateIndex,
    /// `DROP INDEX`.
    DropIndex,
    /// `CREATE TYPE` of an enum type (PostgreSQL). It has no `IF NOT EXISTS`: run
    /// [`has_enum_type`]'s query first and skip it when the type exists, or another table
    /// already created it.
    CreateType,
    /// `DROP TYPE` of an enum type (PostgreSQL); skip it while other tables use the type.
    DropType,
    /// `ALTER TABLE ... ADD CONSTRAINT` of a `use_alter` foreign key.
    AddConstraint,
    /// `ALTER TABLE ... DROP CONSTRAINT` of a `use_alter` foreign key.
    DropConstraint,
    /// `COMMENT ON ...`.
    Comment,
}

/// One DDL statement and what it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DdlStatement {
    /// What the statement does.
    pub kind: DdlKind,
    /// The schema of the object, as the table gives it (`None` for enum types, which live in
    /// the default schema).
    pub schema: Option<Arc<str>>,
    /// The name of the table, index, enum type or constraint the statement is about (for
    /// comments, the table).
    pub name: Arc<str>,
    /// The SQL, with no parameters.
    pub sql: String,
}

impl fmt::Display for DdlStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sql)
    }
}

/// `CREATE TABLE`, with everything that comes with it: on PostgreSQL the `CREATE TYPE` of its
/// enum types first, then the table, `COMMENT ON` statements where comments are separate, and
/// its `CREATE INDEX`es. `use_alter` foreign keys are left out where the database can add
/// them later (see [`add_foreign_key`]).
#[derive(Debug, Clone, Copy)]
pub struct CreateTable<'a> {
    table: &'a Table,
    if_not_exists: bool,
}

impl<'a> CreateTable<'a> {
    /// Creates `table`.
    pub fn new(table: &'a Table) -> Self {
        CreateTable {
            table,
            if_not_exists: false,
        }
    }

    /// `CREATE TABLE IF NOT EXISTS` (and `CREATE INDEX IF NOT EXISTS`). Enum types cannot be
    /// written that way: skip their statements by [`DdlKind::CreateType`].
    pub fn if_not_exists(mut self) -> Self {
        self.if_not_exists = true;
        self
    }

    /// The statements, in the order to run them.
    pub fn to_ddl(&self, d: &dyn Dialect) -> Result<Vec<DdlStatement>> {
        create_table(d, self.table, self.if_not_exists)
    }
}

/// `DROP TABLE`, followed on PostgreSQL by the `DROP TYPE` of its enum types.
#[derive(Debug, Clone, Copy)]
pub struct DropTable<'a> {
    table: &'a Table,
    if_exists: bool,
}

impl<'a> DropTable<'a> {
    /// Drops `table`.
    pub fn new(table: &'a Table) -> Self {
        DropTable {
            table,
            if_exists: false,
        }
    }

    /// `DROP TABLE IF EXISTS` (and `DROP TYPE IF EXISTS`).
    pub fn if_exists(mut self) -> Self {
        self.if_exists = true;
        self
    }

    /// The statements, in the order to run them.
    pub fn to_ddl(&self, d: &dyn Dialect) -> Result<Vec<DdlStatement>> {
        drop_table(d, self.table, self.if_exists)
    }
}

/// `CREATE INDEX` of one of a table's indexes (or another index over its columns).
#[derive(Debug, Clone, Copy)]
pub struct CreateIndex<'a> {
    table: &'a Table,
    index: &'a Index,
    if_not_exists: bool,
}

impl<'a> CreateIndex<'a> {
    /// Creates `index` on `table`.
    pub fn new(table: &'a Table, index: &'a Index) -> Self {
        CreateIndex {
            table,
            index,
            if_not_exists: false,
        }
    }

    /// `CREATE INDEX IF NOT EXISTS`.
    pub fn if_not_exists(mut self) -> Self {
        self.if_not_exists = true;
        self
    }

    /// The statement.
    pub fn to_ddl(&self, d: &dyn Dialect) -> Result<DdlStatement> {
        create_index(d, self.table, self.index, self.if_not_exists)
    }
}

/// `DROP INDEX`.
#[derive(Debug, Clone, Copy)]
pub struct DropIndex<'a> {
    table: &'a Table,
    index: &'a Index,
    if_exists: bool,
}

impl<'a> DropIndex<'a> {
    /// Drops `index` of `table`.
    pub fn new(table: &'a Table, index: &'a Index) -> Self {
        DropIndex {
            table,
            index,
            if_exists: false,
        }
    }

    /// `DROP INDEX IF EXISTS`.
    pub fn if_exists(mut self) -> Self {
        self.if_exists = true;
        self
    }

    /// The statement.
    pub fn to_ddl(&self, d: &dyn Dialect) -> Result<DdlStatement> {
        let name = index_name(d, self.table, self.index)?;
        check_if_exists(
            d,
            self.if_exists,
            d.index_if_not_exists(),
            "DROP INDEX IF EXISTS",
        )?;
        let mut sql = String::new();
        d.drop_index(d, self.table, &name, self.if_exists, &mut sql)?;
        Ok(DdlStatement {
            kind: DdlKind::DropIndex,
            schema: self.table.schema().map(Into::into),
            name: name.into(),
            sql,
        })
    }
}

/// The SQL of [`CreateTable`]: the statements creating `table`, in order.
pub fn create_table_sql(table: &Table, d: &dyn Dialect) -> Result<Vec<String>> {
    Ok(sql_of(CreateTable::new(table).to_ddl(d)?))
}

/// The SQL of [`DropTable`]: the statements dropping `table`, in order.
pub fn drop_table_sql(table: &Table, d: &dyn Dialect) -> Result<Vec<String>> {
    Ok(sql_of(DropTable::new(table).to_ddl(d)?))
}

/// The SQL of [`CreateIndex`].
pub fn create_index_sql(table: &Table, index: &Index, d: &dyn Dialect) -> Result<String> {
    Ok(CreateIndex::new(table, index).to_ddl(d)?.sql)
}

/// The SQL of [`DropIndex`].
pub fn drop_index_sql(table: &Table, index: &Index, d: &dyn Dialect) -> Result<String> {
    Ok(DropIndex::new(table, index).to_ddl(d)?.sql)
}

/// `ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY ...` for a `use_alter` foreign key of
/// `table`, to run once every table exists.
pub fn add_foreign_key(
    table: &Table,
    fk: &ForeignKeyConstraint,
    d: &dyn Dialect,
) -> Result<DdlStatement> {
    let name = fk_name(table, fk)?;
    let mut sql = String::from("ALTER TABLE ");
    qualified_name(d, table.schema(), table.name(), &mut sql);
    sql.push_str(" ADD ");
    foreign_key_element(d, fk, &mut sql)?;
    Ok(DdlStatement {
        kind: DdlKind::AddConstraint,
        schema: table.schema().map(Into::into),
        name: render_name(d, name)?.into(),
        sql,
    })
}

/// The statement dropping a `use_alter` foreign key of `table`, to run before the tables are
/// dropped.
pub fn drop_foreign_key(
    table: &Table,
    fk: &ForeignKeyConstraint,
    d: &dyn Dialect,
) -> Result<DdlStatement> {
    let name = render_name(d, fk_name(table, fk)?)?;
    let mut sql = String::new();
    d.drop_foreign_key(d, table, &name, &mut sql)?;
    Ok(DdlStatement {
        kind: DdlKind::DropConstraint,
        schema: table.schema().map(Into::into),
        name: name.into(),
        sql,
    })
}

/// The query returning a row if and only if `table` exists.
pub fn has_table(table: &Table, d: &dyn Dialect) -> Result<Compiled> {
    d.has_table_query(d, table.schema(), table.name())
}

/// The query returning a row if and only if the enum type of a [`DdlKind::CreateType`] or
/// [`DdlKind::DropType`] statement exists.
pub fn has_enum_type(statement: &DdlStatement, d: &dyn Dialect) -> Result<Compiled> {
    d.has_type_query(d, statement.schema.as_deref(), &statement.name)
}

fn sql_of(statements: Vec<DdlStatement>) -> Vec<String> {
    statements.into_iter().map(|s| s.sql).collect()
}

fn fk_name<'a>(table: &Table, fk: &'a ForeignKeyConstraint) -> Result<&'a ConstraintName> {
    fk.name.as_ref().ok_or_else(|| {
        Error::Argument(format!(
            "the foreign key of '{}' on {:?} has no name to add or drop it by",
            table.name(),
            fk.columns
        ))
    })
}

fn check_if_exists(d: &dyn Dialect, wanted: bool, supported: bool, what: &str) -> Result<()> {
    if wanted && !supported {
        return Err(Error::Compile(format!(
            "{} has no {what}; check for the object first",
            d.name()
        )));
    }
    Ok(())
}

/// Refuses an identifier longer than the database allows.
fn check_identifier(d: &dyn Dialect, ident: &str, what: &str) -> Result<()> {
    if let Some(max) = d.max_identifier_length() {
        let len = d.identifier_length(ident);
        if len > max {
            return Err(Error::Compile(format!(
                "{what} name '{ident}' is {len} long; {} allows {max}",
                d.name()
            )));
        }
    }
    Ok(())
}

/// A constraint or index name as the dialect gets it: generated names shortened to fit, given
/// names checked.
pub(crate) fn render_name(d: &dyn Dialect, name: &ConstraintName) -> Result<String> {
    match d.max_identifier_length() {
        Some(max) if name.generated => {
            Ok(truncate_name(&name.text, max, &|s| d.identifier_length(s)))
        }
        _ => {
            check_identifier(d, &name.text, "constraint or index")?;
            Ok(name.text.to_string())
        }
    }
}

/// Appends `CONSTRAINT "name" ` when the constraint has a name.
pub(crate) fn constraint_prefix(
    d: &dyn Dialect,
    name: Option<&ConstraintName>,
    out: &mut String,
) -> Result<()> {
    if let Some(name) = name {
        out.push_str("CONSTRAINT ");
        d.quote_identifier(&render_name(d, name)?, out);
        out.push(' ');
    }
    Ok(())
}

fn column_list(d: &dyn Dialect, columns: &[Arc<str>], out: &mut String) {
    out.push('(');
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        d.quote_identifier(c, out);
    }
    out.push(')');
}

fn foreign_key_element(d: &dyn Dialect, fk: &ForeignKeyConstraint, out: &mut String) -> Result<()> {
    constraint_prefix(d, fk.name.as_ref(), out)?;
    out.push_str("FOREIGN KEY ");
    column_list(d, &fk.columns, out);
    out.push_str(" REFERENCES ");
    qualified_name(d, fk.referred_schema.as_deref(), &fk.referred_table, out);
    out.push(' ');
    column_list(d, &fk.referred_columns, out);
    if let Some(action) = fk.ondelete {
        out.push_str(" ON DELETE ");
        out.push_str(action.as_sql());
    }
    if let Some(action) = fk.onupdate {
        out.push_str(" ON UPDATE ");
        out.push_str(action.as_sql());
    }
    Ok(())
}

fn column_definition(
    d: &dyn Dialect,
    table: &Table,
    column: &Column,
    inline_pk: &mut bool,
) -> Result<String> {
    check_identifier(d, column.name(), "column")?;
    let mut out = String::new();
    d.quote_identifier(column.name(), &mut out);
    out.push(' ');
    let autoincrement = table
        .autoincrement_column()
        .is_some_and(|c| c.name() == column.name());
    if autoincrement {
        d.autoincrement_column_type(d, column.sql_type(), &mut out)?;
    } else {
        d.column_type(d, column.sql_type(), &mut out)?;
    }
    match column.get_server_default() {
        Some(ServerDefault::Value(v)) => {
            out.push_str(" DEFAULT ");
            d.default_literal(d, v, &mut out)?;
        }
        Some(ServerDefault::Text(sql)) => {
            out.push_str(" DEFAULT ");
            out.push_str(sql);
        }
        None => {}
    }
    if !column.is_nullable() {
        out.push_str(" NOT NULL");
    }
    if autoincrement && d.autoincrement_clause(d, table, column, &mut out)? {
        *inline_pk = true;
    }
    if let (CommentStyle::Inline, Some(comment)) = (d.comment_style(), column.get_comment()) {
        out.push_str(" COMMENT ");
        d.render_literal(&Value::from(comment), &mut out)?;
    }
    Ok(out)
}

fn enum_types(table: &Table) -> Vec<(&str, &[String])> {
    let mut seen = HashSet::new();
    table
        .columns()
        .iter()
        .filter_map(|c| match c.sql_type() {
            SqlType::Enum { name, variants } if seen.insert(name.as_str()) => {
                Some((name.as_str(), variants.as_slice()))
            }
            _ => None,
        })
        .collect()
}

fn create_table(d: &dyn Dialect, table: &Table, if_not_exists: bool) -> Result<Vec<DdlStatement>> {
    check_if_exists(
        d,
        if_not_exists,
        d.capabilities().if_not_exists,
        "CREATE TABLE IF NOT EXISTS",
    )?;
    check_identifier(d, table.name(), "table")?;
    let schema: Option<Arc<str>> = table.schema().map(Into::into);
    let mut statements = Vec::new();
    for (name, variants) in enum_types(table) {
        let mut sql = String::new();
        if d.create_enum_type(d, name, variants, &mut sql)? {
            statements.push(DdlStatement {
                kind: DdlKind::CreateType,
                schema: None,
                name: name.into(),
                sql,
            });
        }
    }

    let mut elements = Vec::new();
    let mut inline_pk = false;
    for column in table.columns() {
        elements.push(column_definition(d, table, column, &mut inline_pk)?);
    }
    let mut enum_checks_done = !d.enum_check();
    for constraint in table.constraints() {
        let mut el = String::new();
        if !enum_checks_done && matches!(constraint, Constraint::ForeignKey(_)) {
            enum_check_elements(d, table, &mut elements)?;
            enum_checks_done = true;
        }
        match constraint {
            Constraint::PrimaryKey(pk) => {
                if inline_pk {
                    continue;
                }
                constraint_prefix(d, pk.name.as_ref(), &mut el)?;
                el.push_str("PRIMARY KEY ");
                column_list(d, &pk.columns, &mut el);
            }
            Constraint::Unique(u) => {
                constraint_prefix(d, u.name.as_ref(), &mut el)?;
                el.push_str("UNIQUE ");
                column_list(d, &u.columns, &mut el);
            }
            Constraint::Check(ck) => {
                constraint_prefix(d, ck.name.as_ref(), &mut el)?;
                el.push_str("CHECK (");
                el.push_str(&ck.sqltext);
                el.push(')');
            }
            Constraint::ForeignKey(fk) => {
                if fk.use_alter && d.alter_constraints() {
                    continue;
                }
                foreign_key_element(d, fk, &mut el)?;
            }
        }
        elements.push(el);
    }
    if !enum_checks_done {
        enum_check_elements(d, table, &mut elements)?;
    }

    let mut sql = String::from("CREATE TABLE ");
    if if_not_exists {
        sql.push_str("IF NOT EXISTS ");
    }
    qualified_name(d, table.schema(), table.name(), &mut sql);
    sql.push_str(" (\n  ");
    sql.push_str(&elements.join(",\n  "));
    sql.push_str("\n)");
    d.table_options(d, table, &mut sql)?;
    statements.push(DdlStatement {
        kind: DdlKind::CreateTable,
        schema: schema.clone(),
        name: table.name().into(),
        sql,
    });

    if d.comment_style() == CommentStyle::CommentOn {
        let mut comment = |target: &str, on: String, text: &str| -> Result<()> {
            let mut sql = format!("COMMENT ON {target} {on} IS ");
            d.render_literal(&Value::from(text), &mut sql)?;
            statements.push(DdlStatement {
                kind: DdlKind::Comment,
                schema: schema.clone(),
                name: table.name().into(),
                sql,
            });
            Ok(())
        };
        let mut qualified = String::new();
        qualified_name(d, table.schema(), table.name(), &mut qualified);
        if let Some(text) = table.comment() {
            comment("TABLE", qualified.clone(), text)?;
        }
        for column in table.columns() {
            if let Some(text) = column.get_comment() {
                let mut on = qualified.clone();
                on.push('.');
                d.quote_identifier(column.name(), &mut on);
                comment("COLUMN", on, text)?;
            }
        }
    }

    for index in table.indexes() {
        statements.push(create_index(d, table, index, if_not_exists)?);
    }
    Ok(statements)
}

fn enum_check_elements(d: &dyn Dialect, table: &Table, elements: &mut Vec<String>) -> Result<()> {
    for check in table.enum_checks() {
        let Some(column) = table.columns().get(check.column) else {
            continue;
        };
        let Some(variants) = column.enum_variants() else {
            continue;
        };
        let mut el = String::new();
        constraint_prefix(d, check.name.as_ref(), &mut el)?;
        el.push_str("CHECK (");
        d.quote_identifier(column.name(), &mut el);
        el.push_str(" IN (");
        for (i, v) in variants.iter().enumerate() {
            if i > 0 {
                el.push_str(", ");
            }
            d.render_literal(&Value::from(v.as_str()), &mut el)?;
        }
        el.push_str("))");
        elements.push(el);
    }
    Ok(())
}

fn drop_table(d: &dyn Dialect, table: &Table, if_exists: bool) -> Result<Vec<DdlStatement>> {
    check_if_exists(
        d,
        if_exists,
        d.capabilities().if_not_exists,
        "DROP TABLE IF EXISTS",
    )?;
    let mut sql = String::from("DROP TABLE ");
    if if_exists {
        sql.push_str("IF EXISTS ");
    }
    qualified_name(d, table.schema(), table.name(), &mut sql);
    let mut statements = vec![DdlStatement {
        kind: DdlKind::DropTable,
        schema: table.schema().map(Into::into),
        name: table.name().into(),
        sql,
    }];
    for (name, _) in enum_types(table) {
        let mut sql = String::new();
        if d.drop_enum_type(d, name, if_exists, &mut sql)? {
            statements.push(DdlStatement {
                kind: DdlKind::DropType,
                schema: None,
                name: name.into(),
                sql,
            });
        }
    }
    Ok(statements)
}

fn index_name(d: &dyn Dialect, table: &Table, index: &Index) -> Result<String> {
    let name = index.name.as_ref().ok_or_else(|| {
        Error::Argument(format!(
            "the index on {}{:?} has no name; give it one or add it to the table with \
             TableBuilder::index so the naming convention names it",
            table.name(),
            index.columns
        ))
    })?;
    render_name(d, name)
}

fn create_index(
    d: &dyn Dialect,
    table: &Table,
    index: &Index,
    if_not_exists: bool,
) -> Result<DdlStatement> {
    check_if_exists(
        d,
        if_not_exists,
        d.index_if_not_exists(),
        "CREATE INDEX IF NOT EXISTS",
    )?;
    if let Some(c) = index.columns.iter().find(|c| table.column(c).is_none()) {
        return Err(Error::Argument(format!(
            "the index on {} names column '{c}', which the table lacks",
            table.name()
        )));
    }
    let name = index_name(d, table, index)?;
    let mut sql = String::from(if index.unique {
        "CREATE UNIQUE INDEX "
    } else {
        "CREATE INDEX "
    });
    if if_not_exists {
        sql.push_str("IF NOT EXISTS ");
    }
    if d.index_name_qualified() {
        qualified_name(d, table.schema(), &name, &mut sql);
        sql.push_str(" ON ");
        d.quote_identifier(table.name(), &mut sql);
    } else {
        d.quote_identifier(&name, &mut sql);
        sql.push_str(" ON ");
        qualified_name(d, table.schema(), table.name(), &mut sql);
    }
    sql.push(' ');
    column_list(d, &index.columns, &mut sql);
    Ok(DdlStatement {
        kind: DdlKind::CreateIndex,
        schema: table.schema().map(Into::into),
        name: name.into(),
        sql,
    })
}
