//! Table-level constraints and indexes.

use std::sync::Arc;

use super::column::ReferentialAction;

/// A constraint or index name, remembering whether a naming convention produced it: generated
/// names are shortened to fit a dialect's identifier limit, given ones are not.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ConstraintName {
    pub(crate) text: Arc<str>,
    pub(crate) generated: bool,
}

impl ConstraintName {
    pub(crate) fn given(text: impl Into<Arc<str>>) -> Self {
        ConstraintName {
            text: text.into(),
            generated: false,
        }
    }
}

fn names<I, S>(columns: I) -> Vec<Arc<str>>
where
    I: IntoIterator<Item = S>,
    S: Into<Arc<str>>,
{
    columns.into_iter().map(Into::into).collect()
}

/// `PRIMARY KEY (a, b)`: a table's primary key, for keys of several columns or to name it.
/// Marking columns with [`Column::primary_key`](super::Column::primary_key) does the same.
#[derive(Debug, Clone, PartialEq)]
pub struct PrimaryKeyConstraint {
    pub(crate) name: Option<ConstraintName>,
    pub(crate) columns: Vec<Arc<str>>,
}

impl PrimaryKeyConstraint {
    /// A primary key over `columns`, in order.
    pub fn new<I, S>(columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Arc<str>>,
    {
        PrimaryKeyConstraint {
            name: None,
            columns: names(columns),
        }
    }

    /// Names the constraint.
    pub fn named(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(ConstraintName::given(name));
        self
    }

    /// The name, given or from the naming convention.
    pub fn name(&self) -> Option<&str> {
        self.name.as_ref().map(|n| &*n.text)
    }

    /// The key's columns.
    pub fn columns(&self) -> &[Arc<str>] {
        &self.columns
    }
}

/// `UNIQUE (a, b)`.
#[derive(Debug, Clone, PartialEq)]
pub struct UniqueConstraint {
    pub(crate) name: Option<ConstraintName>,
    pub(crate) columns: Vec<Arc<str>>,
}

impl UniqueConstraint {
    /// A unique constraint over `columns`.
    pub fn new<I, S>(columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Arc<str>>,
    {
        UniqueConstraint {
            name: None,
            columns: names(columns),
        }
    }

    /// Names the constraint.
    pub fn named(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(ConstraintName::given(name));
        self
    }

    /// The name, given or from the naming convention.
    pub fn name(&self) -> Option<&str> {
        self.name.as_ref().map(|n| &*n.text)
    }

    /// The constrained columns.
    pub fn columns(&self) -> &[Arc<str>] {
        &self.columns
    }
}

/// `CHECK (sql)`, the condition written as SQL text.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckConstraint {
    pub(crate) name: Option<ConstraintName>,
    pub(crate) sqltext: Arc<str>,
}

impl CheckConstraint {
    /// A check of the SQL condition `sqltext`, written into the DDL as given: never build it
    /// from untrusted input.
    pub fn new(sqltext: impl Into<Arc<str>>) -> Self {
        CheckConstraint {
            name: None,
            sqltext: sqltext.into(),
        }
    }

    /// Names the constraint (a `ck` naming convention usually needs this, through
    /// `%(constraint_name)s`).
    pub fn named(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(ConstraintName::given(name));
        self
    }

    /// The name, given or from the naming convention.
    pub fn name(&self) -> Option<&str> {
        self.name.as_ref().map(|n| &*n.text)
    }

    /// The condition's SQL.
    pub fn sqltext(&self) -> &str {
        &self.sqltext
    }
}

/// `FOREIGN KEY (a, b) REFERENCES t (x, y)`, possibly over several columns.
///
/// ```
/// use retort_core::schema::{ForeignKeyConstraint, ReferentialAction};
///
/// let fk = ForeignKeyConstraint::new(["order_id", "line"], "order_lines", ["order_id", "line"])
///     .on_delete(ReferentialAction::Cascade)
///     .named("fk_notes_line");
/// assert_eq!(fk.referred_table(), "order_lines");
/// assert_eq!(fk.name(), Some("fk_notes_line"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignKeyConstraint {
    pub(crate) name: Option<ConstraintName>,
    pub(crate) columns: Vec<Arc<str>>,
    pub(crate) referred_schema: Option<Arc<str>>,
    pub(crate) referred_table: Arc<str>,
    pub(crate) referred_columns: Vec<Arc<str>>,
    pub(crate) ondelete: Option<ReferentialAction>,
    pub(crate) onupdate: Option<ReferentialAction>,
    pub(crate) use_alter: bool,
}

impl ForeignKeyConstraint {
    /// `columns` of this table refer to `referred_columns` of `referred_table` (its name taken
    /// as it is; set a schema with [`ForeignKeyConstraint::referred_schema`]).
    pub fn new<I, S, J, T>(
        columns: I,
        referred_table: impl Into<Arc<str>>,
        referred_columns: J,
    ) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Arc<str>>,
        J: IntoIterator<Item = T>,
        T: Into<Arc<str>>,
    {
        ForeignKeyConstraint {
            name: None,
            columns: names(columns),
            referred_schema: None,
            referred_table: referred_table.into(),
            referred_columns: names(referred_columns),
            ondelete: None,
            onupdate: None,
            use_alter: false,
        }
    }

