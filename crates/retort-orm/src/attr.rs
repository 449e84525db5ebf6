//! Typed column attributes: `User::age` is an [`Attr<User, Option<i32>>`].

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use retort_core::sql::ast::{BinaryOp, ColumnRef, Direction, Expr, OrderBy, TableRef};
use retort_core::sql::{IntoExpr, IntoOrderBy};
use retort_core::value::ToValue;

use crate::mapper::Model;

/// A model's column, carrying the model and the Rust type of the field, so that expressions
/// built from it are type-checked at compile time.
pub struct Attr<M, T> {
    index: usize,
    _marker: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Clone for Attr<M, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M, T> Copy for Attr<M, T> {}

impl<M: Model, T> fmt::Debug for Attr<M, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", M::mapper().model_name(), self.field())
    }
}

impl<M, T> Attr<M, T> {
    /// The attribute of the column at `index` in the model's mapper (used by the derive).
    pub const fn new(index: usize) -> Self {
        Attr {
            index,
            _marker: PhantomData,
        }
    }

    /// The column's position in the mapper.
    pub fn index(&self) -> usize {
        self.index
    }
}

impl<M: Model, T> Attr<M, T> {
    /// The Rust field's name.
    pub fn field(&self) -> &'static str {
        M::mapper().columns()[self.index].field
    }

    /// The column's name.
    pub fn name(&self) -> &'static str {
        M::mapper().columns()[self.index].name
    }

    /// The column as an untyped Core expression.
    pub fn expr(&self) -> Expr {
        let mapper = M::mapper();
        let column = &mapper.columns()[self.index];
        Expr::Column(ColumnRef {
            table: Some(TableRef::new(mapper.table_name())),
            name: Arc::from(column.name),
            sql_type: Some(column.sql_type.clone()),
        })
    }
}

/// A value (or another column) that may be compared with a column whose Rust type is `T`.
///
/// Implemented for `T` itself, for `T` against a nullable `Option<T>` column, for `&str`
/// against string columns, and for another model's attribute of the same type. Anything else
/// is a compile error, so `User::age.ge("x")` does not build.
#[diagnostic::on_unimplemented(
    message = "cannot compare a column of Rust type `{T}` with a value of type `{Self}`",
    label = "this value's type does not match the column's",
    note = "a column compares with values of its own type (or of `T` for an `Option<T>` column); use `.expr()` for an untyped comparison"
)]
pub trait Operand<T> {
    /// The operand as an expression.
    fn into_operand(self) -> Expr;
}

impl<T: ToValue> Operand<T> for T {
    fn into_operand(self) -> Expr {
        Expr::Param(self.to_value())
    }
}

impl<T: ToValue> Operand<Option<T>> for T {
    fn into_operand(self) -> Expr {
        Expr::Param(self.to_value())
    }
}

impl Operand<String> for &str {
    fn into_operand(self) -> Expr {
        Expr::Param(self.to_value())
    }
}

impl Operand<Option<String>> for &str {
    fn into_operand(self) -> Expr {
        Expr::Param(self.to_value())
    }
}

impl<M: Model, T> Operand<T> for Attr<M, T> {
    fn into_operand(self) -> Expr {
        self.expr()
    }
}

impl<M: Model, T> Operand<Option<T>> for Attr<M, T> {
    fn into_operand(self) -> Expr {
        self.expr()
    }
}

impl<M: Model, T> Attr<M, T> {
    fn compare(&self, op: BinaryOp, other: Expr) -> Expr {
        Expr::Binary {
            op,
            left: Box::new(self.expr()),
            right: Box::new(other),
        }
    }

    /// `column = value` (`IS NULL` when the value is `None`).
    pub fn eq(&self, value: impl Operand<T>) -> Expr {
        self.compare(BinaryOp::Eq, value.into_operand())
    }

    /// `column <> value` (`IS NOT NULL` when the value is `None`).
    pub fn ne(&self, value: impl Operand<T>) -> Expr {
        self.compare(BinaryOp::NotEq, value.into_operand())
    }

    /// `column < value`.
    pub fn lt(&self, value: impl Operand<T>) -> Expr {
        self.compare(BinaryOp::Lt, value.into_operand())
    }

    /// `column <= value`.
    pub fn le(&self, value: impl Operand<T>) -> Expr {
        self.compare(BinaryOp::LtEq, value.into_operand())
    }

    /// `column > value`.
    pub fn gt(&self, value: impl Operand<T>) -> Expr {
        self.compare(BinaryOp::Gt, value.into_operand())
    }

    /// `column >= value`.
    pub fn ge(&self, value: impl Operand<T>) -> Expr {
        self.compare(BinaryOp::GtEq, value.into_operand())
    }

