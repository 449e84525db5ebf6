//! How a Rust struct maps to a table: the [`Model`] trait that `#[derive(Model)]` implements,
//! and the [`Mapper`] describing its columns.

use std::any::TypeId;
use std::sync::{Arc, OnceLock, RwLock};

use retort_core::dialect::Dialect;
use retort_core::engine::driver::DriverRow;
use retort_core::schema::Table;
use retort_core::sql::ast::{Expr, Statement};
use retort_core::sql::Executable;
use retort_core::types::SqlType;
use retort_core::value::{ParamRef, Value};
use retort_core::Result;

use crate::query::ModelSelect;
use crate::related::RelationRef;
use crate::relationship::{Relationship, RelationshipProperty};
use crate::state::{ObjHandle, ObjMeta};

/// A struct mapped to a table. Implemented by `#[derive(Model)]`; column values are addressed
/// by their position in [`Mapper::columns`].
pub trait Model: Sized + Send + Sync + 'static {
    /// The static description of the mapping.
    fn mapper() -> &'static Mapper;

    /// The value of the column at `index`.
    fn column_value(&self, index: usize) -> Value;

    /// The value of the column at `index` as a parameter to bind, borrowing the field's text
    /// or bytes rather than copying them. It must bind what
    /// [`column_value`](Self::column_value) gives, which the default wraps;
    /// `#[derive(Model)]` borrows through [`ToValue::to_param`].
    ///
    /// [`ToValue::to_param`]: retort_core::value::ToValue::to_param
    fn column_param(&self, index: usize) -> ParamRef<'_> {
        ParamRef::Owned(self.column_value(index))
    }

    /// Calls `f` with [`column_param`](Self::column_param) of every column, in column order.
    /// `#[derive(Model)]` holds them in an array of the model's width on the stack; the
    /// default collects them into a `Vec`.
    fn with_column_params(
        &self,
        f: &mut dyn FnMut(&mut [ParamRef<'_>]) -> Result<()>,
    ) -> Result<()> {
        let count = Self::mapper().columns().len();
        let mut params: Vec<ParamRef<'_>> = (0..count).map(|i| self.column_param(i)).collect();
        f(&mut params)
    }

    /// Sets the column at `index` from a database value.
    fn set_column_value(&mut self, index: usize, value: Value) -> Result<()>;

    /// Builds an object from the columns of `row` that start at `offset`, one per mapped
    /// column in mapper order, read straight from the driver's row; non-column fields take
    /// their defaults.
    fn from_row(row: &mut dyn DriverRow, offset: usize) -> Result<Self>;

    /// The relationship field at `index` in [`Mapper::relationship_properties`].
    fn relationship(&self, index: usize) -> Option<RelationRef<'_>> {
        let _ = index;
        None
    }

    /// `SELECT` of this model's objects, SQLAlchemy 2.0's `select(User)`; run it with
    /// [`Session::scalars`](crate::Session::scalars).
    fn select() -> ModelSelect<Self> {
        ModelSelect::new()
    }
}

/// A referential action of a foreign key, as written in the model attribute.
pub type ReferentialActionName = Option<&'static str>;

/// One mapped column.
#[derive(Debug, Clone)]
pub struct ColumnProperty {
    /// The Rust field's name.
    pub field: &'static str,
    /// The column's name.
    pub name: &'static str,
    /// The SQL type.
    pub sql_type: SqlType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Part of the primary key.
    pub primary_key: bool,
    /// Explicit autoincrement setting; `None` lets the schema decide (an integer single-column
    /// primary key autoincrements).
    pub autoincrement: Option<bool>,
    /// Has a UNIQUE constraint.
    pub unique: bool,
    /// Has an index.
    pub index: bool,
    /// A client-side default, sent on INSERT when the object leaves the column NULL.
    pub default: Option<Value>,
    /// Raw SQL for the column's server-side default.
    pub server_default: Option<&'static str>,
    /// `"table.column"` this column refers to, with ON DELETE and ON UPDATE actions.
    pub foreign_key: Option<(&'static str, ReferentialActionName, ReferentialActionName)>,
    /// The optimistic-locking version counter.
    pub version: bool,
}

impl ColumnProperty {
    /// A column mapped from `field`.
    pub fn new(field: &'static str, name: &'static str, sql_type: SqlType, nullable: bool) -> Self {
        ColumnProperty {
            field,
            name,
            sql_type,
            nullable,
            primary_key: false,
            autoincrement: None,
            unique: false,
            index: false,
            default: None,
            server_default: None,
            foreign_key: None,
            version: false,
        }
    }

    /// Marks the column as (part of) the primary key.
    pub fn primary_key(mut self) -> Self {
        self.primary_key = true;
        self
    }

    /// Adds a UNIQUE constraint.
    pub fn unique(mut self) -> Self {
        self.unique = true;
        self
    }

    /// Adds an index.
    pub fn index(mut self) -> Self {
        self.index = true;
        self
    }

    /// Marks the column as the version counter for optimistic locking.
    pub fn version(mut self) -> Self {
        self.version = true;
        self
    }

