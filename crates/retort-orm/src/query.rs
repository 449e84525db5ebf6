//! The ORM's query API: `session.query::<User>()` (SQLAlchemy's legacy `Query`) and
//! `User::select()` run through `session.scalars` (the 2.0 style). Both build a Core SELECT of
//! the model's columns and hydrate rows into session objects through the identity map.

use std::marker::PhantomData;
use std::sync::Arc;

use retort_core::sql::ast::{
    BinaryOp, ColumnRef, DeleteStatement, Expr, FromItem, FunctionCall, JoinKind,
    Query as CoreQuery, SelectCore, Statement, TableRef, UpdateStatement,
};
use retort_core::sql::{IntoExpr, IntoOrderBy};
use retort_core::types::SqlType;
use retort_core::value::{ToValue, Value};
use retort_core::{Error, Result};

use crate::mapper::{Mapper, Model};
use crate::options::{Load, Step};
use crate::session::Session;
use crate::state::Obj;

/// A primary key value: one value for a single-column key, a tuple or `Vec<Value>` for a
/// composite one.
pub trait IntoKey {
    /// The key's values in primary-key column order.
    fn into_key(self) -> Vec<Value>;
}

macro_rules! single_keys {
    ($($t:ty),*) => {$(
        impl IntoKey for $t {
            fn into_key(self) -> Vec<Value> {
                vec![self.to_value()]
            }
        }
    )*};
}

single_keys!(i8, i16, i32, i64, u8, u16, u32, u64, String, &str, Value);

impl IntoKey for Vec<Value> {
    fn into_key(self) -> Vec<Value> {
        self
    }
}

impl<A: ToValue, B: ToValue> IntoKey for (A, B) {
    fn into_key(self) -> Vec<Value> {
        vec![self.0.to_value(), self.1.to_value()]
    }
}

impl<A: ToValue, B: ToValue, C: ToValue> IntoKey for (A, B, C) {
    fn into_key(self) -> Vec<Value> {
        vec![self.0.to_value(), self.1.to_value(), self.2.to_value()]
    }
}

fn table_of(mapper: &Mapper) -> TableRef {
    TableRef::new(mapper.table_name())
}

fn column_of(mapper: &Mapper, index: usize) -> Expr {
    let column = &mapper.columns()[index];
    Expr::Column(ColumnRef {
        table: Some(table_of(mapper)),
        name: Arc::from(column.name),
        sql_type: Some(column.sql_type.clone()),
    })
}

fn all_columns(mapper: &Mapper) -> Vec<Expr> {
    (0..mapper.columns().len())
        .map(|i| column_of(mapper, i))
        .collect()
}

/// `SELECT <all columns> FROM t WHERE <pk> = ?`.
pub(crate) fn select_by_key(mapper: &Mapper, key: &[Value]) -> Statement {
    Statement::Query(CoreQuery::Select(Box::new(SelectCore {
        columns: all_columns(mapper),
        from: vec![FromItem::Table(table_of(mapper))],
        where_: Some(crate::unit_of_work::primary_key_condition(mapper, key)),
        ..SelectCore::default()
    })))
}

fn count_star() -> Expr {
    Expr::Function(FunctionCall {
        name: Arc::from("count"),
        args: vec![Expr::Star(None)],
        distinct: false,
        sql_type: Some(SqlType::BigInteger),
    })
}

/// A SELECT of one model's objects: SQLAlchemy 2.0's `select(User)`. Run it with
/// [`Session::scalars`].
pub struct ModelSelect<M> {
    core: SelectCore,
    error: Option<String>,
    options: Vec<Vec<Step>>,
    _model: PhantomData<fn() -> M>,
}

impl<M> Clone for ModelSelect<M> {
    fn clone(&self) -> Self {
        ModelSelect {
            core: self.core.clone(),
            error: self.error.clone(),
            options: self.options.clone(),
            _model: PhantomData,
        }
    }
}

impl<M: Model> Default for ModelSelect<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: Model> ModelSelect<M> {
    /// `SELECT <every column of M> FROM <M's table>`.
    pub fn new() -> Self {
        let mapper = M::mapper();
        ModelSelect {
            core: SelectCore {
                columns: all_columns(mapper),
                from: vec![FromItem::Table(table_of(mapper))],
                ..SelectCore::default()
            },
            error: None,
            options: Vec::new(),
            _model: PhantomData,
        }
    }

    /// Adds a loader option: `.options(joinedload(User::addresses))`. Options for the same
    /// relationship replace earlier ones.
    pub fn options<Leaf>(mut self, option: Load<M, Leaf>) -> Self {
        self.options.push(option.into_steps());
        self
    }

    /// Runs the query in `session` (after autoflush), with its loader options.
    pub(crate) fn run(&self, session: &Session, unique: bool) -> Result<Vec<Obj<M>>> {
        self.checked()?;
        session.shared().run_select::<M>(
            self.core.clone(),
            &self.options,
            unique || self.has_joins(),
        )
    }

