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

use crate::attr::{Rel, RelatedField};
use crate::mapper::{Mapper, Model};
use crate::options::{Load, Step};
use crate::rel_query::{self, JoinPath};
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

/// Every column of `mapper`, qualified by its table: built once per mapper, as every query
/// of the model starts from it.
fn all_columns(mapper: &Mapper) -> Vec<Expr> {
    mapper
        .column_exprs(|| {
            (0..mapper.columns().len())
                .map(|i| column_of(mapper, i))
                .collect()
        })
        .to_vec()
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

/// An error found while building a query, reported when it runs: the error's constructor
/// and its message.
type Deferred = (fn(String) -> Error, String);

/// The names of the tables `from` holds (both sides of joins).
fn from_tables(from: &[FromItem]) -> Vec<&str> {
    let mut names = Vec::new();
    let mut todo: Vec<&FromItem> = from.iter().collect();
    while let Some(item) = todo.pop() {
        match item {
            FromItem::Table(t) => names.push(t.qualifier()),
            FromItem::Join { left, right, .. } => todo.extend([&**left, &**right]),
            _ => {}
        }
    }
    names
}

/// A SELECT of one model's objects: SQLAlchemy 2.0's `select(User)`. Run it with
/// [`Session::scalars`].
pub struct ModelSelect<M> {
    core: SelectCore,
    options: Vec<Vec<Step>>,
    error: Option<Deferred>,
    /// The relationships joined along so far, as (mapper, index), so a path that starts with
    /// them reuses their joins.
    joined: Vec<(&'static Mapper, usize)>,
    _model: PhantomData<fn() -> M>,
}

impl<M> Clone for ModelSelect<M> {
    fn clone(&self) -> Self {
        ModelSelect {
            core: self.core.clone(),
            error: self.error.clone(),
            options: self.options.clone(),
            joined: self.joined.clone(),
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
            joined: Vec::new(),
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
    pub(crate) fn run(self, session: &Session, unique: bool) -> Result<Vec<Obj<M>>> {
        self.checked()?;
        let unique = unique || self.has_joins();
        session
            .shared()
            .run_select::<M>(self.core, &self.options, unique)
    }

    /// The statement and its loader options, or the first error found while building.
    pub(crate) fn into_parts(self) -> Result<(SelectCore, Vec<Vec<Step>>)> {
        self.checked()?;
        Ok((self.core, self.options))
    }

    /// Keeps the first error found while building, to report when the query runs.
    fn fail(&mut self, error: Error) {
        if self.error.is_some() {
            return;
        }
        self.error = Some(match error {
            Error::Argument(m) => (Error::Argument, m),
            Error::InvalidRequest(m) => (Error::InvalidRequest, m),
            Error::DetachedInstance(m) => (Error::DetachedInstance, m),
            // A database error while reloading an expired parent keeps its message.
            other => (Error::InvalidRequest, other.to_string()),
        });
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
                self.fail(Error::Argument(format!(
                    "{} has no attribute '{name}' (its attributes are: {})",
                    mapper.model_name(),
                    mapper
                        .columns()
                        .iter()
                        .map(|c| c.field)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
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

    /// An INNER JOIN along a relationship of `M` (or a chain of them made with
    /// [`Rel::then`]), its ON clause taken from the relationship: `users JOIN addresses ON
    /// users.id = addresses.user_id`; a many-to-many joins the association table and then
    /// the target. The query still returns `M` objects, each once; filter on the joined
    /// model's columns. A relationship already joined is not joined again.
    ///
    /// A relationship from a model to itself (a tree) cannot be joined this way, as the
    /// table would need an alias: that is an `InvalidRequest` when the query runs. See the
    /// [`rel_query`] example.
    pub fn join(mut self, path: impl JoinPath<M>) -> Self {
        self.join_path(path.steps(), JoinKind::Inner);
        self
    }

    /// A LEFT OUTER JOIN along a relationship (or chain), as [`join`](Self::join): parents
    /// without related rows are kept, with NULLs on the joined side.
    pub fn outerjoin(mut self, path: impl JoinPath<M>) -> Self {
        self.join_path(path.steps(), JoinKind::Left);
        self
    }

    /// An INNER JOIN to another model's table on an explicit condition; the query still
    /// returns `M` objects.
    pub fn join_on<Other: Model>(mut self, on: impl IntoExpr) -> Self {
        self.join_item(table_of(Other::mapper()), JoinKind::Inner, on.into_expr());
        self
    }

    /// A LEFT OUTER JOIN to another model's table on an explicit condition.
    pub fn outerjoin_on<Other: Model>(mut self, on: impl IntoExpr) -> Self {
        self.join_item(table_of(Other::mapper()), JoinKind::Left, on.into_expr());
        self
    }

    /// Keeps the objects related to `parent` through `rel`, a relationship whose target is
    /// `M`: `Address::select().with_parent(&user, User::addresses)`. The condition is
    /// [`rel_query::with_parent`]'s; its errors (a parent that cannot be read or has no key
    /// yet) are reported when the query runs.
    pub fn with_parent<P: Model, R: RelatedField<Target = M>>(
        mut self,
        parent: &Obj<P>,
        rel: Rel<P, R>,
    ) -> Self {
        match rel_query::with_parent(parent, rel) {
            Ok(condition) => self.and_where(condition),
            Err(e) => self.fail(e),
        }
        self
    }

    fn join_path(&mut self, steps: Vec<(&'static Mapper, usize)>, kind: JoinKind) {
        for (mapper, index) in steps {
            if self
                .joined
                .iter()
                .any(|&(m, i)| std::ptr::eq(m, mapper) && i == index)
            {
                continue;
            }
            let rel = match rel_query::relationship(mapper, index) {
                Ok(rel) => rel,
                Err(e) => return self.fail(e),
            };
            for (table, on) in rel_query::join_steps(rel) {
                if from_tables(&self.core.from).contains(&table.qualifier()) {
                    return self.fail(Error::InvalidRequest(format!(
                        "join({}): the table '{}' is in the FROM clause already; joining it \
                         again would need an alias, which ORM joins do not make (join along \
                         each relationship once, or use join_on with Core aliases)",
                        rel.describe(),
                        table.qualifier()
                    )));
                }
                self.join_item(table, kind, on);
            }
            self.joined.push((mapper, index));
        }
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
            Some((make, message)) => Err(make(message.clone())),
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

    /// INNER JOIN along a relationship of `M`, the ON clause from its foreign key:
    /// `.join(User::addresses)`; chain with `.join(User::addresses.then(Address::tags))`.
    /// See [`ModelSelect::join`].
    pub fn join(self, path: impl JoinPath<M>) -> Self {
        self.map(|s| s.join(path))
    }

    /// LEFT OUTER JOIN along a relationship of `M`; parents without related rows are kept.
    /// See [`ModelSelect::outerjoin`].
    pub fn outerjoin(self, path: impl JoinPath<M>) -> Self {
        self.map(|s| s.outerjoin(path))
    }

    /// INNER JOIN another model on an explicit condition.
    pub fn join_on<Other: Model>(self, on: impl IntoExpr) -> Self {
        self.map(|s| s.join_on::<Other>(on))
    }

    /// LEFT OUTER JOIN another model on an explicit condition.
    pub fn outerjoin_on<Other: Model>(self, on: impl IntoExpr) -> Self {
        self.map(|s| s.outerjoin_on::<Other>(on))
    }

    /// Keeps the objects related to `parent` through `rel`:
    /// `session.query::<Address>().with_parent(&user, User::addresses)`. See
    /// [`ModelSelect::with_parent`].
    pub fn with_parent<P: Model, R: RelatedField<Target = M>>(
        self,
        parent: &Obj<P>,
        rel: Rel<P, R>,
    ) -> Self {
        self.map(|s| s.with_parent(parent, rel))
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

    /// The objects as the rows arrive, built `n` at a time, instead of all at once:
    /// SQLAlchemy's `Query.yield_per(n)`. See [`Session::stream`] and
    /// [`ObjectStream`](crate::ObjectStream) for what the session can do meanwhile.
    pub fn yield_per(self, n: usize) -> Result<crate::ObjectStream<'s, M>> {
        self.session.stream(&self.select, n)
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
        self.session.shared().run_rows(&stmt, &[])?.scalar::<i64>()
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
        Ok(self.session.shared().run_rows(&stmt, &[])?.rowcount())
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
        Ok(self.session.shared().run_rows(&stmt, &[])?.rowcount())
    }
}
