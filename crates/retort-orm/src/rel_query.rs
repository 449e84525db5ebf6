//! Joins and filters through relationships: the ON clause of `query.join(User::addresses)`,
//! the correlated EXISTS of `User::addresses.any(..)` and `Address::user.has(..)`, and the
//! condition of [`with_parent`], all built from the configured [`Relationship`] rather than
//! written by hand.
//!
//! Columns are compared the way SQLAlchemy writes a relationship's join condition: the
//! referred column (usually the primary key) first, `users.id = addresses.user_id`.
//!
//! ```
//! # mod retort { pub(crate) use retort_core as core; pub(crate) use retort_orm as orm; }
//! use retort_orm::{Many, Model, One, Registry, Session};
//! # use retort_orm::__core::engine::create_engine;
//!
//! #[derive(retort_macros::Model, Debug, Default)]
//! #[retort(crate = "crate::retort", table = "users")]
//! pub struct User {
//!     #[retort(primary_key)]
//!     pub id: Option<i64>,
//!     pub name: Option<String>,
//!     #[retort(relationship(back_populates = "user"))]
//!     pub addresses: Many<Address>,
//! }
//!
//! #[derive(retort_macros::Model, Debug, Default)]
//! #[retort(crate = "crate::retort", table = "addresses")]
//! pub struct Address {
//!     #[retort(primary_key)]
//!     pub id: Option<i64>,
//!     pub email: Option<String>,
//!     #[retort(foreign_key = "users.id")]
//!     pub user_id: Option<i64>,
//!     #[retort(relationship(back_populates = "addresses"))]
//!     pub user: One<User>,
//! }
//!
//! # fn main() -> retort_core::Result<()> {
//! let engine = create_engine("sqlite://")?;
//! let registry = Registry::new();
//! registry.register::<User>()?;
//! registry.register::<Address>()?;
//! registry.metadata().create_all(&engine)?;
//! let session = Session::new(&engine);
//! let alice = session.add(User { name: Some("alice".into()), ..Default::default() });
//! session.add(User { name: Some("bob".into()), ..Default::default() });
//! session.flush()?;
//! let alice_id = alice.read()?.id;
//! session.add(Address { email: Some("a@x.org".into()), user_id: alice_id, ..Default::default() });
//! session.flush()?;
//!
//! // users JOIN addresses ON users.id = addresses.user_id
//! let at_x = session
//!     .query::<User>()
//!     .join(User::addresses)
//!     .filter(Address::email.like("%@x.org"))
//!     .all()?;
//! assert_eq!(at_x.len(), 1);
//!
//! // users LEFT OUTER JOIN addresses: bob has none.
//! let without = session
//!     .query::<User>()
//!     .outerjoin(User::addresses)
//!     .filter(Address::id.is_null())
//!     .all()?;
//! assert_eq!(without[0].read()?.name.as_deref(), Some("bob"));
//!
//! // EXISTS (SELECT 1 FROM addresses WHERE users.id = addresses.user_id)
//! assert_eq!(session.query::<User>().filter(User::addresses.any_()).count()?, 1);
//! assert_eq!(session.query::<User>().filter(!User::addresses.any_()).count()?, 1);
//! // EXISTS (SELECT 1 FROM users WHERE users.id = addresses.user_id AND users.name = ?)
//! let alices = Address::select().where_(Address::user.has(User::name.eq("alice")));
//! assert_eq!(session.scalars(&alices)?.len(), 1);
//!
//! // addresses.user_id = <alice's id>
//! let hers = session.scalars(&Address::select().with_parent(&alice, User::addresses))?;
//! assert_eq!(hers[0].read()?.email.as_deref(), Some("a@x.org"));
//! # Ok(()) }
//! ```

use std::marker::PhantomData;
use std::sync::Arc;

use retort_core::sql::ast::{ColumnRef, Expr, FromItem, Query as CoreQuery, SelectCore, TableRef};
use retort_core::sql::{text, IntoExpr};
use retort_core::{Error, Result};

use crate::attr::{Rel, RelatedField};
use crate::loading::{all_of, column_at, eq, named_column, owner_columns};
use crate::mapper::{Mapper, Model};
use crate::related::{Many, One};
use crate::relationship::{Direction, Relationship, Secondary};
use crate::state::Obj;

/// How a many-to-many's association table is named in a statement.
fn secondary_ref(secondary: &Secondary) -> TableRef {
    secondary.table.table_ref()
}