    /// Sets the schema of the referred table.
    pub fn referred_schema(mut self, schema: impl Into<Arc<str>>) -> Self {
        self.referred_schema = Some(schema.into());
        self
    }

    /// Names the constraint.
    pub fn named(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(ConstraintName::given(name));
        self
    }

    /// Sets `ON DELETE`.
    pub fn on_delete(mut self, action: ReferentialAction) -> Self {
        self.ondelete = Some(action);
        self
    }

    /// Sets `ON UPDATE`.
    pub fn on_update(mut self, action: ReferentialAction) -> Self {
        self.onupdate = Some(action);
        self
    }

    /// Adds the constraint with `ALTER TABLE` once the tables exist, to break a cycle; see
    /// [`ForeignKey::use_alter`](super::ForeignKey::use_alter).
    pub fn use_alter(mut self) -> Self {
        self.use_alter = true;
        self
    }

    /// The name, given or from the naming convention.
    pub fn name(&self) -> Option<&str> {
        self.name.as_ref().map(|n| &*n.text)
    }

    /// The referring columns of this table.
    pub fn columns(&self) -> &[Arc<str>] {
        &self.columns
    }

    /// The referred table's schema, if given.
    pub fn get_referred_schema(&self) -> Option<&str> {
        self.referred_schema.as_deref()
    }

    /// The referred table's name.
    pub fn referred_table(&self) -> &str {
        &self.referred_table
    }

    /// The referred columns, matching [`ForeignKeyConstraint::columns`] one to one.
    pub fn referred_columns(&self) -> &[Arc<str>] {
        &self.referred_columns
    }

    /// The `ON DELETE` action.
    pub fn ondelete(&self) -> Option<ReferentialAction> {
        self.ondelete
    }

    /// The `ON UPDATE` action.
    pub fn onupdate(&self) -> Option<ReferentialAction> {
        self.onupdate
    }

    /// Whether the constraint is added by `ALTER TABLE` after the tables exist.
    pub fn is_use_alter(&self) -> bool {
        self.use_alter
    }

    /// The key of the referred table in its [`MetaData`](super::MetaData): `schema.table` or
    /// `table`.
    pub fn referred_key(&self) -> String {
        super::table::table_key(self.referred_schema.as_deref(), &self.referred_table)
    }
}

/// Any table-level constraint.
#[derive(Debug, Clone, PartialEq)]
pub enum Constraint {
    /// The primary key.
    PrimaryKey(PrimaryKeyConstraint),
    /// A unique constraint.
    Unique(UniqueConstraint),
    /// A check constraint.
    Check(CheckConstraint),
    /// A foreign key.
    ForeignKey(ForeignKeyConstraint),
}

impl Constraint {
    /// The constraint's name, if it has one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Constraint::PrimaryKey(c) => c.name(),
            Constraint::Unique(c) => c.name(),
            Constraint::Check(c) => c.name(),
            Constraint::ForeignKey(c) => c.name(),
        }
    }
}

impl From<PrimaryKeyConstraint> for Constraint {
    fn from(c: PrimaryKeyConstraint) -> Self {
        Constraint::PrimaryKey(c)
    }
}

impl From<UniqueConstraint> for Constraint {
    fn from(c: UniqueConstraint) -> Self {
        Constraint::Unique(c)
    }
}

impl From<CheckConstraint> for Constraint {
    fn from(c: CheckConstraint) -> Self {
        Constraint::Check(c)
    }
}

impl From<ForeignKeyConstraint> for Constraint {
    fn from(c: ForeignKeyConstraint) -> Self {
        Constraint::ForeignKey(c)
    }
}

/// `CREATE [UNIQUE] INDEX name ON table (columns)`.
///
/// ```
/// use retort_core::schema::Index;
///
/// let ix = Index::new("ix_users_name_age", ["name", "age"]).unique();
/// assert!(ix.is_unique());
/// assert_eq!(Index::on(["email"]).name(), None); // named by the `ix` convention on build
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    pub(crate) name: Option<ConstraintName>,
    pub(crate) columns: Vec<Arc<str>>,
    pub(crate) unique: bool,
}

impl Index {
    /// An index called `name` over `columns`.
    pub fn new<I, S>(name: impl Into<Arc<str>>, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Arc<str>>,
    {
        Index {
            name: Some(ConstraintName::given(name)),
            columns: names(columns),
            unique: false,
        }
    }

    /// An index over `columns` that the `ix` naming convention names when the table is built.
    pub fn on<I, S>(columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Arc<str>>,
    {
        Index {
            name: None,
            columns: names(columns),
            unique: false,
        }
    }

    /// Makes it a unique index.
    pub fn unique(mut self) -> Self {
        self.unique = true;
        self
    }

    /// The index's name.
    pub fn name(&self) -> Option<&str> {
        self.name.as_ref().map(|n| &*n.text)
    }

    /// The indexed columns.
    pub fn columns(&self) -> &[Arc<str>] {
        &self.columns
    }

    /// Whether it is a unique index.
    pub fn is_unique(&self) -> bool {
        self.unique
    }
}
