//! Typed column attributes: `User::age` is an [`Attr<User, Option<i32>>`].

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use retort_core::sql::ast::{ColumnRef, Expr, TableRef};

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