/// For a one-to-many or many-to-one: the owner's rows (named `owner`) equal to the target's
/// (named `target`), the referred side first.
pub(crate) fn direct_on(rel: &Relationship, owner: &TableRef, target: &TableRef) -> Expr {
    all_of(
        rel.pairs
            .iter()
            .map(|&(o, t)| {
                let owner_column = column_at(rel.owner, owner, o);
                let target_column = column_at(rel.target, target, t);
                match rel.direction {
                    Direction::ManyToOne => eq(target_column, owner_column),
                    _ => eq(owner_column, target_column),
                }
            })
            .collect(),
    )
}

/// For a many-to-many: the owner's row named `owner` linked by an association row named
/// `link`.
pub(crate) fn owner_link(
    rel: &Relationship,
    secondary: &Secondary,
    owner: &TableRef,
    link: &TableRef,
) -> Expr {
    all_of(
        secondary
            .owner
            .iter()
            .map(|(name, at)| eq(column_at(rel.owner, owner, *at), named_column(link, name)))
            .collect(),
    )
}

/// For a many-to-many: the target's row named `target` linked by an association row named
/// `link`.
pub(crate) fn target_link(
    rel: &Relationship,
    secondary: &Secondary,
    target: &TableRef,
    link: &TableRef,
) -> Expr {
    all_of(
        secondary
            .target
            .iter()
            .map(|(name, at)| eq(column_at(rel.target, target, *at), named_column(link, name)))
            .collect(),
    )
}

