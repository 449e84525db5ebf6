//! Tables: the builder that defines one in a [`MetaData`], and the shared handle it returns.

use std::collections::HashSet;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::sql::ast::{ColumnRef, Expr, FromItem, IntoFromItem, TableRef};
use crate::sql::selectable::IntoTableRef;
use crate::types::SqlType;

use super::column::Column;
use super::constraint::{
    CheckConstraint, Constraint, ConstraintName, ForeignKeyConstraint, Index, PrimaryKeyConstraint,
    UniqueConstraint,
};
use super::metadata::{MetaData, WeakMetaData};
use super::naming::{ConstraintKind, NameTokens, NamingConvention};

/// The key a table is registered under in its [`MetaData`]: `schema.name`, or `name`.
pub(crate) fn table_key(schema: Option<&str>, name: &str) -> String {
    match schema {
        Some(schema) => format!("{schema}.{name}"),
        None => name.to_owned(),
    }
}

/// A table: a cheap, shareable handle (an `Arc`) to an immutable definition.
///
/// Made with [`Table::new`] and [`TableBuilder::build`], which registers it in a [`MetaData`].
///
/// ```
/// use retort_core::schema::{Column, MetaData, Table};
/// use retort_core::sql::ast::Expr;
/// use retort_core::types::SqlType;
///
/// let metadata = MetaData::new();
/// let users = Table::new("users", &metadata)
///     .column(Column::new("id", SqlType::Integer).primary_key())
///     .column(Column::new("name", SqlType::String(None)))
///     .build()?;
/// assert_eq!(users.primary_key()[0].name(), "id");
/// assert!(matches!(users.c("name"), Expr::Column(_)));
/// assert!(matches!(users.c("nmae"), Expr::Invalid(_)));
/// assert_eq!(metadata.table("users").unwrap().name(), "users");
/// # Ok::<(), retort_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Table {
    inner: Arc<TableInner>,
}

#[derive(Debug)]
struct TableInner {
    key: Arc<str>,
    /// The MetaData it was built in, where a join looks up the tables on its other side.
    metadata: WeakMetaData,
    table_ref: TableRef,
    comment: Option<Arc<str>>,
    columns: Vec<Column>,
    constraints: Vec<Constraint>,
    indexes: Vec<Index>,
    autoincrement: Option<usize>,
    enum_checks: Vec<EnumCheck>,
    /// What the user declared, kept so that `extend_existing` can rebuild from it.
    declared_constraints: Vec<Constraint>,
    declared_indexes: Vec<Index>,
}

/// The CHECK that keeps an enum column to its values where the database has no enum type.
#[derive(Debug, Clone)]
pub(crate) struct EnumCheck {
    pub(crate) column: usize,
    pub(crate) name: Option<ConstraintName>,
}