    /// Sets autoincrement explicitly.
    pub fn autoincrement(mut self, on: bool) -> Self {
        self.autoincrement = Some(on);
        self
    }

    /// A client-side default, sent on INSERT when the object's value is NULL.
    pub fn default(mut self, value: Value) -> Self {
        self.default = Some(value);
        self
    }

    /// A server-side default, as raw SQL.
    pub fn server_default(mut self, sql: &'static str) -> Self {
        self.server_default = Some(sql);
        self
    }

    /// A foreign key to `"table.column"`.
    pub fn foreign_key(
        mut self,
        target: &'static str,
        on_delete: ReferentialActionName,
        on_update: ReferentialActionName,
    ) -> Self {
        self.foreign_key = Some((target, on_delete, on_update));
        self
    }
}

/// Builds a session object of the mapped type from a row, without knowing the type.
type NewObject = fn(&mut dyn DriverRow, usize, ObjMeta) -> Result<Arc<dyn ObjHandle>>;

/// The mapping of one model: its table, columns and relationships.
pub struct Mapper {
    model: &'static str,
    model_type: TypeId,
    table: &'static str,
    columns: Vec<ColumnProperty>,
    relationships: Vec<RelationshipProperty>,
    /// The relationships resolved by the configure step, on first use.
    configured: OnceLock<std::result::Result<Vec<Relationship>, String>>,
    new_object: NewObject,
    primary_key: Vec<usize>,
    version_column: Option<usize>,
    /// The Core table the mapping describes, built on first use (or why it cannot be).
    core_table: OnceLock<std::result::Result<Table, String>>,
    /// The column the database's own autoincrement fills, decided by the schema's rule.
    autoincrement: OnceLock<Option<usize>>,
    /// Every column as an expression qualified by the table, the start of every query.
    column_exprs: OnceLock<Vec<Expr>>,
    /// SQL of the statements the session sends for every object (the load by primary key),
    /// compiled once per dialect.
    sql_cache: RwLock<Vec<(&'static str, &'static str, Arc<str>)>>,
}

impl std::fmt::Debug for Mapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapper")
            .field("model", &self.model)
            .field("table", &self.table)
            .field("columns", &self.columns)
            .field("relationships", &self.relationships)
            .finish_non_exhaustive()
    }
}