    /// `column IN (values)`; an empty list matches nothing.
    pub fn in_<V: Operand<T>>(&self, values: impl IntoIterator<Item = V>) -> Expr {
        Expr::InList {
            expr: Box::new(self.expr()),
            list: values.into_iter().map(Operand::into_operand).collect(),
            negated: false,
        }
    }

    /// `column NOT IN (values)`; an empty list matches everything.
    pub fn not_in<V: Operand<T>>(&self, values: impl IntoIterator<Item = V>) -> Expr {
        Expr::InList {
            expr: Box::new(self.expr()),
            list: values.into_iter().map(Operand::into_operand).collect(),
            negated: true,
        }
    }

    /// `column BETWEEN low AND high`.
    pub fn between(&self, low: impl Operand<T>, high: impl Operand<T>) -> Expr {
        Expr::Between {
            expr: Box::new(self.expr()),
            low: Box::new(low.into_operand()),
            high: Box::new(high.into_operand()),
            negated: false,
        }
    }

    /// `column IS NULL`.
    pub fn is_null(&self) -> Expr {
        Expr::IsNull {
            expr: Box::new(self.expr()),
            negated: false,
        }
    }

    /// `column IS NOT NULL`.
    pub fn is_not_null(&self) -> Expr {
        Expr::IsNull {
            expr: Box::new(self.expr()),
            negated: true,
        }
    }

    /// `ORDER BY column ASC`.
    pub fn asc(&self) -> OrderBy {
        OrderBy {
            expr: self.expr(),
            direction: Some(Direction::Asc),
            nulls: None,
        }
    }

    /// `ORDER BY column DESC`.
    pub fn desc(&self) -> OrderBy {
        OrderBy {
            expr: self.expr(),
            direction: Some(Direction::Desc),
            nulls: None,
        }
    }
}

impl<M: Model, T> IntoExpr for Attr<M, T> {
    fn into_expr(self) -> Expr {
        self.expr()
    }
}

impl<M: Model, T> IntoOrderBy for Attr<M, T> {
    fn into_order_by(self) -> OrderBy {
        OrderBy {
            expr: self.expr(),
            direction: None,
            nulls: None,
        }
    }
}

/// Rust types of text columns, which support pattern matching.
pub trait TextColumn {}

impl TextColumn for String {}
impl TextColumn for Option<String> {}

impl<M: Model, T: TextColumn> Attr<M, T> {
    /// `column LIKE pattern`.
    pub fn like(&self, pattern: &str) -> Expr {
        self.expr().like(pattern)
    }

    /// Case-insensitive LIKE (ILIKE, or `lower() LIKE lower()` where the database lacks it).
    pub fn ilike(&self, pattern: &str) -> Expr {
        self.expr().ilike(pattern)
    }

    /// `column LIKE '%text%'`, with `%` and `_` in `text` matched literally.
    pub fn contains(&self, text: &str) -> Expr {
        self.expr().contains(text)
    }

    /// `column LIKE 'text%'`, with `%` and `_` in `text` matched literally.
    pub fn startswith(&self, text: &str) -> Expr {
        self.expr().startswith(text)
    }

    /// `column LIKE '%text'`, with `%` and `_` in `text` matched literally.
    pub fn endswith(&self, text: &str) -> Expr {
        self.expr().endswith(text)
    }
}

/// What a relationship field holds: `Many<T>` or `One<T>`, both relating to `T`.
pub trait RelatedField {
    /// The related model.
    type Target: Model;
}

impl<T: Model> RelatedField for crate::related::Many<T> {
    type Target = T;
}

impl<T: Model> RelatedField for crate::related::One<T> {
    type Target = T;
}

/// A model's relationship, carrying the model and the field's type (`Many<T>` or `One<T>`):
/// `User::addresses` is a `Rel<User, Many<Address>>`. Loader options, joins and filters take
/// it, so naming another model's relationship where `User`'s is expected does not compile.
pub struct Rel<M, R> {
    index: usize,
    _marker: PhantomData<fn() -> (M, R)>,
}

impl<M, R> Clone for Rel<M, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M, R> Copy for Rel<M, R> {}

impl<M, R> Rel<M, R> {
    /// The relationship at `index` among the model's relationships (used by the derive).
    pub const fn new(index: usize) -> Self {
        Rel {
            index,
            _marker: PhantomData,
        }
    }

    /// The relationship's position among the model's relationships.
    pub fn index(&self) -> usize {
        self.index
    }
}

impl<M: Model, R> Rel<M, R> {
    /// The Rust field's name.
    pub fn field(&self) -> &'static str {
        M::mapper().relationship_properties()[self.index].field
    }

    /// The resolved relationship (configuring the model on first use).
    pub fn relationship(&self) -> retort_core::Result<&'static crate::relationship::Relationship> {
        Ok(&M::mapper().relationships()?[self.index])
    }
}

impl<M: Model, R> fmt::Debug for Rel<M, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", M::mapper().model_name(), self.field())
    }
}