impl Table {
    /// Starts defining the table `name` in `metadata`.
    // Spelled like SQLAlchemy's `Table(name, metadata, ...)`; build() gives the Table.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(name: impl Into<Arc<str>>, metadata: &MetaData) -> TableBuilder {
        TableBuilder {
            metadata: metadata.clone(),
            name: name.into(),
            schema: None,
            comment: None,
            columns: Vec::new(),
            constraints: Vec::new(),
            indexes: Vec::new(),
            extend_existing: false,
        }
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.inner.table_ref.name
    }

    /// The table's schema, if not the default one.
    pub fn schema(&self) -> Option<&str> {
        self.inner.table_ref.schema.as_deref()
    }

    /// The key the table is registered under in its [`MetaData`]: `schema.name` or `name`.
    pub fn key(&self) -> &str {
        &self.inner.key
    }

    /// The table's comment.
    pub fn comment(&self) -> Option<&str> {
        self.inner.comment.as_deref()
    }

    /// The columns, in definition order.
    pub fn columns(&self) -> &[Column] {
        &self.inner.columns
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.inner.columns.iter().find(|c| &*c.name == name)
    }

    /// The column `name` as an expression qualified by this table. An unknown name gives an
    /// [`Expr::Invalid`] that fails when compiled, so building a statement never panics.
    pub fn c(&self, name: &str) -> Expr {
        column_expr(self, &self.inner.table_ref, name)
    }

    /// The primary key's columns, in key order (empty when the table has none).
    pub fn primary_key(&self) -> Vec<&Column> {
        self.primary_key_constraint()
            .map(|pk| pk.columns.iter().filter_map(|c| self.column(c)).collect())
            .unwrap_or_default()
    }

    /// The primary key constraint, if the table has a primary key.
    pub fn primary_key_constraint(&self) -> Option<&PrimaryKeyConstraint> {
        self.inner.constraints.iter().find_map(|c| match c {
            Constraint::PrimaryKey(pk) => Some(pk),
            _ => None,
        })
    }

    /// The column that takes its value from the database's counter, if any.
    pub fn autoincrement_column(&self) -> Option<&Column> {
        self.inner
            .autoincrement
            .and_then(|i| self.inner.columns.get(i))
    }

    /// The foreign keys: those declared on columns (one per column reference) and those added
    /// as [`ForeignKeyConstraint`]s.
    pub fn foreign_keys(&self) -> impl Iterator<Item = &ForeignKeyConstraint> {
        self.inner.constraints.iter().filter_map(|c| match c {
            Constraint::ForeignKey(fk) => Some(fk),
            _ => None,
        })
    }

    /// Every constraint, names resolved: the primary key, then unique constraints, checks and
    /// foreign keys, each kind with the column-level ones first (in column order) and the
    /// table-level ones after (in the order given).
    pub fn constraints(&self) -> &[Constraint] {
        &self.inner.constraints
    }

    /// The indexes: column-level ones first, in column order, then the ones added with
    /// [`TableBuilder::index`].
    pub fn indexes(&self) -> &[Index] {
        &self.inner.indexes
    }

    /// The table as a FROM item refers to it.
    pub fn table_ref(&self) -> TableRef {
        self.inner.table_ref.clone()
    }

    /// An alias of the table, for self-joins: `FROM users AS u`.
    pub fn alias(&self, alias: impl Into<Arc<str>>) -> TableAlias {
        let mut table_ref = self.inner.table_ref.clone();
        table_ref.alias = Some(alias.into());
        TableAlias {
            table: self.clone(),
            table_ref,
        }
    }

    /// The [`MetaData`] the table was built in, while that still exists.
    pub fn metadata(&self) -> Option<MetaData> {
        self.inner.metadata.upgrade()
    }

    /// Whether two handles are the same definition (not merely the same name).
    pub fn ptr_eq(&self, other: &Table) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    pub(crate) fn enum_checks(&self) -> &[EnumCheck] {
        &self.inner.enum_checks
    }
}

pub(super) fn column_expr(table: &Table, table_ref: &TableRef, name: &str) -> Expr {
    match table.column(name) {
        Some(column) => Expr::Column(ColumnRef {
            table: Some(table_ref.clone()),
            name: column.name.clone(),
            sql_type: Some(column.sql_type.clone()),
        }),
        None => Expr::Invalid(
            format!("table '{}' has no column '{name}'", table_ref.qualifier()).into(),
        ),
    }
}

/// A table under another name: `users AS u`.
#[derive(Debug, Clone)]
pub struct TableAlias {
    table: Table,
    table_ref: TableRef,
}

impl TableAlias {
    /// The alias.
    pub fn name(&self) -> &str {
        self.table_ref.qualifier()
    }

    /// The aliased table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The column `name` qualified by the alias; an unknown name gives [`Expr::Invalid`].
    pub fn c(&self, name: &str) -> Expr {
        column_expr(&self.table, &self.table_ref, name)
    }

    /// The aliased table as a FROM item refers to it.
    pub fn table_ref(&self) -> TableRef {
        self.table_ref.clone()
    }
}

impl IntoFromItem for &Table {
    fn into_from_item(self) -> FromItem {
        FromItem::Table(self.table_ref())
    }
}

impl IntoFromItem for Table {
    fn into_from_item(self) -> FromItem {
        FromItem::Table(self.table_ref())
    }
}

impl IntoFromItem for &TableAlias {
    fn into_from_item(self) -> FromItem {
        FromItem::Table(self.table_ref())
    }
}

impl IntoFromItem for TableAlias {
    fn into_from_item(self) -> FromItem {
        FromItem::Table(self.table_ref)
    }
}

impl IntoTableRef for &Table {
    fn into_table_ref(self) -> TableRef {
        self.table_ref()
    }
}

impl IntoTableRef for Table {
    fn into_table_ref(self) -> TableRef {
        self.table_ref()
    }
}

impl IntoTableRef for &TableAlias {
    fn into_table_ref(self) -> TableRef {
        self.table_ref()
    }
}

impl IntoTableRef for TableAlias {
    fn into_table_ref(self) -> TableRef {
        self.table_ref
    }
}

/// Defines a table; [`TableBuilder::build`] checks the definition and registers it.
#[derive(Debug)]
#[must_use = "a table is registered only by build()"]
pub struct TableBuilder {
    metadata: MetaData,
    name: Arc<str>,
    schema: Option<Arc<str>>,
    comment: Option<Arc<str>>,
    columns: Vec<Column>,
    constraints: Vec<Constraint>,
    indexes: Vec<Index>,
    extend_existing: bool,
}