impl Mapper {
    /// Describes model `M` (named `model`) mapped to `table`.
    pub fn new<M: Model>(
        model: &'static str,
        table: &'static str,
        columns: Vec<ColumnProperty>,
    ) -> Self {
        let primary_key = columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.primary_key)
            .map(|(i, _)| i)
            .collect();
        let version_column = columns.iter().position(|c| c.version);
        Mapper {
            model,
            model_type: TypeId::of::<M>(),
            table,
            columns,
            relationships: Vec::new(),
            configured: OnceLock::new(),
            new_object: crate::state::new_object::<M>,
            primary_key,
            version_column,
            core_table: OnceLock::new(),
            autoincrement: OnceLock::new(),
            column_exprs: OnceLock::new(),
            sql_cache: RwLock::new(Vec::new()),
        }
    }

    /// Adds the relationships the model declares.
    pub fn with_relationships(mut self, relationships: Vec<RelationshipProperty>) -> Self {
        self.relationships = relationships;
        self
    }

    /// The relationships as declared, in field order.
    pub fn relationship_properties(&self) -> &[RelationshipProperty] {
        &self.relationships
    }

    /// The relationships, resolved on first use (the configure step): fails, naming the model
    /// and field, when one cannot be resolved.
    pub fn relationships(&'static self) -> Result<&'static [Relationship]> {
        let configured = self.configured.get_or_init(|| {
            crate::relationship::configure(self).map_err(|e| match e {
                retort_core::Error::Argument(message) => message,
                other => other.to_string(),
            })
        });
        match configured {
            Ok(relationships) => Ok(relationships),
            Err(message) => Err(retort_core::Error::Argument(message.clone())),
        }
    }

    /// The relationship `field`.
    pub fn relationship(&'static self, field: &str) -> Result<&'static Relationship> {
        let relationships = self.relationships()?;
        relationships
            .iter()
            .find(|r| r.field == field)
            .ok_or_else(|| {
                retort_core::Error::Argument(format!(
                    "{} has no relationship '{field}'",
                    self.model
                ))
            })
    }

    /// The mapped type.
    pub fn model_type(&self) -> TypeId {
        self.model_type
    }

    /// A session object of the mapped type made from the columns of `row` from `offset` on.
    pub(crate) fn new_object(
        &self,
        row: &mut dyn DriverRow,
        offset: usize,
        meta: ObjMeta,
    ) -> Result<Arc<dyn ObjHandle>> {
        (self.new_object)(row, offset, meta)
    }

    /// The Rust type's name.
    pub fn model_name(&self) -> &'static str {
        self.model
    }

    /// The table's name.
    pub fn table_name(&self) -> &'static str {
        self.table
    }

    /// The columns, in field order.
    pub fn columns(&self) -> &[ColumnProperty] {
        &self.columns
    }

    /// Positions of the primary key columns.
    pub fn primary_key(&self) -> &[usize] {
        &self.primary_key
    }

    /// Position of the version counter, if the model has one.
    pub fn version_column(&self) -> Option<usize> {
        self.version_column
    }

    /// Position of the column the database's own autoincrement fills (an identity, rowid or
    /// AUTO_INCREMENT column), as the table's DDL declares it. A key column with a server
    /// default or a foreign key is not one.
    pub fn autoincrement_column(&self) -> Option<usize> {
        *self.autoincrement.get_or_init(|| {
            // The schema's rule decides, so that the ORM and the DDL never disagree. A model
            // whose table cannot be built fails at create_all with its own error.
            let table = self.table().ok()?;
            let column = table.autoincrement_column()?.name();
            self.columns.iter().position(|c| c.name == column)
        })
    }

    /// The Core table of the mapping (in a metadata of its own), built once: its foreign keys
    /// are the ones the unit of work orders by and relationships join on.
    pub fn table(&self) -> Result<Table> {
        let built = self.core_table.get_or_init(|| {
            crate::registry::table_for(self, &retort_core::schema::MetaData::new())
                .map_err(|e| e.to_string())
        });
        match built {
            Ok(table) => Ok(table.clone()),
            Err(message) => Err(retort_core::Error::Argument(message.clone())),
        }
    }

    /// The foreign keys from this table to itself, each as `(column, referred column)` pairs
    /// by position: how a row names its parent in a self-referential model.
    pub(crate) fn self_references(&self) -> Vec<Vec<(usize, usize)>> {
        let Ok(table) = self.table() else {
            return Vec::new();
        };
        table
            .foreign_keys()
            .filter(|fk| fk.referred_table() == table.name())
            .filter_map(|fk| {
                fk.columns()
                    .iter()
                    .zip(fk.referred_columns())
                    .map(|(from, to)| Some((self.column_named(from)?, self.column_named(to)?)))
                    .collect()
            })
            .collect()
    }

    /// The SQL of the statement `purpose` names, compiled for `dialect` on first use: the
    /// statement's shape depends only on the mapper and the dialect, so it is never rebuilt.
    pub(crate) fn cached_sql(
        &self,
        purpose: &'static str,
        dialect: &dyn Dialect,
        build: impl FnOnce() -> Statement,
    ) -> Result<Arc<str>> {
        let name = dialect.name();
        {
            let cache = self.sql_cache.read().unwrap_or_else(|p| p.into_inner());
            if let Some((_, _, sql)) = cache.iter().find(|(p, d, _)| *p == purpose && *d == name) {
                return Ok(Arc::clone(sql));
            }
        }
        let sql: Arc<str> = Arc::from(build().compile(dialect)?.sql);
        let mut cache = self.sql_cache.write().unwrap_or_else(|p| p.into_inner());
        cache.push((purpose, name, Arc::clone(&sql)));
        Ok(sql)
    }

    /// Every column as a qualified expression, built by `build` on first use.
    pub(crate) fn column_exprs(&self, build: impl FnOnce() -> Vec<Expr>) -> &[Expr] {
        self.column_exprs.get_or_init(build)
    }

    /// Position of the column whose SQL name is `name`.
    pub(crate) fn column_named(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Position of the column mapped from the field (or named) `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.field == name || c.name == name)
    }
}

#[cfg(test)]
mod tests {
    use retort_core::value::ToValue;

    use super::*;

    /// A model written by hand, taking the provided parameter methods as they are.
    struct Hand {
        id: Option<i64>,
        name: String,
    }

    impl Model for Hand {
        fn mapper() -> &'static Mapper {
            static MAPPER: OnceLock<Mapper> = OnceLock::new();
            MAPPER.get_or_init(|| {
                Mapper::new::<Hand>(
                    "Hand",
                    "hands",
                    vec![
                        ColumnProperty::new("id", "id", SqlType::BigInteger, true).primary_key(),
                        ColumnProperty::new("name", "name", SqlType::Text, false),
                    ],
                )
            })
        }

        fn column_value(&self, index: usize) -> Value {
            match index {
                0 => self.id.to_value(),
                1 => self.name.to_value(),
                _ => Value::Null,
            }
        }

        fn set_column_value(&mut self, _index: usize, _value: Value) -> Result<()> {
            Ok(())
        }

        fn from_row(_row: &mut dyn DriverRow, _offset: usize) -> Result<Self> {
            Ok(Hand {
                id: None,
                name: String::new(),
            })
        }
    }

    #[test]
    fn the_provided_parameter_methods_give_the_column_values() {
        let hand = Hand {
            id: Some(3),
            name: "Zoë".into(),
        };
        assert!(matches!(
            hand.column_param(1),
            ParamRef::Owned(Value::Text(name)) if name == "Zoë"
        ));
        let mut seen = Vec::new();
        hand.with_column_params(&mut |params| {
            seen = params.iter().map(ParamRef::to_value).collect();
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, [Value::Int(3), Value::Text("Zoë".into())]);
    }
}
