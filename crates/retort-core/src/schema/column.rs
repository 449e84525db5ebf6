//! Columns, their defaults and the foreign keys they declare.

use std::sync::Arc;

use crate::types::SqlType;
use crate::value::{ToValue, Value};

/// What a foreign key does to the referring rows when the referred row is deleted or its key
/// changes (`ON DELETE` / `ON UPDATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferentialAction {
    /// `CASCADE`: delete or update the referring rows too.
    Cascade,
    /// `SET NULL`: set the referring columns to NULL.
    SetNull,
    /// `SET DEFAULT`: set the referring columns to their defaults (InnoDB refuses this one).
    SetDefault,
    /// `RESTRICT`: refuse at once.
    Restrict,
    /// `NO ACTION`: refuse at the end of the statement (the databases' default).
    NoAction,
}

impl ReferentialAction {
    /// The SQL keywords.
    pub fn as_sql(self) -> &'static str {
        match self {
            ReferentialAction::Cascade => "CASCADE",
            ReferentialAction::SetNull => "SET NULL",
            ReferentialAction::SetDefault => "SET DEFAULT",
            ReferentialAction::Restrict => "RESTRICT",
            ReferentialAction::NoAction => "NO ACTION",
        }
    }
}

/// A default the database applies itself: the `DEFAULT` clause of a column's DDL.
///
/// A plain value is rendered as a literal of the dialect; [`ServerDefault::text`] is written
/// verbatim, for expressions such as `CURRENT_TIMESTAMP`.
///
/// ```
/// use retort_core::schema::ServerDefault;
/// use retort_core::value::Value;
///
/// assert_eq!(ServerDefault::from("n/a"), ServerDefault::Value(Value::Text("n/a".into())));
/// assert!(matches!(ServerDefault::text("CURRENT_TIMESTAMP"), ServerDefault::Text(_)));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum ServerDefault {
    /// A value, rendered through the dialect's literal rendering.
    Value(Value),
    /// SQL written into the DDL as given.
    Text(Arc<str>),
}

impl ServerDefault {
    /// A literal default.
    pub fn value(value: impl ToValue) -> Self {
        ServerDefault::Value(value.to_value())
    }

    /// A SQL expression written verbatim (`CURRENT_TIMESTAMP`, `(lower('X'))`). It is not
    /// checked or quoted: never build it from untrusted input.
    pub fn text(sql: impl Into<Arc<str>>) -> Self {
        ServerDefault::Text(sql.into())
    }
}

impl From<Value> for ServerDefault {
    fn from(v: Value) -> Self {
        ServerDefault::Value(v)
    }
}

macro_rules! server_default_from {
    ($($t:ty),*) => {$(
        impl From<$t> for ServerDefault {
            fn from(v: $t) -> Self {
                ServerDefault::Value(v.to_value())
            }
        }
    )*};
}

server_default_from!(&str, String, i32, i64, bool, f64);

/// A reference from a column to a column of another table (or of its own), declared on the
/// column: `Column::new("user_id", SqlType::Integer).foreign_key("users.id")`.
///
/// When the table is built it becomes a one-column [`ForeignKeyConstraint`](super::ForeignKeyConstraint).
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignKey {
    pub(crate) referred_schema: Option<Arc<str>>,
    pub(crate) referred_table: Arc<str>,
    pub(crate) referred_column: Arc<str>,
    pub(crate) name: Option<Arc<str>>,
    pub(crate) ondelete: Option<ReferentialAction>,
    pub(crate) onupdate: Option<ReferentialAction>,
    pub(crate) use_alter: bool,
    /// The spec given to [`ForeignKey::new`] when it could not be parsed; reported when the
    /// table is built.
    pub(crate) invalid_spec: Option<Arc<str>>,
}