impl TableBuilder {
    /// Adds a column.
    pub fn column(mut self, column: Column) -> Self {
        self.columns.push(column);
        self
    }

    /// Adds a table-level constraint: a [`PrimaryKeyConstraint`], [`UniqueConstraint`],
    /// [`CheckConstraint`] or [`ForeignKeyConstraint`].
    pub fn constraint(mut self, constraint: impl Into<Constraint>) -> Self {
        self.constraints.push(constraint.into());
        self
    }

    /// Adds an index.
    pub fn index(mut self, index: Index) -> Self {
        self.indexes.push(index);
        self
    }

    /// Puts the table in `schema` (a PostgreSQL schema, a MySQL database, an attached SQLite
    /// database).
    pub fn schema(mut self, schema: impl Into<Arc<str>>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// A comment stored with the table (ignored on SQLite).
    pub fn comment(mut self, comment: impl Into<Arc<str>>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// Lets [`TableBuilder::build`] redefine a table the MetaData already has, as SQLAlchemy's
    /// `extend_existing=True`: columns replace the existing ones of the same name or are added
    /// after them; constraints and indexes are added to the existing ones. The new definition
    /// replaces the old in the MetaData, in the same place; handles to the old one keep seeing
    /// the old definition.
    pub fn extend_existing(mut self) -> Self {
        self.extend_existing = true;
        self
    }

    /// Checks the definition, names its constraints and indexes by the MetaData's naming
    /// convention, and registers the table.
    ///
    /// Errors: [`Error::InvalidRequest`] when the MetaData already has a table of that name
    /// (unless [`TableBuilder::extend_existing`]), as SQLAlchemy; [`Error::Argument`] for a bad
    /// definition (duplicate columns, a constraint on an unknown column, a nullable primary
    /// key, an enum without values, a naming-convention template that cannot be filled, ...).
    pub fn build(self) -> Result<Table> {
        let metadata = self.metadata.clone();
        metadata.register(self)
    }

    /// Builds the definition against what the MetaData holds; called with its lock held.
    pub(crate) fn finish(
        mut self,
        existing: Option<&Table>,
        convention: &NamingConvention,
    ) -> Result<Table> {
        if self.name.is_empty() {
            return Err(Error::Argument("a table needs a name".into()));
        }
        let key = table_key(self.schema.as_deref(), &self.name);
        if let Some(existing) = existing {
            if !self.extend_existing {
                return Err(Error::InvalidRequest(format!(
                    "table '{key}' is already defined for this MetaData; call extend_existing() \
                     to redefine it, or get it with MetaData::table"
                )));
            }
            let mut columns = existing.inner.columns.clone();
            for column in self.columns {
                match columns.iter_mut().find(|c| c.name == column.name) {
                    Some(slot) => *slot = column,
                    None => columns.push(column),
                }
            }
            self.columns = columns;
            let mut constraints = existing.inner.declared_constraints.clone();
            constraints.append(&mut self.constraints);
            self.constraints = constraints;
            let mut indexes = existing.inner.declared_indexes.clone();
            indexes.append(&mut self.indexes);
            self.indexes = indexes;
            self.comment = self.comment.or_else(|| existing.inner.comment.clone());
        }
        let parts = Parts::resolve(&self, convention)?;
        Ok(Table {
            inner: Arc::new(TableInner {
                key: key.into(),
                metadata: self.metadata.downgrade(),
                table_ref: TableRef {
                    name: self.name,
                    schema: self.schema,
                    alias: None,
                },
                comment: self.comment,
                columns: parts.columns,
                constraints: parts.constraints,
                indexes: parts.indexes,
                autoincrement: parts.autoincrement,
                enum_checks: parts.enum_checks,
                declared_constraints: self.constraints,
                declared_indexes: self.indexes,
            }),
        })
    }

    pub(crate) fn key(&self) -> String {
        table_key(self.schema.as_deref(), &self.name)
    }
}

/// The checked and resolved pieces of a table.
struct Parts {
    columns: Vec<Column>,
    constraints: Vec<Constraint>,
    indexes: Vec<Index>,
    autoincrement: Option<usize>,
    enum_checks: Vec<EnumCheck>,
}

impl Parts {
    fn resolve(b: &TableBuilder, convention: &NamingConvention) -> Result<Parts> {
        let table = &*b.name;
        let bad = |why: String| Error::Argument(format!("table '{table}': {why}"));
        let mut columns = b.columns.clone();

        let mut seen = HashSet::new();
        for c in &columns {
            if c.name.is_empty() {
                return Err(bad("a column needs a name".into()));
            }
            if !seen.insert(c.name.clone()) {
                return Err(bad(format!("column '{}' is defined twice", c.name)));
            }
            if let SqlType::Enum { variants, .. } = &c.sql_type {
                if variants.is_empty() {
                    return Err(bad(format!("enum column '{}' has no values", c.name)));
                }
            }
            if let Some(spec) = c
                .foreign_keys
                .iter()
                .find_map(|fk| fk.invalid_spec.as_ref())
            {
                return Err(bad(format!(
                    "foreign key {spec:?} on column '{}' is not of the form \"table.column\"",
                    c.name
                )));
            }
        }
        let check_columns = |what: &str, list: &[Arc<str>]| -> Result<()> {
            if list.is_empty() {
                return Err(bad(format!("{what} has no columns")));
            }
            match list.iter().find(|c| !seen.contains(*c)) {
                Some(c) => Err(bad(format!(
                    "{what} names column '{c}', which the table lacks"
                ))),
                None => Ok(()),
            }
        };

        // Primary key: a PrimaryKeyConstraint wins; its columns become primary key columns.
        let mut declared_pk = b.constraints.iter().filter_map(|c| match c {
            Constraint::PrimaryKey(pk) => Some(pk),
            _ => None,
        });
        let pk = match (declared_pk.next(), declared_pk.next()) {
            (Some(_), Some(_)) => return Err(bad("more than one primary key constraint".into())),
            (Some(pk), None) => {
                check_columns("the primary key constraint", &pk.columns)?;
                if let Some(c) = columns
                    .iter()
                    .find(|c| c.primary_key && !pk.columns.contains(&c.name))
                {
                    return Err(bad(format!(
                        "column '{}' is marked primary_key() but is not in the primary key \
                         constraint",
                        c.name
                    )));
                }
                for c in columns.iter_mut() {
                    if pk.columns.contains(&c.name) {
                        c.primary_key = true;
                    }
                }
                Some(pk.clone())
            }
            (None, _) => {
                let cols: Vec<Arc<str>> = columns
                    .iter()
                    .filter(|c| c.primary_key)
                    .map(|c| c.name.clone())
                    .collect();
                (!cols.is_empty()).then(|| PrimaryKeyConstraint::new(cols))
            }
        };
        if let Some(c) = columns
            .iter()
            .find(|c| c.primary_key && c.nullable == Some(true))
        {
            return Err(bad(format!(
                "primary key column '{}' cannot be nullable",
                c.name
            )));
        }

        let pk_columns = pk.as_ref().map(|pk| pk.columns.clone());
        let mut constraints = Vec::new();
        if let Some(mut pk) = pk {
            let tokens = NameTokens::new(table, &pk.columns);
            pk.name = convention.resolve(ConstraintKind::PrimaryKey, pk.name.as_ref(), &tokens)?;
            constraints.push(Constraint::PrimaryKey(pk));
        }

        let mut indexes = Vec::new();
        for c in columns.iter().filter(|c| c.index) {
            let mut ix = Index::on([c.name.clone()]);
            ix.unique = c.unique;
            indexes.push(ix);
        }
        indexes.extend(b.indexes.iter().cloned());
        for ix in &mut indexes {
            check_columns("an index", &ix.columns)?;
            let tokens = NameTokens::new(table, &ix.columns);
            ix.name = convention.resolve(ConstraintKind::Index, ix.name.as_ref(), &tokens)?;
            if ix.name.is_none() {
                return Err(bad(format!(
                    "the index on {:?} has no name and the naming convention gives none",
                    ix.columns
                )));
            }
        }

        let mut uniques: Vec<UniqueConstraint> = columns
            .iter()
            .filter(|c| c.unique && !c.index)
            .map(|c| UniqueConstraint::new([c.name.clone()]))
            .collect();
        let mut checks: Vec<CheckConstraint> = Vec::new();
        let mut fks: Vec<ForeignKeyConstraint> = columns
            .iter()
            .flat_map(|c| {
                c.foreign_keys.iter().map(|fk| ForeignKeyConstraint {
                    name: fk.name.clone().map(ConstraintName::given),
                    columns: vec![c.name.clone()],
                    referred_schema: fk.referred_schema.clone(),
                    referred_table: fk.referred_table.clone(),
                    referred_columns: vec![fk.referred_column.clone()],
                    ondelete: fk.ondelete,
                    onupdate: fk.onupdate,
                    use_alter: fk.use_alter,
                })
            })
            .collect();
        for c in &b.constraints {
            match c {
                Constraint::PrimaryKey(_) => {}
                Constraint::Unique(u) => uniques.push(u.clone()),
                Constraint::Check(ck) => checks.push(ck.clone()),
                Constraint::ForeignKey(fk) => fks.push(fk.clone()),
            }
        }
        for u in &mut uniques {
            check_columns("a unique constraint", &u.columns)?;
            let tokens = NameTokens::new(table, &u.columns);
            u.name = convention.resolve(ConstraintKind::Unique, u.name.as_ref(), &tokens)?;
        }
        for ck in &mut checks {
            let tokens = NameTokens::new(table, &[]);
            ck.name = convention.resolve(ConstraintKind::Check, ck.name.as_ref(), &tokens)?;
        }
        for fk in &mut fks {
            check_columns("a foreign key", &fk.columns)?;
            if fk.columns.len() != fk.referred_columns.len() {
                return Err(bad(format!(
                    "foreign key {:?} -> {}{:?} pairs {} column(s) with {}",
                    fk.columns,
                    fk.referred_table,
                    fk.referred_columns,
                    fk.columns.len(),
                    fk.referred_columns.len()
                )));
            }
            let tokens = NameTokens {
                referred_table: Some(&fk.referred_table),
                referred_columns: &fk.referred_columns,
                ..NameTokens::new(table, &fk.columns)
            };
            fk.name = convention.resolve(ConstraintKind::ForeignKey, fk.name.as_ref(), &tokens)?;
            if fk.use_alter && fk.name.is_none() {
                return Err(bad(format!(
                    "the use_alter foreign key on {:?} needs a name (to drop it before the \
                     tables); name it or set an fk naming convention",
                    fk.columns
                )));
            }
        }

        let fk_columns: HashSet<&Arc<str>> = fks.iter().flat_map(|fk| &fk.columns).collect();
        let autoincrement =
            autoincrement_column(&columns, pk_columns.as_deref(), &fk_columns, &bad)?;

        // An enum column's CHECK (used where the database lacks enum types) is named by the ck
        // template, with the enum type's name as %(constraint_name)s; unnamed without one.
        let mut enum_checks = Vec::new();
        for (i, c) in columns.iter().enumerate() {
            if let SqlType::Enum { name, .. } = &c.sql_type {
                let cols = [c.name.clone()];
                let name = match convention.template(ConstraintKind::Check) {
                    Some(t) if !t.contains("%(constraint_name)s") || !name.is_empty() => {
                        let given = ConstraintName::given(name.as_str());
                        let given = t.contains("%(constraint_name)s").then_some(&given);
                        convention.resolve(
                            ConstraintKind::Check,
                            given,
                            &NameTokens::new(table, &cols),
                        )?
                    }
                    _ => None,
                };
                enum_checks.push(EnumCheck { column: i, name });
            }
        }

        constraints.extend(uniques.into_iter().map(Constraint::Unique));
        constraints.extend(checks.into_iter().map(Constraint::Check));
        constraints.extend(fks.into_iter().map(Constraint::ForeignKey));
        Ok(Parts {
            columns,
            constraints,
            indexes,
            autoincrement,
            enum_checks,
        })
    }
}

/// SQLAlchemy's rule: a column set `autoincrement(true)` (an integer in the primary key) wins;
/// otherwise a one-column integer primary key autoincrements unless set `false` or given a
/// default or a foreign key.
fn autoincrement_column(
    columns: &[Column],
    pk: Option<&[Arc<str>]>,
    fk_columns: &HashSet<&Arc<str>>,
    bad: &dyn Fn(String) -> Error,
) -> Result<Option<usize>> {
    let mut explicit = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.autoincrement == Some(true));
    if let Some((i, c)) = explicit.next() {
        if let Some((_, other)) = explicit.next() {
            return Err(bad(format!(
                "columns '{}' and '{}' are both set to autoincrement; only one can be",
                c.name, other.name
            )));
        }
        if !c.sql_type.is_integer() {
            return Err(bad(format!(
                "column '{}' is set to autoincrement but its type {:?} is not an integer type",
                c.name, c.sql_type
            )));
        }
        if !c.primary_key {
            return Err(bad(format!(
                "column '{}' is set to autoincrement but is not part of the primary key",
                c.name
            )));
        }
        return Ok(Some(i));
    }
    let Some(pk) = pk else { return Ok(None) };
    let [only] = pk else {
        return Ok(None);
    };
    Ok(columns.iter().position(|c| {
        &c.name == only
            && c.autoincrement.is_none()
            && c.sql_type.is_integer()
            && c.default.is_none()
            && c.server_default.is_none()
            && !fk_columns.contains(&c.name)
    }))
}