    fn and_where(&mut self, condition: Expr) {
        self.core.where_ = Some(match self.core.where_.take() {
            None => condition,
            Some(existing) => existing.and(condition),
        });
    }

    /// Adds a WHERE condition (ANDed with earlier ones).
    pub fn where_(mut self, condition: impl IntoExpr) -> Self {
        self.and_where(condition.into_expr());
        self
    }

    /// Same as [`where_`](Self::where_), as SQLAlchemy's `filter`.
    pub fn filter(self, condition: impl IntoExpr) -> Self {
        self.where_(condition)
    }

    /// `WHERE <attribute> = value`, with the attribute named at run time. An unknown name is
    /// reported (naming the model and the name) when the query runs.
    pub fn filter_by(mut self, name: &str, value: impl ToValue) -> Self {
        let mapper = M::mapper();
        match mapper.column_index(name) {
            Some(i) => {
                let condition = Expr::Binary {
                    op: BinaryOp::Eq,
                    left: Box::new(column_of(mapper, i)),
                    right: Box::new(Expr::Param(value.to_value())),
                };
                self.and_where(condition);
            }
            None => {
                self.error.get_or_insert_with(|| {
                    format!(
                        "{} has no attribute '{name}' (its attributes are: {})",
                        mapper.model_name(),
                        mapper
                            .columns()
                            .iter()
                            .map(|c| c.field)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                });
            }
        }
        self
    }

    /// Adds ORDER BY terms.
    pub fn order_by(mut self, term: impl IntoOrderBy) -> Self {
        self.core.order_by.push(term.into_order_by());
        self
    }

    /// LIMIT.
    pub fn limit(mut self, n: u64) -> Self {
        self.core.limit = Some(n);
        self
    }

    /// OFFSET.
    pub fn offset(mut self, n: u64) -> Self {
        self.core.offset = Some(n);
        self
    }

    /// SELECT DISTINCT.
    pub fn distinct(mut self) -> Self {
        self.core.distinct = true;
        self
    }

    /// An INNER JOIN to another model's table on `on`; the query still returns `M` objects.
    pub fn join<Other: Model>(mut self, on: impl IntoExpr) -> Self {
        self.join_item(table_of(Other::mapper()), JoinKind::Inner, on.into_expr());
        self
    }

    /// A LEFT OUTER JOIN to another model's table on `on`.
    pub fn outerjoin<Other: Model>(mut self, on: impl IntoExpr) -> Self {
        self.join_item(table_of(Other::mapper()), JoinKind::Left, on.into_expr());
        self
    }

    fn join_item(&mut self, right: TableRef, kind: JoinKind, on: Expr) {
        let left = self
            .core
            .from
            .pop()
            .unwrap_or_else(|| FromItem::Table(table_of(M::mapper())));
        self.core.from.push(FromItem::Join {
            left: Box::new(left),
            right: Box::new(FromItem::Table(right)),
            kind,
            on: Some(on),
        });
    }

    /// Whether the query joins other tables, so one object may come back in several rows.
    pub(crate) fn has_joins(&self) -> bool {
        self.core
            .from
            .iter()
            .any(|item| matches!(item, FromItem::Join { .. }))
    }

    fn checked(&self) -> Result<()> {
        match &self.error {
            Some(message) => Err(Error::Argument(message.clone())),
            None => Ok(()),
        }
    }

    /// The statement, as Core sees it.
    pub fn statement(&self) -> Statement {
        Statement::Query(CoreQuery::Select(Box::new(self.core.clone())))
    }

    /// `SELECT count(*)` of the rows the query would return.
    fn count_statement(&self) -> Statement {
        let plain = self.core.limit.is_none() && self.core.offset.is_none() && !self.core.distinct;
        let core = if plain {
            SelectCore {
                columns: vec![count_star()],
                order_by: Vec::new(),
                ..self.core.clone()
            }
        } else {
            SelectCore {
                columns: vec![count_star()],
                from: vec![FromItem::Subquery {
                    query: Box::new(CoreQuery::Select(Box::new(self.core.clone()))),
                    alias: Arc::from("anon_1"),
                }],
                ..SelectCore::default()
            }
        };
        Statement::Query(CoreQuery::Select(Box::new(core)))
    }
}

/// A query of `M` objects bound to a session: `session.query::<User>()`.
pub struct Query<'s, M> {
    session: &'s Session,
    select: ModelSelect<M>,
}

impl<'s, M: Model> Query<'s, M> {
    pub(crate) fn new(session: &'s Session) -> Self {
        Query {
            session,
            select: ModelSelect::new(),
        }
    }

