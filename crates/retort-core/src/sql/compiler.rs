//! The generic statement compiler and the hooks a dialect overrides.

use crate::dialect::Dialect;
use crate::error::Result;
use crate::value::Value;

/// Pieces of statement rendering a dialect may override; every method has the generic
/// rendering as its default.
pub trait SqlHooks {}

/// A statement compiled for one dialect: SQL text with placeholders, and the values to bind.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    /// The SQL text.
    pub sql: String,
    /// The parameters, in placeholder order.
    pub params: Vec<Value>,
}

/// Anything that compiles to a statement: statement builders, `text()`, ORM queries.
pub trait Executable {
    /// Compiles for `dialect`.
    fn compile(&self, dialect: &dyn Dialect) -> Result<Compiled>;
}