impl ForeignKey {
    /// A reference written `"table.column"` or `"schema.table.column"`.
    ///
    /// The text is split at its dots; for names that contain dots use [`ForeignKey::to`]. A spec
    /// without a dot is reported when the table is built.
    ///
    /// ```
    /// use retort_core::schema::{ForeignKey, ReferentialAction};
    ///
    /// let fk = ForeignKey::new("users.id").on_delete(ReferentialAction::Cascade);
    /// assert_eq!((fk.referred_table(), fk.referred_column()), ("users", "id"));
    /// assert_eq!(fk.ondelete(), Some(ReferentialAction::Cascade));
    /// ```
    pub fn new(spec: &str) -> Self {
        let mut fk = ForeignKey::to("", "");
        match spec.rsplit_once('.') {
            Some((table, column)) if !table.is_empty() && !column.is_empty() => {
                match table.split_once('.') {
                    Some((schema, table)) if !schema.is_empty() && !table.is_empty() => {
                        fk.referred_schema = Some(schema.into());
                        fk.referred_table = table.into();
                    }
                    _ => fk.referred_table = table.into(),
                }
                fk.referred_column = column.into();
            }
            _ => fk.invalid_spec = Some(spec.into()),
        }
        fk
    }

    /// A reference to `table.column`, the names taken as they are.
    pub fn to(table: impl Into<Arc<str>>, column: impl Into<Arc<str>>) -> Self {
        ForeignKey {
            referred_schema: None,
            referred_table: table.into(),
            referred_column: column.into(),
            name: None,
            ondelete: None,
            onupdate: None,
            use_alter: false,
            invalid_spec: None,
        }
    }

    /// Sets the schema of the referred table.
    pub fn referred_schema(mut self, schema: impl Into<Arc<str>>) -> Self {
        self.referred_schema = Some(schema.into());
        self
    }

    /// Names the constraint (otherwise the `fk` naming convention, if any, names it).
    pub fn named(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
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

    /// Creates the constraint with `ALTER TABLE ... ADD CONSTRAINT` after all tables exist (and
    /// drops it before they are dropped), which breaks a cycle of foreign keys between tables.
    /// The constraint must have a name, given or from the naming convention.
    pub fn use_alter(mut self) -> Self {
        self.use_alter = true;
        self
    }

    /// The referred table's schema, if given.
    pub fn get_referred_schema(&self) -> Option<&str> {
        self.referred_schema.as_deref()
    }

    /// The referred table's name.
    pub fn referred_table(&self) -> &str {
        &self.referred_table
    }

    /// The referred column's name.
    pub fn referred_column(&self) -> &str {
        &self.referred_column
    }

    /// The name given with [`ForeignKey::named`].
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
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
}

impl From<&str> for ForeignKey {
    fn from(spec: &str) -> Self {
        ForeignKey::new(spec)
    }
}

/// A column of a table.
///
/// Builder methods consume and return the column; the accessors that read a setting back are
/// named `is_*` / `get_*` where the builder already uses the plain name (as clap does).
///
/// ```
/// use retort_core::schema::{Column, ServerDefault};
/// use retort_core::types::SqlType;
///
/// let name = Column::new("name", SqlType::string(50)).not_null().server_default("anonymous");
/// assert!(!name.is_nullable());
/// assert!(Column::new("id", SqlType::Integer).primary_key().is_primary_key());
/// assert!(Column::new("age", SqlType::Integer).is_nullable());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub(crate) name: Arc<str>,
    pub(crate) sql_type: SqlType,
    pub(crate) primary_key: bool,
    pub(crate) nullable: Option<bool>,
    pub(crate) default: Option<Value>,
    pub(crate) server_default: Option<ServerDefault>,
    pub(crate) unique: bool,
    pub(crate) index: bool,
    pub(crate) autoincrement: Option<bool>,
    pub(crate) foreign_keys: Vec<ForeignKey>,
    pub(crate) comment: Option<Arc<str>>,
}

impl Column {
    /// A nullable column of `sql_type`.
    pub fn new(name: impl Into<Arc<str>>, sql_type: SqlType) -> Self {
        Column {
            name: name.into(),
            sql_type,
            primary_key: false,
            nullable: None,
            default: None,
            server_default: None,
            unique: false,
            index: false,
            autoincrement: None,
            foreign_keys: Vec::new(),
            comment: None,
        }
    }

    /// Makes the column (part of) the primary key; it becomes NOT NULL.
    pub fn primary_key(mut self) -> Self {
        self.primary_key = true;
        self
    }

    /// Whether NULL is allowed. Left unset, a column is nullable unless it is part of the
    /// primary key.
    pub fn nullable(mut self, nullable: bool) -> Self {
        self.nullable = Some(nullable);
        self
    }