/// The relationship at `index` of `mapper`, configuring the model on first use.
pub(crate) fn relationship(mapper: &'static Mapper, index: usize) -> Result<&'static Relationship> {
    mapper.relationships()?.get(index).ok_or_else(|| {
        Error::Argument(format!(
            "{} has no relationship at position {index}",
            mapper.model_name()
        ))
    })
}

/// The tables a join along `rel` adds to the FROM clause after the owner's, each with its
/// ON condition: the target's, or the association table's and then the target's.
pub(crate) fn join_steps(rel: &Relationship) -> Vec<(TableRef, Expr)> {
    let owner = TableRef::new(rel.owner.table_name());
    let target = TableRef::new(rel.target.table_name());
    match &rel.secondary {
        Some(secondary) => vec![
            (
                secondary_ref(secondary),
                owner_link(rel, secondary, &owner, &secondary_ref(secondary)),
            ),
            (
                target.clone(),
                target_link(rel, secondary, &target, &secondary_ref(secondary)),
            ),
        ],
        None => vec![(target.clone(), direct_on(rel, &owner, &target))],
    }
}

/// A path of relationships to join along, starting from the model `M`: a relationship of
/// `M` (`User::addresses`), or a chain of them made with [`Rel::then`]. A relationship of
/// another model does not compile.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a relationship of `{M}`, so a query of `{M}` cannot join along it",
    label = "a relationship of another model",
    note = "join along a relationship of the query's model, and on from there with `.then(..)`: `query::<A>().join(A::bs.then(B::cs))`"
)]
pub trait JoinPath<M> {
    /// Each relationship of the path, as its model's mapper and its position among that
    /// model's relationships; each starts from the model the one before leads to.
    fn steps(&self) -> Vec<(&'static Mapper, usize)>;
}

impl<M: Model, R: RelatedField> JoinPath<M> for Rel<M, R> {
    fn steps(&self) -> Vec<(&'static Mapper, usize)> {
        vec![(M::mapper(), self.index())]
    }
}

/// Relationships followed one after another, from the model `M` to the model `T`:
/// `Author::books.then(Book::tags)` joins authors to books and books to tags.
pub struct RelPath<M, T> {
    steps: Vec<(&'static Mapper, usize)>,
    _marker: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Clone for RelPath<M, T> {
    fn clone(&self) -> Self {
        RelPath {
            steps: self.steps.clone(),
            _marker: PhantomData,
        }
    }
}

impl<M, T: Model> RelPath<M, T> {
    /// Follows `next`, a relationship of the model the path has reached.
    pub fn then<R: RelatedField>(mut self, next: Rel<T, R>) -> RelPath<M, R::Target> {
        self.steps.push((T::mapper(), next.index()));
        RelPath {
            steps: self.steps,
            _marker: PhantomData,
        }
    }
}

impl<M, T> JoinPath<M> for RelPath<M, T> {
    fn steps(&self) -> Vec<(&'static Mapper, usize)> {
        self.steps.clone()
    }
}

impl<M: Model, R: RelatedField> Rel<M, R> {
    /// A join path along this relationship and then `next`, a relationship of the related
    /// model: `query::<Author>().join(Author::books.then(Book::tags))` joins authors to
    /// books, and books to tags through their association table.
    pub fn then<R2: RelatedField>(self, next: Rel<R::Target, R2>) -> RelPath<M, R2::Target> {
        RelPath {
            steps: vec![
                (M::mapper(), self.index()),
                (R::Target::mapper(), next.index()),
            ],
            _marker: PhantomData,
        }
    }
}

/// Points every column of `from` in `condition` at `to` instead (not inside nested queries,
/// which are scopes of their own). A work list rather than recursion, so any depth is safe.
fn adapt(condition: &mut Expr, from: &TableRef, to: &TableRef) {
    let mut todo: Vec<&mut Expr> = vec![condition];
    while let Some(e) = todo.pop() {
        match e {
            Expr::Column(ColumnRef { table: Some(t), .. }) | Expr::Star(Some(t)) if *t == *from => {
                *t = to.clone();
            }
            Expr::Binary { left, right, .. } => todo.extend([&mut **left, &mut **right]),
            Expr::Unary { expr, .. }
            | Expr::IsNull { expr, .. }
            | Expr::Cast { expr, .. }
            | Expr::Label { expr, .. }
            | Expr::InSubquery { expr, .. } => todo.push(expr),
            Expr::And(items) | Expr::Or(items) | Expr::Tuple(items) => todo.extend(items),
            Expr::InList { expr, list, .. } => {
                todo.push(expr);
                todo.extend(list);
            }
            Expr::Between {
                expr, low, high, ..
            } => todo.extend([&mut **expr, &mut **low, &mut **high]),
            Expr::Like { expr, pattern, .. } => todo.extend([&mut **expr, &mut **pattern]),
            Expr::Function(call) => todo.extend(&mut call.args),
            Expr::Case {
                operand,
                whens,
                else_,
            } => {
                todo.extend(operand.as_deref_mut());
                for (when, then) in whens {
                    todo.extend([when, then]);
                }
                todo.extend(else_.as_deref_mut());
            }
            Expr::Over {
                func,
                partition_by,
                order_by,
                ..
            } => {
                todo.push(func);
                todo.extend(partition_by);
                todo.extend(order_by.iter_mut().map(|o| &mut o.expr));
            }
            _ => {}
        }
    }
}

/// `EXISTS (SELECT 1 FROM <target> WHERE <joined to the owner's row> AND <condition>)`,
/// through the association table for a many-to-many. A self-referential relationship names
/// the related rows `<table>_1`, and `condition`'s columns of that table are taken to be
/// theirs, as SQLAlchemy does.
fn related_exists(owner: &'static Mapper, index: usize, condition: Option<Expr>) -> Expr {
    let rel = match relationship(owner, index) {
        Ok(rel) => rel,
        Err(e) => return Expr::Invalid(Arc::from(e.to_string())),
    };
    let owner_ref = TableRef::new(owner.table_name());
    let mut target_ref = TableRef::new(rel.target.table_name());
    let mut condition = condition;
    if owner_ref == target_ref {
        target_ref.alias = Some(Arc::from(format!("{}_1", rel.target.table_name())));
        if let Some(condition) = condition.as_mut() {
            adapt(condition, &owner_ref, &target_ref);
        }
    }
    let (from, mut terms) = match &rel.secondary {
        Some(secondary) => (
            vec![
                FromItem::Table(secondary_ref(secondary)),
                FromItem::Table(target_ref.clone()),
            ],
            vec![
                owner_link(rel, secondary, &owner_ref, &secondary_ref(secondary)),
                target_link(rel, secondary, &target_ref, &secondary_ref(secondary)),
            ],
        ),
        None => (
            vec![FromItem::Table(target_ref.clone())],
            vec![direct_on(rel, &owner_ref, &target_ref)],
        ),
    };
    terms.extend(condition);
    Expr::Exists {
        query: Box::new(CoreQuery::Select(Box::new(SelectCore {
            columns: vec![text("1").into_expr()],
            from,
            where_: Some(all_of(terms)),
            ..SelectCore::default()
        }))),
        negated: false,
    }
}

impl<M: Model, T: Model> Rel<M, Many<T>> {
    /// Whether any related object matches `condition`: SQLAlchemy's `User.addresses.any(..)`,
    /// a correlated `EXISTS (SELECT 1 FROM addresses WHERE users.id = addresses.user_id AND
    /// <condition>)` (through the association table for a many-to-many). Negate it with `!`.
    /// See the [module example](self).
    ///
    /// A relationship that cannot be configured gives an expression that fails, with the
    /// configure error, when the query runs.
    pub fn any(&self, condition: impl IntoExpr) -> Expr {
        related_exists(M::mapper(), self.index(), Some(condition.into_expr()))
    }

    /// Whether there is any related object at all: `EXISTS (SELECT 1 FROM addresses WHERE
    /// users.id = addresses.user_id)`; `!User::addresses.any_()` keeps the users with none.
    pub fn any_(&self) -> Expr {
        related_exists(M::mapper(), self.index(), None)
    }
}

impl<M: Model, T: Model> Rel<M, One<T>> {
    /// Whether the related object matches `condition`: SQLAlchemy's `Address.user.has(..)`,
    /// a correlated `EXISTS (SELECT 1 FROM users WHERE users.id = addresses.user_id AND
    /// <condition>)`. Negate it with `!`. See the [module example](self).
    pub fn has(&self, condition: impl IntoExpr) -> Expr {
        related_exists(M::mapper(), self.index(), Some(condition.into_expr()))
    }

    /// Whether there is a related object at all (for a many-to-one, a foreign key that is
    /// not NULL and refers to an existing row).
    pub fn has_(&self) -> Expr {
        related_exists(M::mapper(), self.index(), None)
    }
}

/// `parent.read()`'s error, said to come from `with_parent` on `rel`.
fn unreadable(rel: &Relationship, e: Error) -> Error {
    let context = |m: String| {
        format!(
            "with_parent({}): the parent cannot be read: {m}",
            rel.describe()
        )
    };
    match e {
        Error::InvalidRequest(m) => Error::InvalidRequest(context(m)),
        Error::DetachedInstance(m) => Error::DetachedInstance(context(m)),
        other => other,
    }
}

/// The condition that selects the objects related to `parent` through `rel`: SQLAlchemy's
/// `with_parent(user, User.addresses)`. The parent's join values are read from the object
/// and sent as parameters:
///
/// - one-to-many: `addresses.user_id = ?` (the parent's key);
/// - many-to-one: `users.id = ?` (the parent's foreign key; a NULL one matches nothing);
/// - many-to-many: `EXISTS (SELECT 1 FROM <association> WHERE tags.id = book_tags.tag_id AND
///   book_tags.book_id = ?)`.
///
/// Most often used through [`ModelSelect::with_parent`](crate::ModelSelect::with_parent) or
/// [`Query::with_parent`](crate::Query::with_parent).
///
/// Errors: the parent cannot be read (a write guard of it is alive: `InvalidRequest`; it is
/// expired and detached: `DetachedInstance`), or has no key yet (transient, or pending before
/// the flush that gives it one: `InvalidRequest`); a relationship that cannot be configured
/// (`Argument`).
pub fn with_parent<P: Model, R: RelatedField>(parent: &Obj<P>, rel: Rel<P, R>) -> Result<Expr> {
    let rel = rel.relationship()?;
    let columns = owner_columns(rel);
    let values: Vec<_> = {
        let data = parent.read().map_err(|e| unreadable(rel, e))?;
        columns.iter().map(|&i| data.column_value(i)).collect()
    };
    if values.iter().any(|v| v.is_null()) {
        if rel.direction == Direction::ManyToOne {
            // No related row: SQLAlchemy's `users.id IS NULL`, which matches nothing.
            return Ok(Expr::Or(Vec::new()));
        }
        let names: Vec<&str> = columns
            .iter()
            .map(|&i| rel.owner.columns()[i].name)
            .collect();
        return Err(Error::InvalidRequest(format!(
            "with_parent({}): the {} has no value for {} yet; flush it first so that it has \
             a key to select its related rows by",
            rel.describe(),
            rel.owner.model_name(),
            names.join(", ")
        )));
    }
    let target = TableRef::new(rel.target.table_name());
    let params = values.into_iter().map(Expr::Param);
    Ok(match &rel.secondary {
        Some(secondary) => {
            let mut terms = vec![target_link(
                rel,
                secondary,
                &target,
                &secondary_ref(secondary),
            )];
            terms.extend(
                secondary
                    .owner
                    .iter()
                    .zip(params)
                    .map(|((name, _), value)| eq(secondary.table.c(name), value)),
            );
            Expr::Exists {
                query: Box::new(CoreQuery::Select(Box::new(SelectCore {
                    columns: vec![text("1").into_expr()],
                    from: vec![FromItem::Table(secondary_ref(secondary))],
                    where_: Some(all_of(terms)),
                    ..SelectCore::default()
                }))),
                negated: false,
            }
        }
        None => all_of(
            rel.pairs
                .iter()
                .zip(params)
                .map(|(&(_, t), value)| eq(column_at(rel.target, &target, t), value))
                .collect(),
        ),
    })
}