    fn map(self, f: impl FnOnce(ModelSelect<M>) -> ModelSelect<M>) -> Self {
        Query {
            session: self.session,
            select: f(self.select),
        }
    }

    /// Adds a WHERE condition: `.filter(User::age.ge(20))`.
    pub fn filter(self, condition: impl IntoExpr) -> Self {
        self.map(|s| s.where_(condition))
    }

    /// `WHERE <attribute> = value` by attribute name: `.filter_by("id", 1)`.
    pub fn filter_by(self, name: &str, value: impl ToValue) -> Self {
        self.map(|s| s.filter_by(name, value))
    }

    /// Adds an ORDER BY term: `.order_by(User::age)` or `.order_by(User::age.desc())`.
    pub fn order_by(self, term: impl IntoOrderBy) -> Self {
        self.map(|s| s.order_by(term))
    }

    /// LIMIT.
    pub fn limit(self, n: u64) -> Self {
        self.map(|s| s.limit(n))
    }

    /// OFFSET.
    pub fn offset(self, n: u64) -> Self {
        self.map(|s| s.offset(n))
    }

    /// SELECT DISTINCT.
    pub fn distinct(self) -> Self {
        self.map(|s| s.distinct())
    }

    /// INNER JOIN another model on an explicit condition.
    pub fn join<Other: Model>(self, on: impl IntoExpr) -> Self {
        self.map(|s| s.join::<Other>(on))
    }

    /// LEFT OUTER JOIN another model on an explicit condition.
    pub fn outerjoin<Other: Model>(self, on: impl IntoExpr) -> Self {
        self.map(|s| s.outerjoin::<Other>(on))
    }

    /// Adds a loader option: `.options(selectinload(User::addresses))`; chain steps into
    /// nested relationships (`selectinload(User::addresses).joinedload(Address::tags)`).
    pub fn options<Leaf>(self, option: Load<M, Leaf>) -> Self {
        self.map(|s| s.options(option))
    }

    /// Every matching object.
    pub fn all(self) -> Result<Vec<Obj<M>>> {
        self.select.run(self.session, false)
    }

    /// The first matching object (LIMIT 1), if any.
    pub fn first(self) -> Result<Option<Obj<M>>> {
        Ok(self
            .select
            .limit(1)
            .run(self.session, false)?
            .into_iter()
            .next())
    }

    /// Exactly one object: `NoResultFound` if none, `MultipleResultsFound` if more.
    pub fn one(self) -> Result<Obj<M>> {
        self.one_or_none()?.ok_or(Error::NoResultFound)
    }

    /// At most one object: `MultipleResultsFound` if more.
    pub fn one_or_none(self) -> Result<Option<Obj<M>>> {
        let mut objs = self.select.limit(2).run(self.session, false)?;
        match objs.len() {
            0 | 1 => Ok(objs.pop()),
            _ => Err(Error::MultipleResultsFound),
        }
    }

    /// The object with primary key `key` (identity map first).
    pub fn get(self, key: impl IntoKey) -> Result<Option<Obj<M>>> {
        self.session.get::<M>(key)
    }

    /// How many rows match.
    pub fn count(self) -> Result<i64> {
        self.select.checked()?;
        let stmt = self.select.count_statement();
        self.session.shared().run_rows(&stmt)?.scalar::<i64>()
    }

    /// Whether any row matches.
    pub fn exists(self) -> Result<bool> {
        Ok(self.limit(1).count()? > 0)
    }

    /// Bulk UPDATE of the matching rows (no objects are loaded); returns the rows matched.
    /// The objects already in the session whose rows it changes are expired, so they reload
    /// the new values; the others are left alone.
    pub fn update(self, values: Vec<(&str, Value)>) -> Result<u64> {
        self.select.checked()?;
        let mapper = M::mapper();
        let mut set = Vec::with_capacity(values.len());
        for (name, value) in values {
            let index = mapper.column_index(name).ok_or_else(|| {
                Error::Argument(format!("{} has no attribute '{name}'", mapper.model_name()))
            })?;
            set.push((Arc::from(mapper.columns()[index].name), Expr::Param(value)));
        }
        let stmt = Statement::Update(UpdateStatement {
            table: table_of(mapper),
            set,
            where_: self.select.core.where_.clone(),
            returning: Vec::new(),
        });
        Ok(self.session.shared().run_rows(&stmt)?.rowcount())
    }

    /// Bulk DELETE of the matching rows (no objects are loaded); returns the rows deleted.
    /// The objects already in the session whose rows it deletes become deleted.
    pub fn delete(self) -> Result<u64> {
        self.select.checked()?;
        let stmt = Statement::Delete(DeleteStatement {
            table: table_of(M::mapper()),
            where_: self.select.core.where_.clone(),
            returning: Vec::new(),
        });
        Ok(self.session.shared().run_rows(&stmt)?.rowcount())
    }
}