    /// `NOT NULL`; the same as `nullable(false)`.
    pub fn not_null(self) -> Self {
        self.nullable(false)
    }

    /// A default the client applies when an INSERT gives the column no value.
    pub fn default(mut self, value: impl ToValue) -> Self {
        self.default = Some(value.to_value());
        self
    }

    /// A default the database applies (`DEFAULT ...` in the DDL).
    pub fn server_default(mut self, default: impl Into<ServerDefault>) -> Self {
        self.server_default = Some(default.into());
        self
    }

    /// A one-column unique constraint, named by the `uq` naming convention. Together with
    /// [`Column::index`] it makes a unique index instead.
    pub fn unique(mut self) -> Self {
        self.unique = true;
        self
    }

    /// A one-column index, named by the `ix` naming convention (`ix_<table>_<column>` unless
    /// set otherwise).
    pub fn index(mut self) -> Self {
        self.index = true;
        self
    }

    /// Whether the column takes its value from the database's counter when an INSERT gives
    /// none. Left unset ("auto"), a primary key made of one integer column without a default
    /// or foreign key autoincrements; `true` picks this column out of a composite key.
    pub fn autoincrement(mut self, autoincrement: bool) -> Self {
        self.autoincrement = Some(autoincrement);
        self
    }

    /// A reference to another table's column: a [`ForeignKey`] or a `"table.column"` string.
    pub fn foreign_key(mut self, fk: impl Into<ForeignKey>) -> Self {
        self.foreign_keys.push(fk.into());
        self
    }

    /// A comment stored with the column (ignored on SQLite).
    pub fn comment(mut self, comment: impl Into<Arc<str>>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// The column's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The column's type.
    pub fn sql_type(&self) -> &SqlType {
        &self.sql_type
    }

    /// Whether the column is part of the primary key (set on the column or by the table's
    /// `PrimaryKeyConstraint`).
    pub fn is_primary_key(&self) -> bool {
        self.primary_key
    }

    /// Whether NULL is allowed.
    pub fn is_nullable(&self) -> bool {
        self.nullable.unwrap_or(!self.primary_key)
    }

    /// The client-side default.
    pub fn get_default(&self) -> Option<&Value> {
        self.default.as_ref()
    }

    /// The server-side default.
    pub fn get_server_default(&self) -> Option<&ServerDefault> {
        self.server_default.as_ref()
    }

    /// Whether [`Column::unique`] was set.
    pub fn is_unique(&self) -> bool {
        self.unique
    }

    /// Whether [`Column::index`] was set.
    pub fn is_indexed(&self) -> bool {
        self.index
    }

    /// The autoincrement setting: `None` is "auto". Whether the column really autoincrements
    /// depends on the table: see [`Table::autoincrement_column`](super::Table::autoincrement_column).
    pub fn get_autoincrement(&self) -> Option<bool> {
        self.autoincrement
    }

    /// The foreign keys declared on the column.
    pub fn foreign_keys(&self) -> &[ForeignKey] {
        &self.foreign_keys
    }

    /// The comment.
    pub fn get_comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    /// The variants, if the column's type is an enum.
    pub fn enum_variants(&self) -> Option<&[String]> {
        match &self.sql_type {
            SqlType::Enum { variants, .. } => Some(variants),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_key_specs_are_split_at_dots() {
        let fk = ForeignKey::new("accounts.users.id");
        assert_eq!(fk.get_referred_schema(), Some("accounts"));
        assert_eq!(fk.referred_table(), "users");
        assert_eq!(fk.referred_column(), "id");
        assert!(ForeignKey::new("users").invalid_spec.is_some());
        assert!(ForeignKey::new("users.").invalid_spec.is_some());
        let dotted = ForeignKey::to("a.b", "c.d");
        assert_eq!(
            (dotted.referred_table(), dotted.referred_column()),
            ("a.b", "c.d")
        );
    }

    #[test]
    fn primary_key_columns_are_not_null_unless_told() {
        let id = Column::new("id", SqlType::Integer).primary_key();
        assert!(!id.is_nullable());
        assert!(Column::new("x", SqlType::Text).is_nullable());
        assert!(!Column::new("x", SqlType::Text).not_null().is_nullable());
    }
}
